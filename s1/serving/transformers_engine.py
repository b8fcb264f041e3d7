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

from s1.generation import api
from s1.generation.types import Generation
from s1.serving.config import ServingConfig
from s1.serving.engine import PreparedRequest


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
            items = api.stream(self.model, self.tokenizer, request.prompt, request.budget, request.sampling)
            try:
                for item in items:
                    if stop.is_set():
                        break
                    put(item)
            except BaseException as error:  # handed to the request, raised there
                put(_Failed(error))
            finally:
                items.close()  # ends the generation if it is still running
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
