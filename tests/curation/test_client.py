"""The OpenAI-compatible client against a real local HTTP server: parsing, retries, limits."""

from __future__ import annotations

import time

import pytest

from s1.curation.client import ModelCallError, OpenAIChatClient
from s1.curation.config import EndpointConfig


def _client(server, **settings) -> OpenAIChatClient:
    return OpenAIChatClient(EndpointConfig(model="m", base_url=server.base_url, retry_backoff_s=0.01,
                                           **settings))


def test_reasoning_content_and_think_blocks_are_split_from_the_answer(chat_server):
    chat_server.respond = lambda model, prompt: (
        {"reasoning": "step 1", "content": "Answer: 4"} if prompt == "a"
        else {"content": "<think>\nstep 2\n</think>\nAnswer: 5", "finish_reason": "length"})
    client = _client(chat_server)
    first, second = client.complete("a"), client.complete("b")
    assert (first.reasoning, first.content, first.finish_reason) == ("step 1", "Answer: 4", "stop")
    assert (second.reasoning, second.content, second.finish_reason) == ("step 2", "Answer: 5", "length")


def test_server_errors_and_rate_limits_are_retried(chat_server):
    replies = iter([{"status": 503}, {"status": 429, "headers": {"Retry-After": "0.05"}},
                    {"content": "ok"}])
    chat_server.respond = lambda model, prompt: next(replies)
    assert _client(chat_server).complete("q").content == "ok"
    assert len(chat_server.calls) == 3


def test_garbage_responses_fail_clearly_after_retries(chat_server):
    chat_server.respond = lambda model, prompt: {"raw": "<html>gateway</html>"}
    with pytest.raises(ModelCallError, match="gave up after 3 attempts; last: malformed response"):
        _client(chat_server, max_retries=2).complete("q")
    assert len(chat_server.calls) == 3


def test_timeouts_fail_clearly(chat_server):
    chat_server.respond = lambda model, prompt: {"sleep": 5, "content": "late"}
    with pytest.raises(ModelCallError, match="timed out after 0.2s"):
        _client(chat_server, timeout_s=0.2, max_retries=1).complete("q")
    assert len(chat_server.calls) == 2


def test_client_errors_are_not_retried(chat_server):
    chat_server.respond = lambda model, prompt: {"status": 400}
    with pytest.raises(ModelCallError, match="HTTP 400"):
        _client(chat_server).complete("q")
    assert len(chat_server.calls) == 1


def test_rate_limit_spaces_requests(chat_server):
    client = _client(chat_server, requests_per_second=20)
    start = time.monotonic()
    for index in range(6):
        client.complete(str(index))
    assert time.monotonic() - start >= 5 / 20 * 0.9
