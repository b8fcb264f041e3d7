"""Budget-forced vs plain generation throughput (transformers and vLLM), and s1's multi-round
approach as the baseline.

Usage: python benchmarks/budget_forcing.py [--trials 15] [--vllm-model models/smollm2 --vllm-trials 5]

transformers (tiny model, CPU): each trial runs every prompt budget-forced in a single pass
(`s1.generation.api.generate`, N tokens), then plain `model.generate` for exactly N tokens (no
processor, no early stop), then s1's multi-round driver (same N tokens, a re-prefill per round);
the order of forced and plain alternates between trials so drift on a shared machine cancels.
A trial's ratio is plain seconds / forced seconds over its prompts (= forced / plain
throughput, as the token counts are equal). Reported: the median trial ratio and its spread
(quartiles), for forced (`ratio`, goal >= 0.95) and multi-round (`baseline_ratio`).

vLLM (`--vllm-model`, a vLLM-capable model such as SmolLM2; vLLM's CPU build here): one engine;
each trial sends the whole prompt set as one batch with budget forcing, and one batch without
(`max_tokens = min_tokens` = each forced request's length, `ignore_eos`), alternating order.
`vllm_ratio` = median plain / forced batch seconds (goal >= 0.95).

The tiny model is random, so it gets a +1 logit on `<|im_start|>`/`<|im_end|>` to try ending
thinking now and then (waits and rounds happen as on a trained model). The last line is one JSON
object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path

import torch
from tqdm.auto import tqdm
from transformers import GenerationConfig
from trials import median_quartiles  # benchmarks/trials.py

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
    "What is 17 squared?",
    "Name the largest planet in the solar system.",
    "Simplify (x^2 - 1) / (x - 1).",
    "How many edges does a cube have?",
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


def transformers_trials(model, tokenizer, budget: Budget, prompts: list[str], trials: int) -> dict:
    ids = encode_prompts(tokenizer, prompts)
    forced_runs = generate(model, tokenizer, prompts, budget, batch_size=1)  # warm-up, lengths
    lengths = [len(g.token_ids) for g in forced_runs]
    for prompt, g in zip(prompts, forced_runs):
        [multi] = generate_multi_round(model, tokenizer, [prompt], budget)
        assert multi.token_ids == g.token_ids, "drivers disagree"
    ratios, baseline = [], []
    for trial in tqdm(range(trials), desc="transformers trials"):
        seconds = {"forced": 0.0, "plain": 0.0, "multi_round": 0.0}
        for prompt, prompt_ids, n in zip(prompts, ids, lengths):
            order = ("forced", "plain") if trial % 2 == 0 else ("plain", "forced")
            for method in (*order, "multi_round"):
                start = time.perf_counter()
                if method == "forced":
                    generate(model, tokenizer, [prompt], budget)
                elif method == "plain":
                    plain(model, prompt_ids, n)
                else:
                    generate_multi_round(model, tokenizer, [prompt], budget)
                seconds[method] += time.perf_counter() - start
        ratios.append(seconds["plain"] / seconds["forced"])
        baseline.append(seconds["plain"] / seconds["multi_round"])
    return {"prompts": len(prompts), "tokens_per_trial": sum(lengths),
            "waits": sum(g.num_waits for g in forced_runs), "trials": trials,
            "ratio": median_quartiles(ratios), "baseline_ratio": median_quartiles(baseline)}


def vllm_trials(model_dir: Path, budget: Budget, prompts: list[str], trials: int) -> dict:
    """Forced vs plain batches on one vLLM engine (see module docstring)."""
    from vllm import SamplingParams, TokensPrompt

    from s1.generation.engine import prepare
    from s1.generation.vllm_engine import VLLMEngine

    started = time.perf_counter()
    engine = VLLMEngine(model_dir, max_model_len=2048)
    start_seconds = time.perf_counter() - started
    try:
        requests = [prepare(engine, p, budget) for p in prompts]
        forced = engine.generate(requests)  # warm-up, lengths
        lengths = [len(g.token_ids) for g in forced]

        async def plain_batch() -> None:
            async def one(index: int, request) -> None:
                params = SamplingParams(temperature=0.0, max_tokens=lengths[index], min_tokens=lengths[index],
                                        ignore_eos=True)
                prompt = TokensPrompt(prompt_token_ids=list(request.prompt_ids))
                async for _ in engine._llm.generate(prompt, params, request_id=f"plain-{uuid.uuid4().hex}"):
                    pass

            await asyncio.gather(*(one(i, r) for i, r in enumerate(requests)))

        ratios = []
        for trial in tqdm(range(trials), desc="vLLM trials"):
            seconds = {}
            for method in (("forced", "plain") if trial % 2 == 0 else ("plain", "forced")):
                start = time.perf_counter()
                if method == "forced":
                    engine.generate(requests)
                else:
                    engine._call(plain_batch())  # the engine's own loop runs vLLM
                seconds[method] = time.perf_counter() - start
            ratios.append(seconds["plain"] / seconds["forced"])
    finally:
        engine.shutdown()
    return {"model": str(model_dir), "prompts": len(prompts), "tokens_per_batch": sum(lengths),
            "waits": sum(g.num_waits for g in forced), "trials": trials,
            "engine_start_s": round(start_seconds, 1), "ratio": median_quartiles(ratios)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", type=Path, help="tiny-qwen folder (built if missing)")
    parser.add_argument("--trials", type=int, default=15)
    parser.add_argument("--prompts", type=int, default=4)
    parser.add_argument("--vllm-model", type=Path, help="also measure vLLM on this model folder")
    parser.add_argument("--vllm-trials", type=int, default=5)
    parser.add_argument("--vllm-prompts", type=int, default=16)
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
        hf = transformers_trials(tempted(model, tokenizer, 1.0), tokenizer, budget, prompts, args.trials)
    print(f"transformers (tiny-qwen, +1 end bias): forced/plain {hf['ratio']}, "
          f"multi-round/plain {hf['baseline_ratio']}, {hf['tokens_per_trial']} tokens per trial")
    summary = {
        "ratio": hf["ratio"]["median"],
        "ratio_iqr": [hf["ratio"]["q1"], hf["ratio"]["q3"]],
        "baseline_ratio": hf["baseline_ratio"]["median"],
        "budget": {"max_thinking_tokens": budget.max_thinking_tokens, "num_ignore": budget.num_ignore,
                   "max_answer_tokens": budget.max_answer_tokens},
        "transformers": hf,
    }
    if args.vllm_model:
        vllm_prompts = [generation_prompt(QUESTIONS[i % len(QUESTIONS)] + " " * (i // len(QUESTIONS)))
                        for i in range(args.vllm_prompts)]
        result = vllm_trials(args.vllm_model, budget, vllm_prompts, args.vllm_trials)
        print(f"vLLM ({args.vllm_model.name}): forced/plain {result['ratio']}, "
              f"{result['tokens_per_batch']} tokens per batch")
        summary.update(vllm_ratio=result["ratio"]["median"],
                       vllm_ratio_iqr=[result["ratio"]["q1"], result["ratio"]["q3"]], vllm=result)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
