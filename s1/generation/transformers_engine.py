"""The transformers engine (CPU, tests, the local pipeline): one `generate` call per batch.

`generate` batches consecutive requests that share their sampling settings (a `generate` call
has one random generator); budgets may differ per request. `stream` runs the library's
`stream_planned` in a worker thread, one request at a time (a CPU has no spare compute for a
second one); the event loop only waits on a queue, so a server stays responsive meanwhile.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from itertools import groupby
from pathlib import Path
from typing import AsyncIterator, Sequence

from s1.generation import api
from s1.generation.streams import STREAM_END, EngineStopped, StreamFailed, relay
from s1.generation.types import Generation, PreparedRequest, TokenLogprob

# How long shutdown() waits for the running generation to notice its stop flag (one decoding
# step, well under a second on CPU; a Kubernetes pod gets 30 s from SIGTERM to SIGKILL).
SHUTDOWN_GRACE_S = 10.0


class TransformersEngine:
    name = "transformers"
    max_running = 1

    def __init__(self, model: str | Path, batch_size: int = 8):
        self.model, self.tokenizer = api.load_model(model)
        self.context_window = api.context_window(self.model)
        self.batch_size = batch_size
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="s1-generate")
        self._stopping = threading.Event()
        self._running: dict[Future, threading.Event] = {}  # generation -> its stop flag

    def generate(self, requests: Sequence[PreparedRequest]) -> list[Generation]:
        results: list[Generation] = []
        for sampling, group in groupby(requests, key=lambda request: request.sampling):
            group = list(group)
            results.extend(api.generate_planned(
                self.model, self.tokenizer, [r.prompt for r in group], [r.prompt_ids for r in group],
                [r.plan for r in group], sampling, self.batch_size,
            ))
        return results

    async def stream(self, request: PreparedRequest) -> AsyncIterator[str | TokenLogprob | Generation]:
        if self._stopping.is_set():
            raise EngineStopped("the engine is shutting down")
        loop = asyncio.get_running_loop()
        events: asyncio.Queue = asyncio.Queue()
        stop = threading.Event()

        def put(item: object) -> None:
            if not loop.is_closed():
                loop.call_soon_threadsafe(events.put_nowait, item)

        def work() -> None:
            items = api.stream_planned(self.model, self.tokenizer, request.prompt, request.prompt_ids,
                                       request.plan, request.sampling, stop)
            finished = False
            try:
                for item in items:
                    if stop.is_set():
                        break
                    finished = isinstance(item, Generation)
                    put(item)
            except BaseException as error:  # handed to the request, raised there
                put(StreamFailed(error))
            finally:
                items.close()  # ends the generation if it is still running
                stopped = self._stopping.is_set() and not finished
                put(StreamFailed(EngineStopped("the engine shut down during this request")) if stopped else STREAM_END)

        future = self._worker.submit(work)
        self._running[future] = stop
        future.add_done_callback(lambda f: self._running.pop(f, None))
        done = asyncio.wrap_future(future)
        try:
            async for item in relay(events):
                yield item
        finally:
            stop.set()
            # The slot is free only once the thread has really stopped generating.
            await asyncio.shield(done)

    def shutdown(self) -> None:
        """Stop the running generation (its request raises `EngineStopped`) and the worker."""
        self._stopping.set()
        running = dict(self._running)
        for stop in running.values():
            stop.set()
        self._worker.shutdown(wait=False, cancel_futures=True)
        wait(running, timeout=SHUTDOWN_GRACE_S)
