"""The `s1` command line. Usage: s1 --help

Each area of the library registers its own subcommand; heavy imports happen inside the command,
so `s1 --help` stays fast. Packages built on the library (`pipelines`: `s1 pipeline`) add theirs
through the `s1.commands` entry-point group, so the library imports none of them.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from importlib.metadata import entry_points

# Modules exposing add_parser(subparsers); order is the order `s1 --help` lists them.
COMMAND_MODULES = (
    "s1.models.cli",
    "s1.pool.cli",
    "s1.curation.cli",
    "s1.train.cli",
    "s1.generation.cli",
    "s1.evaluation.cli",
    "s1.serving.cli",
)
# Entry points (name = module exposing add_parser) of commands that live outside the library.
COMMAND_GROUP = "s1.commands"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="s1", description="s1: simple test-time scaling on Kubeflow"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(subparsers)
    for entry in sorted(entry_points(group=COMMAND_GROUP), key=lambda e: e.name):
        entry.load().add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.func(args) or 0
    except (ValueError, FileNotFoundError) as error:
        print(f"s1 {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
