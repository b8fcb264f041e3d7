"""How an engine hands a request's stream from the thread or event loop generating it to the
caller's event loop, and how it says it stopped (shared by every engine)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import AsyncIterator

from s1.generation.types import Generation


class EngineStopped(RuntimeError):
    """The engine was shut down while this request was generating."""


@dataclass(frozen=True)
class StreamFailed:
    """Put on a stream's queue by the thread or loop generating it: raise `error` in the reader."""

    error: BaseException


STREAM_END = object()  # the last item a generating thread or loop puts on a stream's queue


async def relay(items: asyncio.Queue) -> AsyncIterator[str | Generation]:
    """Yield what another thread or event loop puts on `items` until `STREAM_END`."""
    while (item := await items.get()) is not STREAM_END:
        if isinstance(item, StreamFailed):
            raise item.error
        yield item
