"""What the predictor needs from a generation engine, and how `s1 serve` picks one.

Engines stream one request at a time as an async iterator of text deltas (special tokens kept)
followed by one final `Generation`. Cancelling the iterating task, or closing the iterator,
stops generation for that request before the iterator returns: that is how client disconnects
and timeouts free the engine.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from typing import AsyncIterator, Protocol

from s1.generation.types import Budget, Generation, Sampling
from s1.serving.config import ServingConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreparedRequest:
    """A validated request: the full s1 prompt, its ids, and the resolved budget."""

    prompt: str
    prompt_ids: tuple[int, ...]
    budget: Budget
    sampling: Sampling


class Engine(Protocol):
    tokenizer: object  # a Hugging Face tokenizer: budgets are planned with it
    context_window: int  # prompt + generation, tokens
    max_running: int  # requests it generates at once

    def stream(self, request: PreparedRequest) -> AsyncIterator[str | Generation]: ...

    def shutdown(self) -> None: ...


def vllm_available() -> bool:
    if importlib.util.find_spec("vllm") is None:
        return False
    import torch

    return torch.cuda.is_available()


def load_engine(config: ServingConfig) -> Engine:
    """vLLM on a GPU image, transformers otherwise (or as `config.engine` demands)."""
    name = config.engine
    if name == "auto":
        name = "vllm" if vllm_available() else "transformers"
    log.info("loading %s with the %s engine", config.model, name)
    if name == "vllm":
        from s1.serving.vllm_engine import VLLMEngine

        return VLLMEngine(config)
    from s1.serving.transformers_engine import TransformersEngine

    return TransformersEngine(config)
