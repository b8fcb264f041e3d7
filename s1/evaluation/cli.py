"""`s1 evaluate`: grade a predictions file, or sweep a model over benchmarks and budgets.

Usage:
    s1 evaluate --predictions preds.jsonl --kind math --json [--out graded/]
    s1 evaluate --model out/model --benchmark aime24 math500 --budgets 512,1024,2048 --out eval/
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from s1.cli_args import add_list_argument
from s1.generation.engine import ENGINE_NAMES


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="grade predictions, or run a model over benchmarks at several thinking budgets",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--predictions", type=Path,
                      help="JSONL with id, gold, prediction (full model output) per row; "
                           "s1-format outputs start with <|im_start|>think, so thinking that "
                           "never closed is recognised")
    mode.add_argument("--model", type=Path, help="model folder to evaluate")
    add_list_argument(parser, "--benchmark", metavar="NAME_OR_FILE",
                      help="registered dataset (aime24, math500, gpqa_diamond, aime25, ...), "
                           "NAME=LOCATION for another copy, or a .jsonl/.json/.csv/.parquet/.arrow "
                           "file; several values, repeatable")
    parser.add_argument("--kind", choices=["math", "choice"],
                        help="how to grade (predictions, or benchmark files of your own)")
    parser.add_argument("--fields", help="field mapping of your own benchmark files, e.g. "
                        "question=problem,answer=target,id=uid")
    add_list_argument(parser, "--budgets", commas=True,
                      help="max thinking tokens per budget point (space or comma separated, "
                           "repeatable); auto = the context window (default: auto)")
    add_list_argument(parser, "--num-ignore", commas=True, item_type=int,
                      help="end-of-thinking attempts replaced by 'Wait' (space or comma "
                           "separated, repeatable); crossed with --budgets (default: 0)")
    parser.add_argument("--min-thinking-tokens", type=int, default=0)
    parser.add_argument("--max-answer-tokens", type=int, default=512)
    parser.add_argument("--limit", type=int, help="first N questions of each benchmark")
    parser.add_argument("--samples", type=int, default=1,
                        help="samples per question (pass@1 over them; needs --temperature > 0)")
    parser.add_argument("--temperature", type=float, default=0.0)
    parser.add_argument("--top-p", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--engine", choices=ENGINE_NAMES, default="auto",
                        help="generation engine; auto = vLLM when installed and a GPU is "
                             "visible, else transformers")
    parser.add_argument("--tensor-parallel-size", type=int,
                        help="vLLM: GPUs per model (default: every visible GPU)")
    parser.add_argument("--out", type=Path,
                        help="output folder (required with --model; with --predictions it "
                             "receives results.jsonl and summary.json)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(func=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    if args.predictions is not None:
        return _grade(args)
    return _sweep(args)


def _grade(args: argparse.Namespace) -> int:
    from s1.evaluation.predictions import grade_predictions
    from s1.evaluation.summary import grade_summary

    results = grade_predictions(args.predictions, args.kind)
    summary = {"predictions": str(args.predictions), **grade_summary(results)}
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        with (args.out / "results.jsonl").open("w", encoding="utf-8") as sink:
            sink.writelines(json.dumps(result, ensure_ascii=False) + "\n" for result in results)
        (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    if args.json:
        print(json.dumps(summary))
    else:
        wrong = {k: v for k, v in summary["reasons"].items() if v and k != "correct"}
        print(f"{summary['correct']}/{summary['n']} correct ({100 * summary['accuracy']:.1f}%)"
              + (f"; wrong: {wrong}" if wrong else ""))
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from s1.evaluation.benchmarks import parse_field_map
    from s1.evaluation.config import EvaluationConfig, parse_budgets
    from s1.evaluation.run import evaluate

    if not args.benchmark:
        raise ValueError("--model needs at least one --benchmark")
    if args.out is None:
        raise ValueError("--model needs --out DIR")
    config = EvaluationConfig(
        model=args.model,
        benchmarks=tuple(args.benchmark),
        out=args.out,
        budgets=parse_budgets(",".join(args.budgets or ["auto"])),
        num_ignore=tuple(args.num_ignore or [0]),
        min_thinking_tokens=args.min_thinking_tokens,
        max_answer_tokens=args.max_answer_tokens,
        limit=args.limit,
        samples=args.samples,
        temperature=args.temperature,
        top_p=args.top_p,
        seed=args.seed,
        batch_size=args.batch_size,
        engine=args.engine,
        tensor_parallel_size=args.tensor_parallel_size,
        kind=args.kind,
        fields=parse_field_map(args.fields) if args.fields else None,
    )
    metrics = evaluate(config)
    if args.json:
        print(json.dumps(metrics))
        return 0
    for name, summary in metrics["benchmarks"].items():
        curve = ", ".join(f"{p['budget']}: {100 * p['accuracy']:.1f}% "
                          f"({p['mean_thinking_tokens']:.0f} tok)" for p in summary["points"])
        print(f"{name}: {curve}")
    print(f"report: {args.out / 'report.md'}")
    return 0
