"""`s1 models build {tiny-qwen,smollm2} --out DIR`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    models = subparsers.add_parser("models", help="build local models that need no hub")
    actions = models.add_subparsers(dest="models_command", required=True)
    build = actions.add_parser(
        "build",
        help="build a local model folder (cached: a complete folder is reused)",
        description="Usage: s1 models build tiny-qwen --out models/tiny-qwen",
    )
    build.add_argument("name", choices=["tiny-qwen", "smollm2"])
    build.add_argument("--out", type=Path, required=True, help="model folder to write")
    build.add_argument("--force", action="store_true", help="rebuild even if the folder is complete")
    build.add_argument("--json", action="store_true", help="print the result as JSON")
    build.set_defaults(func=_build)


def _build(args: argparse.Namespace) -> int:
    from s1.models.build import build_model

    out = build_model(args.name, args.out, force=args.force)
    if args.json:
        print(json.dumps({"model": args.name, "path": str(out)}))
    else:
        print(f"{args.name} ready at {out}")
    return 0
