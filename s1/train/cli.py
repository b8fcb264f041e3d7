"""`s1 train --recipe NAME|FILE --data DIR --out DIR [--launcher inprocess|local|pytorchjob|trainjob]`.

Usage: s1 train --recipe tiny-qwen --data runs/curate --out runs/train

`inprocess` and `local` run here. Cluster launchers (a Kubeflow PyTorchJob or TrainJob) are
plugins registered under the `s1.train_launchers` entry-point group (the `pipelines` package
registers them in pyproject.toml), so the library never imports the Kubernetes glue.
"""

from __future__ import annotations

import argparse
import json
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol

from s1.cli_args import add_list_argument

LAUNCHER_GROUP = "s1.train_launchers"


class ClusterLaunchers(Protocol):
    """What an `s1.train_launchers` entry point loads to: launchers that run a recipe elsewhere."""

    names: tuple[str, ...]

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add the flags these launchers need (job name, namespace, ...) to `s1 train`."""

    def run(self, launcher: str, args: argparse.Namespace, overrides: dict[str, Any]) -> int:
        """Run (or with `args.dry_run`, print) the job; the exit code."""


def cluster_launchers() -> dict[str, ClusterLaunchers]:
    """Every registered cluster launcher by name (`pytorchjob`, `trainjob`, ...)."""
    found: dict[str, ClusterLaunchers] = {}
    for entry in entry_points(group=LAUNCHER_GROUP):
        plugin = entry.load()
        for name in plugin.names:
            if name in found or name in ("inprocess", "local"):
                raise RuntimeError(f"{LAUNCHER_GROUP}: launcher {name!r} is registered twice")
            found[name] = plugin
    return found


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser(
        "train",
        help="supervised fine-tuning on the s1 format (packed, completion-only)",
        description="Usage: s1 train --recipe tiny-qwen --data runs/curate --out runs/train "
        "[--launcher local --nproc-per-node 2]",
    )
    plugins = cluster_launchers()
    train.add_argument("--recipe", required=True, help="recipe name (s1/recipes/train) or YAML file")
    train.add_argument("--data", required=True, help="folder with selected.jsonl, or a .jsonl file")
    train.add_argument("--out", required=True, help="output folder: checkpoints, metrics.jsonl, model/")
    train.add_argument("--launcher", choices=["inprocess", "local", *plugins], default="inprocess",
                       help="inprocess: this process; local: torchrun on this machine (gloo); "
                       f"{', '.join(plugins) or 'no cluster launchers installed'}: a cluster job (see --dry-run)")
    train.add_argument("--nproc-per-node", type=int, default=None,
                       help="processes per node (default: the topology's)")
    train.add_argument("--nnodes", type=int, default=None,
                       help="torchrun agents on 127.0.0.1 (local) or pods (cluster); default: the topology's")
    add_list_argument(train, "--set", dest="overrides", default=[], metavar="KEY=VALUE",
                      help="override recipe values, e.g. learning_rate=2e-5 topology.nodes=1; repeatable")
    train.add_argument("--dry-run", action="store_true",
                       help="validate and print what would run (a cluster job as YAML) without training")
    train.add_argument("--json", action="store_true", help="print the run summary as JSON")
    for plugin in {id(p): p for p in plugins.values()}.values():
        plugin.add_arguments(train)
    train.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    from s1.train.config import load_recipe, parse_overrides

    overrides = parse_overrides(args.overrides)
    plugins = cluster_launchers()
    if args.launcher in plugins:
        return plugins[args.launcher].run(args.launcher, args, overrides)

    config = load_recipe(args.recipe, overrides)
    nnodes = args.nnodes or config.topology.nodes
    nproc = args.nproc_per_node or config.topology.processes_per_node
    from s1.train.launch import launch_local, torchrun_commands, train_here, validate

    if args.launcher == "inprocess":
        if nnodes * nproc != 1:
            raise ValueError("--launcher inprocess runs one process; use --launcher local for more")
        if args.dry_run:
            resolved = validate(args.recipe, Path(args.data), overrides)
            print(json.dumps({"recipe": args.recipe, "data": args.data, "out": args.out, "overrides": resolved}))
            return 0
        summary = train_here(args.recipe, Path(args.data), Path(args.out), overrides)
    else:
        if args.dry_run:
            resolved = validate(args.recipe, Path(args.data), {
                **overrides, "topology.nodes": nnodes, "topology.processes_per_node": nproc})
            for command in torchrun_commands(args.recipe, args.data, args.out, resolved, nproc, nnodes, 29500):
                print(" ".join(command))
            return 0
        summary = launch_local(args.recipe, Path(args.data), Path(args.out), overrides, nproc, nnodes)
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"trained {summary['steps']} steps, final loss {summary['final_loss']:.4f}, "
              f"{summary['tokens']} tokens in {summary['seconds']:.0f} s -> {summary['model_dir']}")
    return 0
