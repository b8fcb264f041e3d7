"""`s1 pool synth --n N --seed S --out FILE`: write a synthetic question pool as JSONL.

Usage: s1 pool synth --n 200 --seed 0 --out pool.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from s1.cli_args import add_list_argument


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    pool = subparsers.add_parser("pool", help="synthetic question pools")
    actions = pool.add_subparsers(dest="pool_command", required=True)
    synth = actions.add_parser(
        "synth",
        help="write a deterministic synthetic pool (questions, traces, answers) as JSONL",
        description="Usage: s1 pool synth --n 200 --seed 0 --out pool.jsonl",
    )
    synth.add_argument("--n", type=int, required=True, help="number of questions")
    synth.add_argument("--seed", type=int, default=0, help="random seed (same seed, same pool)")
    synth.add_argument("--out", type=Path, required=True, help="JSONL file to write")
    add_list_argument(
        synth, "--domains", commas=True,
        help="domains, optionally weighted (counting=3 arithmetic=1, or comma separated); "
        "default: all, in the standard mix",
    )
    synth.add_argument(
        "--defects", action="store_true",
        help="also append one row per known defect (for exercising curation's checks)",
    )
    synth.add_argument("--json", action="store_true", help="print a summary as JSON")
    synth.set_defaults(func=_synth)


def _domains(items: list[str] | None) -> dict[str, float] | None:
    if items is None:
        return None
    weights = {}
    for item in items:
        name, _, weight = item.partition("=")
        try:
            weights[name] = float(weight) if weight else 1.0
        except ValueError:
            raise ValueError(f"--domains: bad weight in {item!r}") from None
    return weights


def _synth(args: argparse.Namespace) -> int:
    from collections import Counter

    from s1.pool.defects import defective_rows
    from s1.jsonl import write_jsonl
    from s1.pool.synth import synthesize_pool

    rows = synthesize_pool(args.n, args.seed, _domains(args.domains))
    if args.defects:
        rows += defective_rows(args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(args.out, rows)
    summary = {
        "path": str(args.out),
        "rows": len(rows),
        "domains": dict(sorted(Counter(str(row["domain"]) for row in rows).items())),
    }
    print(json.dumps(summary) if args.json else f"wrote {len(rows)} rows to {args.out}")
    return 0
