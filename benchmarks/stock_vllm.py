"""Budget forcing through stock vLLM with s1's plugin, beside `s1 serve --engine vllm`.

Usage: python benchmarks/stock_vllm.py --model models/smollm2 [--requests 8] [--concurrency 8] [--trials 5]

Starts three servers on 127.0.0.1 (free ports), all on vLLM: the stock OpenAI server with s1's
plugin flags (`s1.vllm_plugin.stock_server_args()`), the same server without the logits processor
(same chat template and parser, so plain requests decode the same tokens), and
`s1 serve --engine vllm`. Each trial sends the same batch of greedy chat requests (`--requests`
questions, `--concurrency` at once, the same `max_tokens`) five ways, in an order that rotates
from trial to trial so that the machine's other load falls on each alike: plain to both stock
servers and budget-forced (`vllm_xargs`) to the plugin's server, each with `ignore_eos` so that
every request generates `max_tokens` tokens (a forced turn that ends early then gets its end of
turn forced to the bound: the processor stays in the loop); forced without it to the plugin's
server and, with the same budgets as s1 serve's fields, to s1 serve (equal answers, equal work).
Throughput is completion tokens per second of wall time for the batch. Per trial:
- `stock_forced_over_plain` = plugin server forced / plain, both `max_tokens` long (what forcing
  costs a batch);
- `plain_with_over_without_processor` = plugin server plain / processor-less server plain (what
  the loaded processor costs requests that ask for nothing; 1.0: nothing);
- `stock_forced_over_s1_serve` = plugin server forced / s1 serve forced;
summarised as median and quartiles over trials. `agreement` is the share of forced answers
(thinking and answer text) equal between the stock server and s1 serve, `plain_agreement` the
same for plain answers of the two stock servers. The last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
from servers import free_port, running, s1_serve_command  # benchmarks/servers.py
from trials import median_quartiles  # benchmarks/trials.py

from s1.vllm_plugin import stock_server_args

BUDGET = {"max_thinking_tokens": 32, "num_ignore": 1}
MAX_TOKENS = 64
MEMORY = "0.1"  # of host RAM, per server (weights and KV cache): three run at once


def _questions(n: int) -> list[str]:
    return [f"What is {i} + {2 * i}?" for i in range(n)]


def _stock(model: Path, port: int, processor: bool) -> list[str]:
    flags = stock_server_args()
    if not processor:
        at = flags.index("--logits-processors")
        flags = flags[:at] + flags[at + 2:]
    return [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(model),
            "--served-model-name", "s1", "--host", "127.0.0.1", "--port", str(port), "--max-model-len", "1024",
            "--dtype", "float32", "--enforce-eager", "--gpu-memory-utilization", MEMORY, *flags]


def _s1_serve(model: Path, port: int) -> list[str]:
    return s1_serve_command(model, port, "--engine", "vllm", "--max-model-len", "1024", "--max-queue", "256",
                            "--gpu-memory-utilization", MEMORY)


def _body(question: str, route: str) -> dict:
    body = {"model": "s1", "messages": [{"role": "user", "content": question}], "max_tokens": MAX_TOKENS,
            "temperature": 0}
    if route.startswith("stock-forced"):
        body["vllm_xargs"] = BUDGET
    elif route == "s1-serve":
        body.update(BUDGET)
    if route.endswith("-full") or route.endswith("plain"):  # max_tokens each: batches that do not thin out
        body["ignore_eos"] = True
    return body


async def _batch(url: str, route: str, questions: list[str], concurrency: int) -> tuple[float, list]:
    """Completion tokens per second for the batch, and each answer's (thinking, answer) text."""
    limit = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=900) as client:

        async def one(question: str) -> tuple[int, tuple[str, str]]:
            async with limit:
                response = await client.post(url, json=_body(question, route))
                response.raise_for_status()
                data = response.json()
                message = data["choices"][0]["message"]
                thinking = message.get("reasoning_content") or message.get("reasoning") or ""
                return data["usage"]["completion_tokens"], (thinking.strip(), (message["content"] or "").strip())

        started = time.perf_counter()
        results = await asyncio.gather(*(one(q) for q in questions))
        elapsed = time.perf_counter() - started
    return sum(tokens for tokens, _ in results) / elapsed, [text for _, text in results]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--trials", type=int, default=5)
    args = parser.parse_args()
    questions = _questions(args.requests)
    ports = {"plugin": free_port(), "plain": free_port(), "s1": free_port()}
    urls = {
        "stock-forced": f"http://127.0.0.1:{ports['plugin']}/v1/chat/completions",
        "stock-forced-full": f"http://127.0.0.1:{ports['plugin']}/v1/chat/completions",
        "stock-plain": f"http://127.0.0.1:{ports['plugin']}/v1/chat/completions",
        "no-processor-plain": f"http://127.0.0.1:{ports['plain']}/v1/chat/completions",
        "s1-serve": f"http://127.0.0.1:{ports['s1']}/openai/v1/chat/completions",
    }
    rates: dict[str, list[float]] = {route: [] for route in urls}
    agree = plain_agree = total = 0
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as servers:
        # one at a time: each start uses every core
        servers.enter_context(running(_stock(args.model, ports["plugin"], True),
                                      f"http://127.0.0.1:{ports['plugin']}/health", Path(tmp) / "plugin.log"))
        servers.enter_context(running(_stock(args.model, ports["plain"], False),
                                      f"http://127.0.0.1:{ports['plain']}/health", Path(tmp) / "plain.log"))
        servers.enter_context(running(_s1_serve(args.model, ports["s1"]),
                                      f"http://127.0.0.1:{ports['s1']}/v2/health/ready", Path(tmp) / "s1.log"))
        for route, url in urls.items():  # warm-up
            asyncio.run(_batch(url, route, questions[:2], 2))
        order = list(urls)
        for trial in range(args.trials):
            texts = {}
            for route in order[trial % len(order):] + order[:trial % len(order)]:
                rate, texts[route] = asyncio.run(_batch(urls[route], route, questions, args.concurrency))
                rates[route].append(rate)
            agree += sum(a == b for a, b in zip(texts["stock-forced"], texts["s1-serve"]))
            plain_agree += sum(a == b for a, b in zip(texts["stock-plain"], texts["no-processor-plain"]))
            total += len(questions)
            print(f"trial {trial}: " + ", ".join(f"{r} {rates[r][-1]:.1f} tok/s" for r in urls), flush=True)

    def ratio(top: str, bottom: str) -> dict:
        return median_quartiles([a / b for a, b in zip(rates[top], rates[bottom])], 3)

    print(json.dumps({
        "model": str(args.model), "requests": args.requests, "concurrency": args.concurrency, "trials": args.trials,
        "budget": BUDGET, "max_tokens": MAX_TOKENS,
        "tokens_per_s": {route: median_quartiles(values, 1) for route, values in rates.items()},
        "stock_forced_over_plain": ratio("stock-forced-full", "stock-plain"),
        "plain_with_over_without_processor": ratio("stock-plain", "no-processor-plain"),
        "stock_forced_over_s1_serve": ratio("stock-forced", "s1-serve"),
        "agreement": round(agree / total, 3),
        "plain_agreement": round(plain_agree / total, 3),
    }))


if __name__ == "__main__":
    main()
