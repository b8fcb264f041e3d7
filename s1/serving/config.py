"""Server settings for `s1 serve`, validated before anything is loaded."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from s1.generation.engine import ENGINE_NAMES, EngineName


@dataclass(frozen=True)
class ServingConfig:
    """What one `s1 serve` process serves and the limits it enforces per request.

    model: model folder (safetensors + tokenizer), e.g. `/mnt/models` in the KServe pod.
    name: model name in the routes (`/v1/models/<name>:predict`, OpenAI `model` field).
    engine: `vllm` or `transformers`; `auto` picks vLLM when it is installed and a GPU is
        visible (vLLM's CPU build only when asked for).
    max_thinking_tokens_limit: the largest thinking budget a request may ask for; also the
        budget of requests that do not set one, so no request thinks without bound.
    max_answer_tokens_limit: the same for the answer section (KServe `max_answer_tokens`).
    max_prompt_tokens: longest accepted prompt, in tokens.
    max_queue: requests allowed to wait for the engine; one more is answered 503 at once
        instead of piling up until memory runs out.
    max_running: requests generating at the same time (None: the engine's own limit, 1 for
        transformers on CPU, vLLM's max_num_seqs on GPU).
    request_timeout: seconds from arrival (queueing included) after which a request is
        stopped and answered 504.
    """

    model: Path
    name: str = "s1"
    host: str = "127.0.0.1"
    port: int = 8080
    engine: EngineName = "auto"
    max_thinking_tokens_limit: int = 32_768
    max_answer_tokens_limit: int = 4_096
    max_prompt_tokens: int = 8_192
    max_queue: int = 64
    max_running: int | None = None
    request_timeout: float = 600.0
    # vLLM only (None: the engine's defaults, `s1.generation.engine.load_engine`): memory fraction
    # for weights + KV cache, tensor parallel degree (default: every visible GPU), context length.
    gpu_memory_utilization: float | None = None
    tensor_parallel_size: int | None = None
    max_model_len: int | None = None

    def validate(self) -> ServingConfig:
        """Fail with one clear message per wrong setting, before the model is loaded."""
        problems = []
        if not Path(self.model).is_dir():
            problems.append(f"model folder {self.model} does not exist")
        if not self.name or "/" in self.name or ":" in self.name:
            problems.append(f"--name {self.name!r} must be non-empty without '/' or ':'")
        if not 0 < self.port < 65536:
            problems.append(f"--port {self.port} is not a TCP port")
        if self.engine not in ENGINE_NAMES:
            problems.append(f"--engine {self.engine!r} must be one of {', '.join(ENGINE_NAMES)}")
        for flag, value in (
            ("--max-thinking-tokens-limit", self.max_thinking_tokens_limit),
            ("--max-answer-tokens-limit", self.max_answer_tokens_limit),
            ("--max-prompt-tokens", self.max_prompt_tokens),
            ("--tensor-parallel-size", self.tensor_parallel_size),
            ("--max-model-len", self.max_model_len),
        ):
            if value is not None and value < 1:
                problems.append(f"{flag} must be >= 1, got {value}")
        if self.max_queue < 0:
            problems.append(f"--max-queue must be >= 0, got {self.max_queue}")
        if self.max_running is not None and self.max_running < 1:
            problems.append(f"--max-running must be >= 1, got {self.max_running}")
        if self.request_timeout <= 0:
            problems.append(f"--request-timeout must be > 0 seconds, got {self.request_timeout}")
        if self.gpu_memory_utilization is not None and not 0 < self.gpu_memory_utilization <= 1:
            problems.append("--gpu-memory-utilization must be in (0, 1]")
        if problems:
            raise ValueError("invalid serving settings: " + "; ".join(problems))
        return self
