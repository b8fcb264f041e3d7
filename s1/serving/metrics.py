"""Prometheus metrics of the s1 predictor, exposed on KServe's `/metrics` beside its own."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "s1_requests_total",
    "Generation requests by outcome (ok, invalid, overloaded, timeout, cancelled, error).",
    ["model", "outcome"],
)
RUNNING = Gauge("s1_requests_running", "Requests generating now.", ["model"])
QUEUED = Gauge("s1_requests_queued", "Requests waiting for a generation slot.", ["model"])
GENERATED_TOKENS = Counter(
    "s1_generated_tokens_total", "Tokens generated (thinking and answer).", ["model"]
)
THINKING_TOKENS = Histogram(
    "s1_thinking_tokens",
    "Thinking tokens per finished sample.",
    ["model"],
    buckets=(64, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768),
)
WAITS = Counter("s1_waits_total", "End-of-thinking attempts replaced by the ignore string.", ["model"])
CAPPED = Counter("s1_thinking_capped_total", "Samples whose thinking hit the cap.", ["model"])
