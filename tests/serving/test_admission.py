"""The bounded queue: a fixed number generate, a fixed number wait, the rest are refused."""

from __future__ import annotations

import asyncio

import pytest

from s1.serving.admission import Admission
from s1.serving.errors import Overloaded, RequestTimeout


def test_running_waiting_and_refused() -> None:
    async def scenario() -> list[str]:
        seen: list[tuple[int, int]] = []
        admission = Admission(max_running=1, max_queue=1, on_change=lambda r, w: seen.append((r, w)))
        release = asyncio.Event()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5

        async def request(name: str) -> str:
            async with admission.slot(deadline):
                await release.wait()
            return name

        first = asyncio.create_task(request("first"))
        second = asyncio.create_task(request("second"))
        await asyncio.sleep(0.01)
        assert (admission.running, admission.waiting) == (1, 1)
        with pytest.raises(Overloaded, match="1 requests generating and 1 waiting"):
            await request("third")
        release.set()
        done = [await first, await second]
        assert (admission.running, admission.waiting) == (0, 0) and seen[-1] == (0, 0)
        return done

    assert asyncio.run(scenario()) == ["first", "second"]


def test_waiting_counts_against_the_deadline() -> None:
    async def scenario() -> None:
        admission = Admission(max_running=1, max_queue=4)
        loop = asyncio.get_running_loop()
        async with admission.slot(loop.time() + 5):
            with pytest.raises(RequestTimeout, match="waiting in the queue"):
                async with admission.slot(loop.time() + 0.05):
                    pass
            assert admission.waiting == 0

    asyncio.run(scenario())
