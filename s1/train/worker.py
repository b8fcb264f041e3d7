"""The per-rank training entry point that torchrun runs, locally and in every PyTorchJob pod.

Usage: torchrun --nproc-per-node 2 -m s1.train.worker --recipe tiny-qwen --data DIR --out DIR [--set key=value ...]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from s1.cli_args import add_list_argument


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m s1.train.worker", description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", required=True, help="recipe name (s1/recipes/train) or YAML file")
    parser.add_argument("--data", type=Path, required=True, help="folder with selected.jsonl, or a .jsonl file")
    parser.add_argument("--out", type=Path, required=True, help="checkpoints, metrics.jsonl, model/")
    add_list_argument(parser, "--set", dest="overrides", default=[], metavar="KEY=VALUE",
                      help="override recipe values (topology.<key> for the topology); repeatable")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rank = int(os.environ.get("RANK", "0"))
    logging.basicConfig(
        level=logging.INFO if rank == 0 else logging.WARNING,
        format=f"%(asctime)s [rank {rank}] %(levelname)s %(name)s: %(message)s",
    )
    from s1.train.config import RecipeError, parse_overrides
    from s1.train.data import TrainingDataError
    from s1.train.run import train

    try:
        summary = train(args.recipe, args.data, args.out, parse_overrides(args.overrides))
    except (RecipeError, TrainingDataError) as error:
        print(f"s1.train.worker: error: {error}", file=sys.stderr)
        return 2
    if rank == 0:
        logging.getLogger("s1.train.worker").info("summary: %s", json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
