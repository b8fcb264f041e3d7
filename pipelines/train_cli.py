"""`s1 train --launcher pytorchjob|trainjob`: the Kubeflow launchers, plugged into the library's CLI.

Usage: s1 train --launcher pytorchjob --dry-run --recipe s1-32b --data /mnt/s1/data --out /mnt/s1/train

Registered in pyproject.toml under the `s1.train_launchers` entry-point group; `s1.train.cli`
finds them there, so `s1/` never imports this package.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pipelines.cluster import network_names


class KubeflowLaunchers:
    """PyTorchJob (training operator v1) and TrainJob (Trainer v2) launchers for `s1 train`."""

    names = ("pytorchjob", "trainjob")

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from pipelines.trainjob import DEFAULT_RUNTIME

        group = parser.add_argument_group("cluster launchers (pytorchjob, trainjob)")
        group.add_argument("--job-name", default=None, help="job name (default: s1-train-<recipe>)")
        group.add_argument("--namespace", default=None, help="namespace of the job")
        group.add_argument("--network", choices=network_names(), default="pod",
                           help="how the pods talk: pod network, or RDMA/InfiniBand devices (pipelines/networks.yaml)")
        group.add_argument("--gang-scheduling", action="store_true",
                           help="pytorchjob: all pods scheduled together (operator run with --gang-scheduler-name)")
        group.add_argument("--queue", default=None, help="pytorchjob with --gang-scheduling: Volcano queue")
        group.add_argument("--priority-class", default=None, help="pytorchjob with --gang-scheduling: PriorityClass")
        group.add_argument("--runtime", default=DEFAULT_RUNTIME,
                           help=f"trainjob: the ClusterTrainingRuntime to run on (default {DEFAULT_RUNTIME})")

    def run(self, launcher: str, args: argparse.Namespace, overrides: dict[str, Any]) -> int:
        import yaml

        from pipelines.cluster import load_network
        from pipelines.kube import dns_label
        from pipelines.launchers import launcher_for
        from pipelines.pytorchjob import build_pytorchjob
        from pipelines.training_job import job_spec
        from pipelines.trainjob import build_trainjob

        settings: dict[str, Any] = {
            "name": args.job_name or dns_label(f"s1-train-{Path(args.recipe).stem}"),
            "network": load_network(args.network),
            "gang_scheduling": args.gang_scheduling,
            "queue": args.queue,
            "priority_class": args.priority_class,
        }
        if args.namespace:
            settings["namespace"] = args.namespace
        spec = job_spec(args.recipe, args.data, args.out, overrides, num_nodes=args.nnodes or 0,
                        processes_per_node=args.nproc_per_node or 0, **settings)  # fmt: skip
        if args.dry_run:
            job = build_pytorchjob(spec) if launcher == "pytorchjob" else build_trainjob(spec, args.runtime)
            print(yaml.safe_dump(job, sort_keys=False), end="")
            return 0
        result = launcher_for(launcher, args.runtime).run(spec)
        print(json.dumps(result) if args.json else f"{launcher} {spec.name}: {result['status']}")
        return 0


LAUNCHERS = KubeflowLaunchers()
