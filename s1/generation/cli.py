"""`s1 generate`: budget-forced answers from a local model folder.

Usage: s1 generate --model models/tiny-qwen --max-thinking-tokens 512 --num-ignore 1 --json "What is 2+2?"
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from s1.generation.engine import ENGINE_NAMES
from s1.generation.types import Budget

# s1's defaults, from the one place they are defined.
DEFAULT_BUDGET = Budget()


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="answer questions with s1 budget forcing",
        description=__doc__.splitlines()[2],
    )
    parser.add_argument("questions", nargs="+", metavar="PROMPT", help="question(s) to answer")
    parser.add_argument("--model", required=True, help="model folder (or id already cached)")
    parser.add_argument(
        "--max-thinking-tokens", required=True, type=_budget, metavar="B",
        help="thinking cap in tokens; 'auto' = whatever the context window leaves",
    )
    parser.add_argument("--min-thinking-tokens", type=int, default=0, metavar="M",
                        help="replace end-of-thinking attempts before M thinking tokens")
    parser.add_argument("--num-ignore", type=int, default=0, metavar="K",
                        help="replace the first K end-of-thinking attempts with the ignore string")
    parser.add_argument("--ignore-string", default=DEFAULT_BUDGET.ignore_string, help="text forced instead of ending")
    parser.add_argument("--answer-prefix", default=DEFAULT_BUDGET.answer_prefix,
                        help="text forced after the answer delimiter when the cap is hit")
    parser.add_argument("--max-answer-tokens", type=int, default=DEFAULT_BUDGET.max_answer_tokens, metavar="N")
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (s1's eval)")
    parser.add_argument("--top-p", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=8, help="transformers: prompts per generate call")
    parser.add_argument("--engine", choices=ENGINE_NAMES, default="auto",
                        help="auto: vLLM when installed and a GPU is visible, else transformers")
    parser.add_argument("--tensor-parallel-size", type=int, metavar="N",
                        help="vLLM: GPUs per model (default: every visible GPU)")
    parser.add_argument("--json", action="store_true", help="one JSON object per prompt")
    parser.add_argument("--stream", action="store_true",
                        help="print tokens as they come (to stderr with --json)")
    parser.set_defaults(func=_generate)


def _budget(value: str) -> int | None:
    if value == "auto":
        return None
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer or 'auto', got {value!r}") from None


def _generate(args: argparse.Namespace) -> int:
    import asyncio

    from s1.format import generation_prompt
    from s1.generation.budget_forcing import validate_budget
    from s1.generation.engine import load_engine, prepare_all
    from s1.generation.types import Generation, Sampling

    budget = Budget(
        max_thinking_tokens=args.max_thinking_tokens,
        min_thinking_tokens=args.min_thinking_tokens,
        num_ignore=args.num_ignore,
        ignore_string=args.ignore_string,
        answer_prefix=args.answer_prefix,
        max_answer_tokens=args.max_answer_tokens,
    )
    sampling = Sampling(temperature=args.temperature, top_p=args.top_p, seed=args.seed)
    validate_budget(budget)  # before loading a (possibly large) model
    engine = load_engine(args.model, args.engine, tensor_parallel_size=args.tensor_parallel_size,
                         batch_size=args.batch_size)
    try:
        requests = prepare_all(engine, [generation_prompt(q) for q in args.questions], budget, sampling)
        if args.stream:
            live = sys.stderr if args.json else sys.stdout

            async def stream_one(request) -> Generation:
                async for item in engine.stream(request):
                    if isinstance(item, Generation):
                        return item
                    print(item, end="", file=live, flush=True)
                raise RuntimeError("the engine ended without a result")

            results = []
            for request in requests:
                results.append(asyncio.run(stream_one(request)))
                print(file=live)
        else:
            results = engine.generate(requests)
    finally:
        engine.shutdown()
    for question, result in zip(args.questions, results):
        if args.json:
            record = {"question": question, **dataclasses.asdict(result)}
            del record["token_ids"]
            print(json.dumps(record, ensure_ascii=False))
        elif not args.stream:
            print(f"# {question}\n## thinking ({result.thinking_tokens} tokens, "
                  f"{result.num_waits} waits{', cap hit' if result.hit_cap else ''})\n"
                  f"{result.thinking}\n## answer\n{result.answer}\n")
    return 0
