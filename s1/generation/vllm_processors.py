"""Where a vLLM worker's budget-forcing processors report finished requests' forced waits.

s1's engine (`s1.generation.vllm_engine`) builds each result by an exact replay of the generated
ids, which needs where the forced waits started. Its requests carry a key (`REQUEST_KEY`); after
they finish, the frontend collects their wait positions from the worker in one call
(`collective_rpc(WAITS_RPC, args=([key, ...],))`), served by `BudgetForcingWorkerExtension`,
which vLLM mixes into its worker class (`worker_extension_cls=WORKER_EXTENSION`).
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from typing import Iterable, Protocol

from s1.generation.vllm_forcing import ForcedRequest

WORKER_EXTENSION = "s1.generation.vllm_processors.BudgetForcingWorkerExtension"
WAITS_RPC = "s1_budget_forcing_waits"
# Finished requests whose wait positions are kept for the frontend to collect (a few ints each;
# a frontend collects a whole batch at once, so this bounds the batch it can collect).
_KEPT_RESULTS = 65_536


class Processor(Protocol):
    def live_requests(self) -> Iterable[ForcedRequest]: ...


_PROCESSORS: weakref.WeakSet = weakref.WeakSet()
_FINISHED: OrderedDict[str, list[int]] = OrderedDict()


def register(processor: Processor) -> None:
    _PROCESSORS.add(processor)


def remember_finished(request: ForcedRequest) -> None:
    """A request left its processor: keep its wait positions for the frontend (keyed ones)."""
    if request.key is not None:
        _FINISHED[request.key] = list(request.waits)
        _FINISHED.move_to_end(request.key)
        while len(_FINISHED) > _KEPT_RESULTS:
            _FINISHED.popitem(last=False)


def waits_of(key: str) -> list[int] | None:
    """Forced wait positions of the request tagged `key`, or None. A request still held by a
    processor wins over a remembered one; of several held (a preempted request's old slot under
    Model Runner V2), the one that has seen the most tokens."""
    held = [r for p in list(_PROCESSORS) for r in p.live_requests() if r.key == key]
    if held:
        return list(max(held, key=lambda r: r.known).waits)
    return _FINISHED.pop(key, None)


class BudgetForcingWorkerExtension:
    """Mixed into vLLM's worker (`worker_extension_cls`): lets a frontend collect finished
    requests' forced wait positions in one call (`collective_rpc(WAITS_RPC, args=(keys,))`;
    one call per batch, as each call waits for a gap between engine steps)."""

    def s1_budget_forcing_waits(self, keys: list[str]) -> list[list[int] | None]:
        return [waits_of(key) for key in keys]
