"""Serving overhead: the same budget-forced generation through `s1 serve` versus in-process.

Usage: python benchmarks/serving.py --model /tmp/tq [--requests 30] [--concurrency 8]

Starts a real `s1 serve` on 127.0.0.1 (a free port). Sequential phase: for each question, one
chat completion over loopback HTTP, then the same generation in this process
(`s1.generation.api.generate`, same prompt and budget), alternating so both see the same load
on a shared machine. Then `--concurrency` requests at once (throughput under the queue).
`overhead_ratio` = server p50 latency / in-process p50 latency; 1.0 means HTTP, validation,
the queue and streaming into the response cost nothing. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from s1.format import generation_prompt
from s1.generation.api import generate, load_model
from s1.generation.types import Budget

THINKING, ANSWER = 32, 8


def _questions(n: int) -> list[str]:
    return [f"What is {i} + {2 * i}?" for i in range(n)]


def _stats(latencies: list[float], wall: float) -> dict:
    ordered = sorted(latencies)
    return {
        "requests_per_s": round(len(ordered) / wall, 3),
        "p50_s": round(statistics.median(ordered), 4),
        "p95_s": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 4),
    }


def _body(question: str) -> dict:
    return {
        "model": "s1",
        "messages": [{"role": "user", "content": question}],
        "max_thinking_tokens": THINKING,
        "max_tokens": ANSWER,
    }


async def _concurrent(url: str, questions: list[str], concurrency: int) -> dict:
    limit = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=600) as client:

        async def one(question: str) -> float:
            async with limit:
                started = time.perf_counter()
                (await client.post(url, json=_body(question))).raise_for_status()
                return time.perf_counter() - started

        started = time.perf_counter()
        latencies = await asyncio.gather(*(one(q) for q in questions))
        return _stats(list(latencies), time.perf_counter() - started)


def _sequential(url: str, questions: list[str], model, tokenizer) -> tuple[dict, dict]:
    budget = Budget(max_thinking_tokens=THINKING, max_answer_tokens=ANSWER)
    served, local = [], []
    with httpx.Client(timeout=600) as client:
        for index, question in enumerate([questions[0], *questions]):  # the first is a warm-up
            started = time.perf_counter()
            client.post(url, json=_body(question)).raise_for_status()
            middle = time.perf_counter()
            generate(model, tokenizer, [generation_prompt(question)], budget)
            if index:
                served.append(middle - started)
                local.append(time.perf_counter() - middle)
    return _stats(served, sum(served)), _stats(local, sum(local))


def _start_server(model: Path, log: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "s1.cli", "serve", "--model", str(model), "--host", "127.0.0.1",
             "--port", str(port), "--max-queue", "256"],
            stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"s1 serve exited:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/v2/health/ready", timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    process.kill()
    raise SystemExit("s1 serve did not become ready in 300 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    questions = _questions(args.requests)

    model, tokenizer = load_model(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        process, url = _start_server(args.model, Path(tmp) / "serve.log")
        try:
            route = f"{url}/openai/v1/chat/completions"
            sequential, in_process = _sequential(route, questions, model, tokenizer)
            concurrent = asyncio.run(_concurrent(route, questions, args.concurrency))
        finally:
            process.terminate()
            process.wait(timeout=60)

    result = {
        "model": str(args.model),
        "requests": args.requests,
        "budget": {"max_thinking_tokens": THINKING, "max_tokens": ANSWER},
        "server_sequential": sequential,
        f"server_concurrency_{args.concurrency}": concurrent,
        "in_process_sequential": in_process,
        "overhead_ratio": round(sequential["p50_s"] / in_process["p50_s"], 3),
    }
    print(f"server  (1 at a time): {sequential}")
    print(f"server  ({args.concurrency} at a time): {concurrent}")
    print(f"in-process           : {in_process}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
