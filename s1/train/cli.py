"""`s1 train --recipe NAME|FILE --data DIR --out DIR [--launcher inprocess|local|pytorchjob]`."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser(
        "train",
        help="supervised fine-tuning on the s1 format (packed, completion-only)",
        description="Usage: s1 train --recipe tiny-qwen --data runs/curate --out runs/train "
        "[--launcher local --nproc-per-node 2]",
    )
    train.add_argument("--recipe", required=True, help="recipe name (s1/recipes/train) or YAML file")
    train.add_argument("--data", required=True, help="folder with selected.jsonl, or a .jsonl file")
    train.add_argument("--out", required=True, help="output folder: checkpoints, metrics.jsonl, model/")
    train.add_argument("--launcher", choices=["inprocess", "local", "pytorchjob"], default="inprocess",
                       help="inprocess: this process; local: torchrun on this machine (gloo); "
                       "pytorchjob: a Kubeflow PyTorchJob (see --dry-run)")
    train.add_argument("--nproc-per-node", type=int, default=None,
                       help="processes per node (local; default: the topology's)")
    train.add_argument("--nnodes", type=int, default=None,
                       help="torchrun agents on 127.0.0.1 (local) or pods (pytorchjob); default: the topology's")
    train.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override a recipe value, e.g. learning_rate=2e-5 or topology.nodes=1; repeatable")
    train.add_argument("--job-name", default=None, help="PyTorchJob name (default: s1-train-<recipe>)")
    train.add_argument("--namespace", default=None, help="PyTorchJob namespace")
    train.add_argument("--dry-run", action="store_true",
                       help="validate and print what would run (the PyTorchJob as YAML) without training")
    train.add_argument("--json", action="store_true", help="print the run summary as JSON")
    train.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    from s1.train.config import load_recipe, parse_overrides

    overrides = parse_overrides(args.overrides)
    config = load_recipe(args.recipe, overrides)
    nnodes = args.nnodes or config.topology.nodes
    nproc = args.nproc_per_node or config.topology.processes_per_node
    if args.launcher == "pytorchjob":
        return _pytorchjob(args, overrides, nnodes, nproc, config.topology.env)

    if args.launcher == "inprocess":
        if nnodes * nproc != 1:
            raise ValueError("--launcher inprocess runs one process; use --launcher local for more")
        if args.dry_run:
            return _dry_run(args, overrides)
        from s1.train.run import train

        summary = train(args.recipe, Path(args.data), Path(args.out), overrides)
    else:
        from s1.train.launch import launch_local, torchrun_commands, validate

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


def _dry_run(args: argparse.Namespace, overrides: dict) -> int:
    from s1.train.launch import validate

    resolved = validate(args.recipe, Path(args.data), overrides)
    print(json.dumps({"recipe": args.recipe, "data": args.data, "out": args.out, "overrides": resolved}))
    return 0


def _pytorchjob(args: argparse.Namespace, overrides: dict, nnodes: int, nproc: int, env: dict) -> int:
    import yaml

    from pipelines.pytorchjob import TrainingJobSpec, build_pytorchjob

    name = args.job_name or re.sub(r"[^a-z0-9-]+", "-", f"s1-train-{Path(args.recipe).stem}".lower())
    spec_kwargs = {
        "name": name.strip("-")[:63],
        "recipe": args.recipe,
        "data": args.data,
        "out": args.out,
        "overrides": {key: value if isinstance(value, str) else json.dumps(value)
                      for key, value in overrides.items()},
        "env": dict(env),
        "num_nodes": nnodes,
        "gpus_per_node": nproc,
    }
    if args.namespace:
        spec_kwargs["namespace"] = args.namespace
    spec = TrainingJobSpec(**spec_kwargs)
    if args.dry_run:
        print(yaml.safe_dump(build_pytorchjob(spec), sort_keys=False), end="")
        return 0
    from pipelines.launchers import PyTorchJobLauncher

    result = PyTorchJobLauncher().run(spec)
    print(json.dumps(result) if args.json else f"PyTorchJob {spec.name}: {result['status']}")
    return 0
