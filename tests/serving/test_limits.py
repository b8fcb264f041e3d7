"""Bad input, a full queue, timeouts and client disconnects: clean answers, the server stays up."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from s1.format import generation_prompt

# A real model in a real server: seconds per test.
pytestmark = pytest.mark.slow

CHAT = "/openai/v1/chat/completions"
PREDICT = "/v1/models/s1:predict"
SMALL = {"max_thinking_tokens": 4, "max_tokens": 16}


def _chat(**fields) -> dict:
    return {"model": "s1", "messages": [{"role": "user", "content": "2+2?"}], **SMALL, **fields}


BAD = [
    pytest.param(CHAT, b'{"model": "s1", "messages": [', 400, "malformed JSON", id="malformed-json"),
    pytest.param(CHAT, {"model": "s1", **SMALL}, 400, "messages: field required", id="missing-messages"),
    pytest.param(PREDICT, {"instances": [{"max_thinking_tokens": 4}]}, 400, "exactly one of 'question' or 'prompt'",
                 id="missing-prompt"),
    pytest.param(CHAT, _chat(max_thinking_tokens="lots"), 400, "max_thinking_tokens", id="wrong-type"),
    pytest.param(PREDICT, {"instances": [{"question": 7}]}, 400, "question", id="wrong-type-v1"),
    pytest.param(CHAT, _chat(max_thinking_tokens=-1), 400, "greater than or equal to 0", id="negative-budget"),
    pytest.param(CHAT, _chat(max_thinking_tokens=10**12), 400, "exceeds this server's limit", id="huge-budget"),
    pytest.param(CHAT, _chat(min_thinking_tokens=9), 400, "min_thinking_tokens (9) exceeds", id="min-over-max"),
    pytest.param(CHAT, _chat(max_tokens=10**6), 400, "exceeds the model's 32768-token context", id="huge-max-tokens"),
    pytest.param(CHAT, _chat(max_tokens=5), 400, "max_tokens=5 leaves no room for an answer", id="max-tokens-too-small"),
    pytest.param(PREDICT, {"instances": [{"question": "2+2?", "max_answer_tokens": 10**6}]}, 400, "answer tokens",
                 id="huge-answer"),
    pytest.param(CHAT, _chat(messages=[{"role": "user", "content": "x " * 33_000}]), 400, "context window",
                 id="prompt-over-context-window"),
    pytest.param(CHAT, _chat(model="gpt-4"), 404, "'gpt-4' is not served here", id="unknown-model"),
    pytest.param("/v1/models/gpt-4:predict", {"instances": ["2+2?"]}, 404, "gpt-4", id="unknown-model-v1"),
    pytest.param(CHAT, _chat(max_thinking_token=4), 400, "unknown field", id="misspelt-field"),
    pytest.param(CHAT, _chat(messages=[{"role": "assistant", "content": "hi"}]), 400, "must end with a 'user' turn",
                 id="no-user-message"),
]


@pytest.mark.parametrize(("route", "body", "status", "message"), BAD)
def test_bad_input_is_a_4xx_that_says_why(server, route, body, status, message) -> None:
    if isinstance(body, bytes):
        response = httpx.post(server.url + route, content=body, headers={"content-type": "application/json"})
    else:
        response = httpx.post(server.url + route, json=body, timeout=60)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    text = error if isinstance(error, str) else error["message"]
    assert message in text, text
    # ... and the next request is served.
    assert httpx.post(server.url + CHAT, json=_chat(), timeout=60).status_code == 200


def test_prompt_longer_than_the_server_allows(tight_server) -> None:
    body = {"model": "tight", "messages": [{"role": "user", "content": "x " * 100}], **SMALL}
    response = httpx.post(tight_server.url + CHAT, json=body, timeout=60)
    assert response.status_code == 400
    assert "accepts at most 64" in response.json()["error"]["message"]


async def _burst(url: str, model: str, count: int) -> list[httpx.Response]:
    body = {"model": model, "messages": [{"role": "user", "content": "2+2?"}], "max_thinking_tokens": 4, "max_tokens": 16}
    async with httpx.AsyncClient(timeout=120) as client:
        return await asyncio.gather(*(client.post(url + CHAT, json=body) for _ in range(count)))


def test_32_concurrent_requests_all_succeed(server) -> None:
    responses = asyncio.run(_burst(server.url, "s1", 32))
    assert [r.status_code for r in responses] == [200] * 32
    assert all(r.json()["choices"][0]["budget"]["thinking_tokens"] <= 4 for r in responses)


def test_full_queue_answers_503_and_recovers(tight_server) -> None:
    responses = asyncio.run(_burst(tight_server.url, "tight", 32))
    codes = [r.status_code for r in responses]
    assert set(codes) <= {200, 503} and 200 in codes and 503 in codes, codes
    rejected = next(r for r in responses if r.status_code == 503)
    assert rejected.headers["retry-after"] == "1"
    assert "server busy" in rejected.json()["error"]["message"]
    assert tight_server.metric("s1_requests_total", outcome="overloaded") >= codes.count(503)
    assert [r.status_code for r in asyncio.run(_burst(tight_server.url, "tight", 1))] == [200]


def test_request_timeout_is_a_504(tight_server) -> None:
    body = {"model": "tight", "messages": [{"role": "user", "content": "2+2?"}], "max_thinking_tokens": 20_000}
    started = time.monotonic()
    response = httpx.post(tight_server.url + CHAT, json=body, timeout=60)
    assert response.status_code == 504 and "request timeout" in response.json()["error"]["message"]
    assert time.monotonic() - started < 30  # the 10 s timeout, not the minutes 20K tokens take
    assert tight_server.metric("s1_requests_running") == 0


def _wait_until_idle(server, seconds: float) -> float:
    started = time.monotonic()
    while server.metric("s1_requests_running") > 0:
        assert time.monotonic() - started < seconds, "generation went on after the client left"
        time.sleep(0.1)
    return time.monotonic() - started


LONG = 8000  # thinking tokens: a minute of CPU generation if nobody stopped it


def test_streaming_client_disconnect_stops_generation(server) -> None:
    cancelled = server.metric("s1_requests_total", outcome="cancelled")
    body = {"model": "s1", "messages": [{"role": "user", "content": "2+2?"}], "stream": True, "max_thinking_tokens": LONG}
    with httpx.stream("POST", server.url + CHAT, json=body, timeout=60) as response:
        lines = response.iter_lines()
        assert next(lines).startswith("data: ")
        assert server.metric("s1_requests_running") == 1
    _wait_until_idle(server, seconds=10)
    assert server.metric("s1_requests_total", outcome="cancelled") == cancelled + 1


def test_non_streaming_client_disconnect_stops_generation(server) -> None:
    cancelled = server.metric("s1_requests_total", outcome="cancelled")
    tokens = server.metric("s1_generated_tokens_total")
    prompt = generation_prompt("2+2?")
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(server.url + PREDICT, json={"instances": [{"prompt": prompt, "max_thinking_tokens": LONG}]}, timeout=2)
    _wait_until_idle(server, seconds=10)
    assert server.metric("s1_requests_total", outcome="cancelled") == cancelled + 1
    assert server.metric("s1_generated_tokens_total") == tokens  # the cancelled request finished nothing
