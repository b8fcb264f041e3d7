"""`s1 curate`: select the N training examples worth having from a question pool.

Usage: s1 curate --pool pool.jsonl --eval-set eval.jsonl --n 1000 --out curated/
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from s1.cli_args import add_list_argument
from s1.curation.config import LOCAL_PREFIX
from s1.generation.engine import ENGINE_NAMES


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    curate = subparsers.add_parser(
        "curate",
        help="quality, decontamination, difficulty and diversity selection of a question pool",
        description="Usage: s1 curate --pool pool.jsonl --eval-set eval.jsonl --n 1000 --out curated/\n"
        "Pool and eval-set entries are NAME (a registered dataset), NAME=LOCATION or LOCATION "
        "(read in the pool schema); LOCATION is a .jsonl/.json/.csv/.parquet/.arrow file, a "
        "save_to_disk folder or a Hugging Face dataset id; datasets: s1/data/datasets/*.yaml. "
        "List flags take several values and may be repeated. The teacher, attempt models and "
        "grader (the judge) are set in --config YAML or by the flags below: a model name at an "
        "OpenAI-compatible endpoint (--base-url), or local:PATH_OR_HUB_ID for a model run here "
        "through the generation engine (--engine, as s1 evaluate chooses it).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_list_argument(curate, "--pool", help="pool sources (NAME, NAME=LOCATION or LOCATION)")
    add_list_argument(curate, "--eval-set", dest="eval_sets",
                      help="evaluation sets to decontaminate against (same forms)")
    curate.add_argument("--n", type=int, help="number of examples to select (default 1000)")
    curate.add_argument("--out", type=Path, help="output folder")
    curate.add_argument("--seed", type=int, help="selection seed (default 0)")
    curate.add_argument("--config", type=Path, help="curation config YAML (flags override it)")
    curate.add_argument("--cache-dir", type=Path, help="model-call cache (default OUT/cache)")
    curate.add_argument("--tokenizer", help="tokenizer for trace lengths (default: Qwen2.5)")
    curate.add_argument("--decontamination-threshold", type=float,
                        help="drop when more than this fraction of 8-grams is shared (default 0: any)")
    curate.add_argument("--ignore-boilerplate", action="store_true", default=None,
                        help="n-grams shared by many pool questions never cause a drop "
                             "(default: they do, and each drop reports them)")
    curate.add_argument("--base-url", help="OpenAI-compatible endpoint for the models named below "
                        "(local:... models run here instead)")
    curate.add_argument("--teacher", help="teacher model for missing traces (NAME or local:PATH_OR_HUB_ID)")
    add_list_argument(curate, "--attempt-model", dest="attempt_models",
                      help="difficulty models (NAME or local:PATH_OR_HUB_ID); questions any of "
                           "them solves are dropped")
    curate.add_argument("--grader", help="judge model: grades what math-verify cannot decide, "
                        "classifies domains (NAME or local:PATH_OR_HUB_ID)")
    curate.add_argument("--engine", choices=ENGINE_NAMES,
                        help="engine of local models; auto (default) = vLLM when installed and a "
                             "GPU is visible, else transformers")
    curate.add_argument("--tensor-parallel-size", type=int,
                        help="vLLM: GPUs per local model (default: every visible GPU)")
    curate.add_argument("--max-failed-call-share", type=float,
                        help="a role whose calls fail beyond this share stops the run (default 0.1)")
    curate.add_argument("--allow-failed-calls", action="store_true", default=None,
                        help="go on when a role's calls fail (they count as unsolved / ungraded)")
    curate.add_argument("--preselect", action="store_true", help="apply s1's pre-selection rule")
    curate.add_argument("--json", action="store_true", help="print the report as JSON")
    curate.set_defaults(func=_curate)


def _role(model: str | None, base_url: str | None) -> dict | None:
    if model is None:
        return None
    if model.startswith(LOCAL_PREFIX) or not base_url:
        return {"model": model}
    return {"model": model, "base_url": base_url}


def config_from_args(args: argparse.Namespace):
    from s1.curation.config import CurationConfig

    overrides = {
        "pool": args.pool, "eval_sets": args.eval_sets, "n": args.n,
        "out": args.out, "seed": args.seed, "cache_dir": args.cache_dir,
        "tokenizer": args.tokenizer, "decontamination_threshold": args.decontamination_threshold,
        "decontamination_ignore_boilerplate": args.ignore_boilerplate,
        "teacher": _role(args.teacher, args.base_url),
        "grader": _role(args.grader, args.base_url),
        "attempt_models": [_role(m, args.base_url) for m in args.attempt_models or []] or None,
        "preselect": True if args.preselect else None,
        "engine": args.engine, "tensor_parallel_size": args.tensor_parallel_size,
        "max_failed_call_share": args.max_failed_call_share,
        "allow_failed_calls": args.allow_failed_calls,
    }
    if args.config is not None:
        return CurationConfig.from_yaml(args.config, overrides)
    if not args.pool or args.out is None:
        raise ValueError("--pool and --out are required (or give them in --config)")
    return CurationConfig.from_dict({k: v for k, v in overrides.items() if v is not None})


def _curate(args: argparse.Namespace) -> int:
    from s1.curation.calls import RoleFailed
    from s1.curation.run import curate

    try:
        report = curate(config_from_args(args))
    except RoleFailed as error:
        print(f"s1 curate: error: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report))
    else:
        for stage in report["stages"]:
            print(f"{stage['stage']:>14}: {stage['in']:>7} -> {stage['out']:>7}")
        print(f"selected {report['selected']} examples into {args.out or report['config']['out']}")
    return 0
