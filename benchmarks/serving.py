"""Serving overhead and concurrency scaling: `s1 serve` versus the same engine in-process.

Usage: python benchmarks/serving.py --model models/smollm2 [--engine vllm] [--requests 16] [--concurrency 8] [--rounds 3]

Starts a real `s1 serve --engine E` on 127.0.0.1 (a free port) and loads the same engine in this
process. Each round: a sequential pass (for each question one chat completion over loopback
HTTP, then the same generation in-process, same prompt and budget, alternating so both see the
same load on a shared machine), then all questions at `--concurrency` at once through the
server. Reported as median and spread over requests/rounds:
- `overhead_ratio` = server latency / in-process latency per question (1.0: HTTP, validation,
  the queue and the response cost nothing);
- `concurrency_scaling` = requests/s at `--concurrency` / requests/s one at a time (above 1:
  concurrent requests share the engine, as vLLM's continuous batching does; the transformers
  engine runs one request at a time, so about 1).
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from servers import free_port, running, s1_serve_command  # benchmarks/servers.py
from trials import median_quartiles  # benchmarks/trials.py

from s1.format import conversation_prompt
from s1.generation.engine import load_engine, prepare
from s1.generation.types import Budget

# A thinking cap and an OpenAI max_tokens bound: the answer gets what the bound leaves.
THINKING, MAX_TOKENS = 32, 48


def _questions(n: int) -> list[str]:
    return [f"What is {i} + {2 * i}?" for i in range(n)]


def _body(question: str) -> dict:
    return {
        "model": "s1",
        "messages": [{"role": "user", "content": question}],
        "max_thinking_tokens": THINKING,
        "max_tokens": MAX_TOKENS,
    }


async def _concurrent(url: str, questions: list[str], concurrency: int) -> float:
    """Requests per second with `concurrency` requests in flight."""
    limit = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=600) as client:

        async def one(question: str) -> None:
            async with limit:
                (await client.post(url, json=_body(question))).raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(one(q) for q in questions))
        return len(questions) / (time.perf_counter() - started)


def _sequential(url: str, questions: list[str], engine) -> tuple[list[float], float]:
    """Per-question server/in-process latency ratios, and the server's sequential requests/s."""
    budget = Budget(max_thinking_tokens=THINKING, max_tokens=MAX_TOKENS)
    ratios, served = [], 0.0
    with httpx.Client(timeout=600) as client:
        for question in questions:
            started = time.perf_counter()
            client.post(url, json=_body(question)).raise_for_status()
            middle = time.perf_counter()
            prompt = conversation_prompt([("user", question)])
            engine.generate([prepare(engine, prompt, budget)])
            ratios.append((middle - started) / (time.perf_counter() - middle))
            served += middle - started
    return ratios, len(questions) / served


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--engine", choices=["transformers", "vllm"], default="transformers")
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    questions = _questions(args.requests)

    engine = load_engine(args.model, args.engine)
    overhead, scaling = [], []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            command = s1_serve_command(args.model, port, "--max-queue", "256", "--engine", args.engine)
            with running(command, f"{url}/v2/health/ready", Path(tmp) / "serve.log"):
                route = f"{url}/openai/v1/chat/completions"
                _sequential(route, questions[:2], engine)  # warm-up
                for _ in range(args.rounds):
                    ratios, sequential_rps = _sequential(route, questions, engine)
                    concurrent_rps = asyncio.run(_concurrent(route, questions, args.concurrency))
                    overhead.extend(ratios)
                    scaling.append(concurrent_rps / sequential_rps)
                    print(f"round: sequential {sequential_rps:.3f} req/s, {args.concurrency} at once "
                          f"{concurrent_rps:.3f} req/s, overhead p50 {statistics.median(ratios):.3f}")
    finally:
        engine.shutdown()

    result = {
        "model": str(args.model),
        "engine": args.engine,
        "requests": args.requests,
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        "budget": {"max_thinking_tokens": THINKING, "max_tokens": MAX_TOKENS},
        "overhead_ratio": median_quartiles(overhead),
        "concurrency_scaling": median_quartiles(scaling),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
