"""SIGTERM (what Kubernetes sends on every rollout) with a long generation in flight: the request
is answered 503 at once and the server process exits within its grace period."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from .conftest import start_server

pytestmark = pytest.mark.slow


def sigterm_mid_generation(server, model_name: str, long_budget: int) -> tuple[httpx.Response, float]:
    """Start a request that would generate for minutes, SIGTERM the server once it runs; return
    the request's response and how long the process took to exit after the signal. The thinking
    may not end before `long_budget` (its early ends become "Wait"), so a model that would answer
    "2+2?" in a second is still generating when the signal comes."""
    responses: list[httpx.Response] = []
    body = {"model": model_name, "messages": [{"role": "user", "content": "2+2?"}],
            "max_thinking_tokens": long_budget, "min_thinking_tokens": long_budget}
    client = threading.Thread(target=lambda: responses.append(
        httpx.post(f"{server.url}/openai/v1/chat/completions", json=body, timeout=120)))
    client.start()
    deadline = time.monotonic() + 60
    while server.metric("s1_requests_running") < 1:
        assert time.monotonic() < deadline, "the request never started"
        time.sleep(0.2)
    time.sleep(1)
    signalled = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    client.join(60)
    server.process.wait(60)
    return responses[0], time.monotonic() - signalled


def test_sigterm_stops_generation_and_the_server_exits(tiny_qwen_dir: Path, tmp_path: Path) -> None:
    for server in start_server(tiny_qwen_dir, tmp_path, "--max-thinking-tokens-limit", "30000"):
        response, exit_after = sigterm_mid_generation(server, "s1", 30_000)
        assert response.status_code == 503, response.text
        assert "shutting down" in response.json()["error"]["message"]
        assert exit_after < 15 and server.process.returncode is not None
