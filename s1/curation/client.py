"""The one model-client interface curation uses, and its OpenAI-compatible implementation.

Every model call (teacher traces, difficulty attempts, grading, domain classification) goes
through `ModelClient.complete(prompt, system)`, so tests point curation at a local HTTP server and
users at vLLM (`vllm serve ... --reasoning-parser deepseek_r1`) or any hosted OpenAI-compatible
API. A model run in this process instead answers whole sweeps of prompts
(`s1.curation.local_models`, the `BatchModelClient` protocol).
The implementation retries transport errors, timeouts, 408/409/429/5xx and malformed responses
with exponential backoff and jitter (honouring Retry-After), and paces requests to a rate limit.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import threading
import time
from dataclasses import dataclass
from typing import Iterator, Protocol

from s1.curation.config import EndpointConfig

log = logging.getLogger(__name__)

RETRYABLE_STATUS = {408, 409, 429, 500, 502, 503, 504}
MAX_BACKOFF_S = 60.0
_THINK = re.compile(r"^\s*<think>(.*?)</think>\s*(.*)$", re.DOTALL)


@dataclass(frozen=True)
class ChatResult:
    """A finished call: the answer text, the separate reasoning if the API returned one."""

    content: str
    reasoning: str | None = None
    finish_reason: str | None = None

    def as_dict(self) -> dict:
        return {"content": self.content, "reasoning": self.reasoning,
                "finish_reason": self.finish_reason}

    @classmethod
    def from_dict(cls, values: dict) -> "ChatResult":
        return cls(values["content"], values.get("reasoning"), values.get("finish_reason"))


class ModelCallError(RuntimeError):
    """A call that failed for good (after retries); the message says what the endpoint did."""


class ModelClient(Protocol):
    """What curation needs from a model: one prompt (and optional system prompt) in, one result
    out.

    `model` and `settings` identify the output for caching (same model, prompts and settings,
    same result); `concurrency` is how many calls may be in flight at once.
    """

    model: str
    settings: dict
    concurrency: int

    def complete(self, prompt: str, system: str | None = None) -> ChatResult:
        """Send one user prompt; raise ModelCallError when the call cannot succeed."""
        ...


class BatchModelClient(Protocol):
    """A model that answers many prompts per call (a local engine's batched sweep).

    `sweeps` yields, per finished sweep, (prompt index, result or ModelCallError) pairs, so each
    sweep can be cached before the next one finishes.
    """

    model: str
    settings: dict

    def sweeps(self, prompts: list[str], system: str | None = None
               ) -> Iterator[list[tuple[int, ChatResult | ModelCallError]]]: ...


class RateLimiter:
    """Spaces calls at least 1/rate seconds apart across threads (None: no limit)."""

    def __init__(self, requests_per_second: float | None) -> None:
        self._interval = 1.0 / requests_per_second if requests_per_second else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self._interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self._interval
        if slot > now:
            time.sleep(slot - now)


class OpenAIChatClient:
    """Chat completions over HTTP (httpx) against an OpenAI-compatible `base_url`."""

    def __init__(self, endpoint: EndpointConfig) -> None:
        import httpx

        self.endpoint = endpoint
        self.model = endpoint.model
        self.settings = {"max_tokens": endpoint.max_tokens, "temperature": endpoint.temperature}
        self.concurrency = endpoint.concurrency
        self._limiter = RateLimiter(endpoint.requests_per_second)
        headers = {}
        key = os.environ.get(endpoint.api_key_env) if endpoint.api_key_env else None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._http = httpx.Client(
            base_url=endpoint.base_url.rstrip("/"), headers=headers,
            timeout=httpx.Timeout(endpoint.timeout_s, connect=min(endpoint.timeout_s, 30.0)),
            limits=httpx.Limits(max_connections=endpoint.concurrency),
        )

    def close(self) -> None:
        self._http.close()

    def complete(self, prompt: str, system: str | None = None) -> ChatResult:
        import httpx

        body = {"model": self.model, "messages": chat_messages(prompt, system), **self.settings}
        last_error, retry_after = "", None
        for attempt in range(self.endpoint.max_retries + 1):
            if attempt:
                self._sleep_before_retry(attempt, last_error, retry_after)
                retry_after = None
            self._limiter.wait()
            try:
                response = self._http.post("/chat/completions", json=body)
            except httpx.TimeoutException as error:
                last_error = f"timed out after {self.endpoint.timeout_s:g}s ({type(error).__name__})"
                continue
            except httpx.TransportError as error:
                last_error = f"transport error: {type(error).__name__}: {error}"
                continue
            if response.status_code in RETRYABLE_STATUS:
                last_error = f"HTTP {response.status_code}: {response.text[:200]}"
                retry_after = _retry_after(response)
                continue
            if response.status_code != 200:
                raise ModelCallError(f"{self.model} at {self.endpoint.base_url}: HTTP "
                                     f"{response.status_code}: {response.text[:300]}")
            try:
                return parse_chat_response(response.json())
            except (ValueError, KeyError, IndexError, TypeError) as error:
                last_error = f"malformed response ({error}): {response.text[:200]!r}"
        raise ModelCallError(f"{self.model} at {self.endpoint.base_url}: gave up after "
                             f"{self.endpoint.max_retries + 1} attempts; last: {last_error}")

    def _sleep_before_retry(self, attempt: int, last_error: str, retry_after: float | None) -> None:
        delay = min(MAX_BACKOFF_S, self.endpoint.retry_backoff_s * 2 ** (attempt - 1))
        delay *= random.uniform(0.5, 1.0)  # jitter: retries of many threads do not align
        if retry_after is not None:
            delay = max(delay, min(retry_after, MAX_BACKOFF_S))
        log.debug("%s: retry %d in %.2fs after %s", self.model, attempt, delay, last_error)
        time.sleep(delay)


def _retry_after(response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def chat_messages(prompt: str, system: str | None = None) -> list[dict[str, str]]:
    """The chat turns of one call: an optional system prompt, then the user prompt."""
    return ([{"role": "system", "content": system}] if system is not None else []) + [
        {"role": "user", "content": prompt}]


def split_reasoning(content: str) -> tuple[str | None, str]:
    """(reasoning, answer) of a reply that opens with a `<think>...</think>` block (DeepSeek-R1
    and its distills without a reasoning parser); (None, content) otherwise."""
    found = _THINK.match(content)
    return (found.group(1).strip(), found.group(2)) if found else (None, content)


def parse_chat_response(payload: dict) -> ChatResult:
    """OpenAI chat-completions JSON -> ChatResult; raises ValueError on anything else.

    Reasoning comes from `reasoning_content` (vLLM's reasoning parsers, DeepSeek's API),
    `reasoning` (newer vLLM), or a leading `<think>...</think>` block in the content.
    """
    if not isinstance(payload, dict) or "choices" not in payload:
        raise ValueError(f"no `choices` in response: {json.dumps(payload)[:200]}")
    choice = payload["choices"][0]
    message = choice["message"]
    content = message.get("content")
    if content is None:
        content = ""
    if not isinstance(content, str):
        raise ValueError(f"message content is {type(content).__name__}, not a string")
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if reasoning is None:
        reasoning, content = split_reasoning(content)
    if reasoning is not None and not isinstance(reasoning, str):
        raise ValueError(f"reasoning is {type(reasoning).__name__}, not a string")
    return ChatResult(content=content, reasoning=reasoning, finish_reason=choice.get("finish_reason"))
