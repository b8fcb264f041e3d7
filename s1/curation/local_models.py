"""Curation roles run on a local model: prompts through the engine layer in batched sweeps.

    models = LocalModels(engine="auto")
    client = LocalModelClient(LocalModelConfig(model="local:Qwen/Qwen2.5-7B-Instruct"), models)
    for finished in client.sweeps(prompts):   # one engine.generate per sweep; cache each
        ...
    models.close()

A prompt becomes the model's own chat template applied to (system, user), as `vllm serve` does
for a chat-completions call, and the reply is decoded as that server returns `content`
(special tokens skipped; a leading `<think>` block becomes the reasoning). So a role gives the
same kind of output on a local engine as behind an endpoint, and the cache keys it the same
way: model reference, sampling settings, system prompt, prompt.

`LocalModels` holds at most one loaded engine: asking for another model shuts the current one
down first (a 32B attempt model and a 32B judge never share a node's GPUs). On vLLM two sweeps
are in flight at once, so the long tail of one (a few 32K-token attempts) overlaps the next.
"""

from __future__ import annotations

import gc
import logging
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Iterator

from s1.curation.client import ChatResult, ModelCallError, chat_messages, split_reasoning
from s1.curation.config import LocalModelConfig
from s1.generation.engine import Engine, PreparedRequest, load_engine, prepare_reply
from s1.generation.types import Generation, Sampling

log = logging.getLogger(__name__)

# Sweeps per what the engine runs at once: enough queued work that its slots stay busy.
SWEEP_FACTOR = 4


class LocalModels:
    """The one engine loaded at a time, with the run's default engine and tensor parallelism."""

    def __init__(self, engine: str = "auto", tensor_parallel_size: int | None = None) -> None:
        self.engine_name = engine
        self.tensor_parallel_size = tensor_parallel_size
        self._loaded: tuple[LocalModelConfig, Engine] | None = None
        self.loads: list[str] = []  # every model loaded, in order (the report shows it)

    def engine_for(self, config: LocalModelConfig) -> Engine:
        """The engine running `config`'s model, loading it (and freeing another) if needed.

        Roles that differ only in sampling (a 32B attempt model and the same 32B as the judge)
        share one loaded engine: sampling travels with each request.
        """
        if self._loaded is not None and _load_settings(self._loaded[0]) == _load_settings(config):
            return self._loaded[1]
        self.close()
        name = config.engine or self.engine_name
        log.info("loading local model %s (%s engine)", config.path, name)
        engine = load_engine(
            model_location(config.path), name,
            tensor_parallel_size=config.tensor_parallel_size or self.tensor_parallel_size,
            gpu_memory_utilization=config.gpu_memory_utilization,
            max_model_len=config.max_model_len, batch_size=config.batch_size,
        )
        if not getattr(engine.tokenizer, "chat_template", None):
            engine.shutdown()
            raise ValueError(f"{config.model}: the tokenizer has no chat template; curation roles "
                             "are chat (instruct) models")
        self._loaded = (config, engine)
        self.loads.append(f"{config.model} ({engine.name})")
        return engine

    def close(self) -> None:
        """Shut the loaded engine down and free its memory (GPU memory included)."""
        if self._loaded is None:
            return
        config, engine = self._loaded
        self._loaded = None
        log.info("freeing local model %s", config.path)
        engine.shutdown()
        del engine
        gc.collect()
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:
            pass


def _load_settings(config: LocalModelConfig) -> tuple:
    return (config.path, config.engine, config.tensor_parallel_size, config.gpu_memory_utilization,
            config.max_model_len, config.batch_size)


def model_location(path_or_id: str) -> str:
    """A folder; else a model `s1 models build` makes (smollm2, tiny-qwen: built once into the
    s1 cache, as training recipes' `local:NAME`); else a Hugging Face hub id."""
    from s1.models.build import BUILDERS

    if Path(path_or_id).exists() or path_or_id not in BUILDERS:
        return path_or_id
    from s1.train.run import LOCAL_MODEL_PREFIX, resolve_model

    return resolve_model(LOCAL_MODEL_PREFIX + path_or_id)


class LocalModelClient:
    """A role's model run through the engine layer; see the module docstring."""

    def __init__(self, config: LocalModelConfig, models: LocalModels) -> None:
        self.config = config
        self.model = config.model
        # What identifies the output (the engine and batching do not).
        self.settings = {"max_tokens": config.max_tokens, "temperature": config.temperature,
                         "top_p": config.top_p, "seed": config.seed}
        self._models = models

    def sweeps(self, prompts: list[str], system: str | None = None
               ) -> Iterator[list[tuple[int, ChatResult | ModelCallError]]]:
        """Each finished sweep's (prompt index, result or error), sweep by sweep."""
        try:
            engine = self._models.engine_for(self.config)
        except Exception as error:  # noqa: BLE001 - every call of the role fails; the run decides
            failure = ModelCallError(f"{self.model}: cannot load: {type(error).__name__}: {error}")
            yield [(index, failure) for index in range(len(prompts))]
            return
        sampling = Sampling(temperature=self.config.temperature, top_p=self.config.top_p,
                            seed=self.config.seed)
        size = self.config.sweep_size or max(self.config.batch_size, SWEEP_FACTOR * engine.max_running)
        planned: list[tuple[int, PreparedRequest]] = []
        unplannable: list[tuple[int, ChatResult | ModelCallError]] = []
        for index, prompt in enumerate(prompts):
            text = engine.tokenizer.apply_chat_template(
                chat_messages(prompt, system), tokenize=False, add_generation_prompt=True)
            try:
                planned.append((index, prepare_reply(engine, text, self.config.max_tokens, sampling)))
            except ValueError as error:
                unplannable.append((index, ModelCallError(f"{self.model}: {error}")))
        if unplannable:
            yield unplannable
        chunks = [planned[start:start + size] for start in range(0, len(planned), size)]
        # vLLM schedules concurrent sweeps together; transformers would only contend for the CPU.
        in_flight = 2 if engine.max_running > 1 else 1
        pool = ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="s1-sweep")
        pending: dict = {}
        try:
            for chunk in chunks:
                while len(pending) >= in_flight:
                    yield from self._finished(pending, engine)
                pending[pool.submit(engine.generate, [r for _, r in chunk])] = chunk
            while pending:
                yield from self._finished(pending, engine)
        finally:
            # On Ctrl-C or an error, do not queue more sweeps: what finished is cached already.
            pool.shutdown(wait=False, cancel_futures=True)

    def _finished(self, pending: dict, engine: Engine
                  ) -> Iterator[list[tuple[int, ChatResult | ModelCallError]]]:
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            chunk = pending.pop(future)
            try:
                generations = future.result()
            except Exception as error:  # noqa: BLE001 - the sweep's calls fail, the run decides
                failure = ModelCallError(f"{self.model} ({engine.name}): {type(error).__name__}: {error}")
                yield [(index, failure) for index, _ in chunk]
                continue
            yield [(index, reply(engine, request, generation))
                   for (index, request), generation in zip(chunk, generations)]


def reply(engine: Engine, request: PreparedRequest, generation: Generation) -> ChatResult:
    """What an OpenAI-compatible server returns for this generation: the text without special
    tokens (the stop token included), reasoning split off, `length` when the cap ended it."""
    tokens = list(generation.token_ids)
    if tokens and tokens[-1] in request.plan.stop:
        tokens.pop()
    text = engine.tokenizer.decode(tokens, skip_special_tokens=True)
    reasoning, content = split_reasoning(text)
    cut = generation.answer_tokens >= request.plan.max_answer_tokens
    return ChatResult(content=content, reasoning=reasoning, finish_reason="length" if cut else "stop")
