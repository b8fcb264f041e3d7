"""CPU engine (tests, local demo): the generation library's `stream` in a worker thread.

One request generates at a time (a CPU has no spare compute for a second one); the event loop
only ever waits on a queue, so health checks and other requests are answered meanwhile.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import AsyncIterator

import torch
from transformers import StoppingCriteria, StoppingCriteriaList

from s1.generation import api
from s1.generation.types import Generation
from s1.serving.config import ServingConfig
from s1.serving.engine import PreparedRequest


class _StopWhenSet(StoppingCriteria):
    def __init__(self, stop: threading.Event):
        self.stop = stop

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs) -> torch.BoolTensor:
        return torch.full((input_ids.shape[0],), self.stop.is_set(), dtype=torch.bool)


class _Stoppable:
    """The model, with `generate` also stopping once `stop` is set.

    transformers' only way to end a running `generate` early is a stopping criterion, and
    `api.stream` builds the `generate` call itself; this adapter adds one without touching it.
    """

    def __init__(self, model, stop: threading.Event):
        self._model = model
        self._stop = stop

    def __getattr__(self, name: str):
        return getattr(self._model, name)

    def generate(self, *args, stopping_criteria=None, **kwargs):
        criteria = StoppingCriteriaList(stopping_criteria or [])
        criteria.append(_StopWhenSet(self._stop))
        return self._model.generate(*args, stopping_criteria=criteria, **kwargs)


@dataclass(frozen=True)
class _Failed:
    error: BaseException


_END = object()


class TransformersEngine:
    max_running = 1

    def __init__(self, config: ServingConfig):
        self.model, self.tokenizer = api.load_model(config.model)
        self.context_window = api.context_window(self.model)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="s1-generate")

    async def stream(self, request: PreparedRequest) -> AsyncIterator[str | Generation]:
        loop = asyncio.get_running_loop()
        events: asyncio.Queue = asyncio.Queue()
        stop = threading.Event()

        def put(item: object) -> None:
            if not loop.is_closed():
                loop.call_soon_threadsafe(events.put_nowait, item)

        def work() -> None:
            model = _Stoppable(self.model, stop)
            items = api.stream(model, self.tokenizer, request.prompt, request.budget, request.sampling)
            try:
                for item in items:
                    if stop.is_set():
                        break
                    put(item)
            except BaseException as error:  # handed to the request, raised there
                put(_Failed(error))
            finally:
                items.close()
                put(_END)

        done = loop.run_in_executor(self._worker, work)
        try:
            while (item := await events.get()) is not _END:
                if isinstance(item, _Failed):
                    raise item.error
                yield item
        finally:
            stop.set()
            # The slot is free only once the thread has really stopped generating.
            await asyncio.shield(done)

    def shutdown(self) -> None:
        self._worker.shutdown(wait=False, cancel_futures=True)
