"""A bounded queue in front of the engine: at most `max_running` requests generate and at most
`max_queue` wait; the next one is refused at once (503) instead of being buffered until the
process runs out of memory. Waiting counts against the request's deadline."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import AsyncIterator, Callable

from s1.serving.errors import Overloaded, RequestTimeout


class Admission:
    def __init__(
        self,
        max_running: int,
        max_queue: int,
        on_change: Callable[[int, int], None] = lambda running, waiting: None,
    ):
        if max_running < 1 or max_queue < 0:
            raise ValueError(f"admission needs max_running >= 1 and max_queue >= 0, got "
                             f"{max_running} and {max_queue}")
        self.max_running = max_running
        self.max_queue = max_queue
        self._slots = asyncio.Semaphore(max_running)
        self._running = 0
        self._waiting = 0
        self._on_change = on_change  # (running, waiting), e.g. to publish gauges

    @property
    def running(self) -> int:
        return self._running

    @property
    def waiting(self) -> int:
        return self._waiting

    @asynccontextmanager
    async def slot(self, deadline: float) -> AsyncIterator[None]:
        """Hold one generation slot; `deadline` is in `loop.time()` seconds."""
        if self._running >= self.max_running and self._waiting >= self.max_queue:
            raise Overloaded(
                f"server busy: {self._running} requests generating and {self._waiting} "
                f"waiting (limit {self.max_queue}); retry later"
            )
        self._waiting += 1
        self._on_change(self._running, self._waiting)
        try:
            async with asyncio.timeout_at(deadline):
                await self._slots.acquire()
        except TimeoutError:
            raise RequestTimeout("request timed out while waiting in the queue") from None
        finally:
            self._waiting -= 1
            self._on_change(self._running, self._waiting)
        self._running += 1
        self._on_change(self._running, self._waiting)
        try:
            yield
        finally:
            self._running -= 1
            self._slots.release()
            self._on_change(self._running, self._waiting)
