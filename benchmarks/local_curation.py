"""Curation's model calls on a local engine versus the same model behind `s1 serve` over HTTP,
and a projection of s1's difficulty stage on one 8-GPU node.

Usage: python benchmarks/local_curation.py --model models/smollm2 [--engine vllm] [--prompts 64]
           [--trials 5] [--pool omnimath=../shared/data/omnimath_rule.jsonl ...]

Part 1, measured: one attempt-model sweep of `--prompts` questions, (a) through the engine layer
in this process (`LocalModelClient.sweeps`: the model's chat template, reply plans, batched
sweeps; what `s1 curate --attempt-model local:DIR` runs) and (b) through curation's endpoint
client (`OpenAIChatClient`, every prompt in flight at once) against a real `s1 serve --engine E`
on 127.0.0.1, today's endpoint path. Both engines stay loaded; trials alternate local/HTTP so
both see the same machine load. Reported per path: prompts/s and generated tokens/s (median,
quartiles), and the local/HTTP ratio of each trial pair. `s1 serve` forces s1's think format on
every request, so its replies differ in length from the local plain replies: tokens/s is the
work-normalised comparison. No call cache is involved.

Part 2, projected: s1's difficulty stage (Qwen2.5-7B- and 32B-Instruct attempting 51,581
questions each) on one node of 8 H100s with this implementation (one model loaded at a time,
vLLM tensor parallel inside the curate step). Prompt lengths are measured on the given pools
(real competition questions, Qwen2.5's tokenizer and chat template; synthetic ones without
`--pool`); attempt lengths are measured reference-solution lengths times an assumed factor. The
assumptions are printed with the result. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from servers import free_port, running, s1_serve_command  # benchmarks/servers.py
from trials import median_quartiles  # benchmarks/trials.py

from s1.curation.client import ChatResult, OpenAIChatClient
from s1.curation.config import EndpointConfig, LocalModelConfig
from s1.curation.local_models import LocalModelClient, LocalModels

MAX_TOKENS = 48
# s1's difficulty stage: 51,581 questions after the quality filters, two attempt models.
S1_QUESTIONS = 51_581
H100_BF16_FLOPS = 989e12  # dense bf16 peak of an H100 SXM
# Assumptions of the projection (printed with the result).
ASSUMPTIONS = {
    "decode_mfu": 0.20,  # vLLM decode at full batch on H100: a fifth of peak (memory-bound steps)
    "prefill_mfu": 0.45,
    "tensor_parallel_efficiency": 0.85,  # throughput per GPU with TP relative to one GPU
    "attempt_over_solution_length": 2.0,  # Qwen2.5-Instruct's chain of thought vs the reference solution
    "share_running_to_the_cap": 0.01,  # attempts that loop until s1's 32,768-token cap (temperature 0.05)
    "load_seconds": {"Qwen2.5-7B-Instruct": 90, "Qwen2.5-32B-Instruct": 240},  # weights from the PVC
    "sweep_drain_overhead": 0.05,  # idle slots while a sweep's last attempts finish (2 sweeps in flight)
}
# (parameters, tensor parallel size this implementation runs them at on 8 GPUs). Qwen2.5-7B has
# 28 query / 4 KV heads: tensor parallelism of 4 at most, so it uses half the node.
MODELS = {"Qwen2.5-7B-Instruct": (7.6e9, 4), "Qwen2.5-32B-Instruct": (32.8e9, 8)}


def questions(n: int) -> list[str]:
    """Requests for a long answer: both paths generate up to MAX_TOKENS for every prompt."""
    topics = ["a lighthouse keeper", "a lost robot", "the first winter on Mars", "a chess prodigy",
              "a river that ran backwards", "an old clockmaker", "a city without maps", "a shy dragon"]
    return [f"Write a long, detailed story about {topics[i % len(topics)]} (version {i})." for i in range(n)]


def local_sweep(client: LocalModelClient, models: LocalModels, prompts: list[str]) -> tuple[float, int]:
    """Seconds for the sweep, and its generated tokens (each reply re-encoded, plus its stop)."""
    started = time.perf_counter()
    results = [r for sweep in client.sweeps(prompts) for _, r in sweep]
    seconds = time.perf_counter() - started
    assert len(results) == len(prompts) and all(isinstance(r, ChatResult) for r in results), results[:1]
    tokenizer = models.engine_for(client.config).tokenizer
    return seconds, sum(len(tokenizer.encode(r.content, add_special_tokens=False)) + 1 for r in results)


def http_sweep(url: str, name: str, prompts: list[str]) -> tuple[float, int]:
    """Every prompt in flight at once through curation's endpoint client; usage tokens summed."""
    from concurrent.futures import ThreadPoolExecutor

    client = OpenAIChatClient(EndpointConfig(model=name, base_url=url, max_tokens=MAX_TOKENS, temperature=0.0,
                                             concurrency=len(prompts), max_retries=0, api_key_env=None))
    counted: list[int] = []

    def one(prompt: str) -> None:
        body = {"model": name, "messages": [{"role": "user", "content": prompt}], **client.settings}
        response = client._http.post("/chat/completions", json=body)
        response.raise_for_status()
        counted.append(response.json()["usage"]["completion_tokens"])

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(prompts)) as pool:
        list(pool.map(one, prompts))
    seconds = time.perf_counter() - started
    client.close()
    return seconds, sum(counted)


def measured_lengths(pools: list[str]) -> dict:
    """Prompt tokens (Qwen2.5's chat template) and reference-solution tokens of real questions."""
    from s1.curation.ingest import ingest
    from s1.curation.tokens import batched_token_counts, load_tokenizer
    from s1.format import chat_prompt
    from s1.pool.synth import synthesize_pool

    tokenizer = load_tokenizer(None)
    if pools:
        rows = [(q.question, q.solution or q.answer) for q in ingest(pools).questions]
    else:
        rows = [(r["question"], r["thinking"]) for r in synthesize_pool(2000, seed=0)]
    # chat_prompt is Qwen2.5's chat template (default system prompt) up to the assistant header.
    prompts = batched_token_counts(tokenizer, [chat_prompt(q) for q, _ in rows])
    solutions = batched_token_counts(tokenizer, [s for _, s in rows if s])
    return {"questions": len(rows), "source": pools or ["synthetic pool"],
            "prompt_tokens_mean": round(statistics.fmean(prompts), 1),
            "solution_tokens_mean": round(statistics.fmean(solutions), 1),
            "solution_tokens_p90": statistics.quantiles(solutions, n=10)[-1]}


def projection(lengths: dict) -> dict:
    """Hours of one 8-GPU node for s1's difficulty stage under ASSUMPTIONS."""
    a = ASSUMPTIONS
    looping = a["share_running_to_the_cap"]
    output = (1 - looping) * lengths["solution_tokens_mean"] * a["attempt_over_solution_length"] + looping * 32_768
    per_model, total = {}, 0.0
    for name, (params, tp) in MODELS.items():
        flops = 2 * params  # per token, weights only (attention over ~1K tokens adds a few %)
        decode = a["decode_mfu"] * H100_BF16_FLOPS / flops * tp * a["tensor_parallel_efficiency"]
        prefill = a["prefill_mfu"] * H100_BF16_FLOPS / flops * tp * a["tensor_parallel_efficiency"]
        seconds = (S1_QUESTIONS * output / decode + S1_QUESTIONS * lengths["prompt_tokens_mean"] / prefill)
        seconds = seconds * (1 + a["sweep_drain_overhead"]) + a["load_seconds"][name]
        per_model[name] = {"tensor_parallel_size": tp, "gpus_busy": tp, "decode_tokens_per_s": round(decode),
                           "hours": round(seconds / 3600, 2)}
        total += seconds
    return {"questions": S1_QUESTIONS, "attempt_tokens_mean": round(output, 1), "models": per_model,
            "node_hours": round(total / 3600, 2), "gpu_hours": round(8 * total / 3600, 1),
            "assumptions": a}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="model folder (SmolLM2: s1 models build smollm2)")
    parser.add_argument("--engine", choices=["transformers", "vllm"], default="vllm")
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--pool", action="append", default=[], help="NAME=LOCATION of real questions (repeatable)")
    args = parser.parse_args()
    prompts = questions(args.prompts)
    name = "attempt-model"
    models = LocalModels(args.engine)
    client = LocalModelClient(LocalModelConfig(model=f"local:{args.model}", max_tokens=MAX_TOKENS, temperature=0.0,
                                               max_model_len=1024, sweep_size=args.prompts), models)
    local, http = [], []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            port = free_port()
            command = s1_serve_command(args.model, port, "--name", name, "--engine", args.engine,
                                       "--max-queue", "1024", "--max-model-len", "1024")
            with running(command, f"http://127.0.0.1:{port}/v2/health/ready", Path(tmp) / "serve.log"):
                url = f"http://127.0.0.1:{port}/openai/v1"
                local_sweep(client, models, prompts[:4])  # warm-up (loads the in-process engine)
                http_sweep(url, name, prompts[:4])
                for trial in range(args.trials):
                    local.append(local_sweep(client, models, prompts))
                    http.append(http_sweep(url, name, prompts))
                    print(f"trial {trial}: local {args.prompts / local[-1][0]:.3f} prompts/s "
                          f"({local[-1][1]} tokens), HTTP {args.prompts / http[-1][0]:.3f} prompts/s "
                          f"({http[-1][1]} tokens)", flush=True)
    finally:
        models.close()
    lengths = measured_lengths(args.pool)
    result = {
        "model": str(args.model), "engine": args.engine, "prompts": args.prompts, "trials": args.trials,
        "max_tokens": MAX_TOKENS,
        "local_prompts_per_s": median_quartiles([args.prompts / s for s, _ in local]),
        "http_prompts_per_s": median_quartiles([args.prompts / s for s, _ in http]),
        "local_tokens_per_s": median_quartiles([t / s for s, t in local], 2),
        "http_tokens_per_s": median_quartiles([t / s for s, t in http], 2),
        "local_over_http_prompts_per_s": median_quartiles([h / l for (l, _), (h, _) in zip(local, http)]),
        # Work-normalised: s1 serve forces s1's think format, so its replies differ in length.
        "local_over_http_tokens_per_s": median_quartiles([(lt / l) / (ht / h) for (l, lt), (h, ht) in zip(local, http)]),
        "measured_lengths": lengths,
        "projection_8xH100": projection(lengths),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
