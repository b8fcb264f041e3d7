"""Budget-forced vs plain generation throughput, and s1's multi-round approach as the baseline.

Usage: python benchmarks/budget_forcing.py [--smollm2 /tmp/smol2] [--repeats 3] [--prompts 3]

For each prompt, budget-forced single-pass generation (`s1.generation.api.generate`) produces N
tokens; plain `model.generate` is then asked for exactly N new tokens (no processor, no early
stop), and s1's multi-round driver reproduces the same N tokens with a re-prefill per round.
Throughput is tokens per second over all prompts; the three methods are interleaved in every
repeat (the machine is shared) and the median repeat is reported. `ratio` = forced / plain
throughput on the tiny model (goal >= 0.95); `baseline_ratio` = multi-round / plain.

The tiny model is random, so it gets a +1 logit on `<|im_start|>`/`<|im_end|>` to try ending
thinking now and then (waits and rounds happen as on a trained model). Batch size 1 throughout:
s1's reference driver handles one request per round and "same number of tokens" stays exact.
CPU with transformers only; vLLM needs a GPU machine (not measured here).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch
from transformers import GenerationConfig

from s1.format import IM_END, IM_START, generation_prompt
from s1.generation.api import encode_prompts, generate, load_model
from s1.generation.multi_round import generate_multi_round
from s1.generation.types import Budget
from s1.models.build import build_model

QUESTIONS = [
    "What is the sum of the first ten prime numbers?",
    "A train travels 120 km in 1.5 hours. What is its average speed?",
    "How many ways can 5 people sit around a round table?",
    "Find x if 3x + 7 = 25.",
]


def tempted(model, tokenizer, bias: float):
    """The model with +bias on the end-of-thinking tokens' logits (see module docstring)."""
    head = model.lm_head
    layer = torch.nn.Linear(head.in_features, head.out_features, bias=True)
    with torch.no_grad():
        layer.weight.copy_(head.weight)
        layer.bias.zero_()
        for token in (IM_START, IM_END):
            layer.bias[tokenizer.convert_tokens_to_ids(token)] = bias
    model.lm_head = layer
    return model


def plain(model, ids: list[int], new_tokens: int) -> list[int]:
    """Exactly `new_tokens` greedy tokens with no logits processor at all: the stop id is one past
    the vocabulary, so nothing ends early (`min_new_tokens` would add a processor that scans the
    vocabulary every step and costs more than budget forcing does)."""
    input_ids = torch.tensor([ids])
    config = GenerationConfig(max_new_tokens=new_tokens, do_sample=False,
                              eos_token_id=model.config.vocab_size, pad_token_id=0)
    out = model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids),
                         generation_config=config)
    return out[0, len(ids):].tolist()


def measure(name: str, model, tokenizer, budget: Budget, prompts: list[str], repeats: int) -> dict:
    ids = encode_prompts(tokenizer, prompts)
    timings: dict[str, list[float]] = {"forced": [], "plain": [], "multi_round": []}
    tokens = waits = rounds_checked = 0
    for repeat in range(repeats):
        totals = dict.fromkeys(timings, 0.0)
        tokens = waits = 0
        for prompt, prompt_ids in zip(prompts, ids):
            start = time.perf_counter()
            [forced] = generate(model, tokenizer, [prompt], budget)
            totals["forced"] += time.perf_counter() - start
            n = len(forced.token_ids)
            start = time.perf_counter()
            assert len(plain(model, prompt_ids, n)) == n
            totals["plain"] += time.perf_counter() - start
            start = time.perf_counter()
            [multi] = generate_multi_round(model, tokenizer, [prompt], budget)
            totals["multi_round"] += time.perf_counter() - start
            if repeat == 0:
                assert multi.token_ids == forced.token_ids, "drivers disagree"
                rounds_checked += 1
            tokens += n
            waits += forced.num_waits
        for key, seconds in totals.items():
            timings[key].append(seconds)
    median = {key: statistics.median(values) for key, values in timings.items()}
    throughput = {key: tokens / seconds for key, seconds in median.items()}
    return {
        "model": name,
        "prompts": len(prompts),
        "generated_tokens": tokens,
        "waits": waits,
        "tokens_per_s": {key: round(value, 2) for key, value in throughput.items()},
        "ratio": round(throughput["forced"] / throughput["plain"], 4),
        "baseline_ratio": round(throughput["multi_round"] / throughput["plain"], 4),
        "drivers_agree": rounds_checked == len(prompts),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", type=Path, help="tiny-qwen folder (built if missing)")
    parser.add_argument("--smollm2", type=Path, help="also measure this SmolLM2 folder")
    parser.add_argument("--prompts", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-thinking-tokens", type=int, default=96)
    parser.add_argument("--num-ignore", type=int, default=2)
    parser.add_argument("--max-answer-tokens", type=int, default=32)
    args = parser.parse_args()
    torch.manual_seed(0)
    budget = Budget(max_thinking_tokens=args.max_thinking_tokens, num_ignore=args.num_ignore,
                    max_answer_tokens=args.max_answer_tokens)
    prompts = [generation_prompt(q) for q in QUESTIONS[: args.prompts]]
    with tempfile.TemporaryDirectory() as scratch:
        tiny_dir = args.tiny or build_model("tiny-qwen", Path(scratch) / "tiny-qwen")
        model, tokenizer = load_model(tiny_dir)
        results = [measure("tiny-qwen (+1 end bias)", tempted(model, tokenizer, 1.0), tokenizer,
                           budget, prompts, args.repeats)]
    if args.smollm2:
        model, tokenizer = load_model(args.smollm2)
        results.append(measure("smollm2-135m", model, tokenizer, budget, prompts, args.repeats))
    for result in results:
        print(f"{result['model']}: forced {result['tokens_per_s']['forced']} tok/s, plain "
              f"{result['tokens_per_s']['plain']} tok/s, multi-round "
              f"{result['tokens_per_s']['multi_round']} tok/s, ratio {result['ratio']}, "
              f"baseline ratio {result['baseline_ratio']}, waits {result['waits']}")
    summary = {
        "ratio": results[0]["ratio"],
        "baseline_ratio": results[0]["baseline_ratio"],
        "backend": "transformers-cpu",
        "budget": {"max_thinking_tokens": budget.max_thinking_tokens, "num_ignore": budget.num_ignore,
                   "max_answer_tokens": budget.max_answer_tokens},
        "results": results,
        "note": "vLLM not measured: no GPU machine in this run",
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
