"""s1 budget forcing under vLLM's old model runner (its CPU build; CUDA with
`VLLM_USE_V2_MODEL_RUNNER=0`): the old logits-processor interface, adapted to `vllm_forcing`.

What the old runner does that shapes this adapter (vllm/v1/worker/gpu_model_runner.py,
gpu_input_batch.py, v1/sample/logits_processor/interface.py at 0.32):
- `update_state(batch_update)` says which rows were added (with vLLM's live list of the
  request's output ids, which grows by the tokens vLLM keeps and may shrink), removed, or moved
  (condensing, swaps); `apply(logits)` then sees one row per request.
- With asynchronous scheduling (GPU only) the output list holds placeholders (-1) for the step
  in flight during `update_state`; vLLM fills in the real ids before sampling when processors
  are given with `--logits-processors` (not for entry-point ones), so `apply` reads the history.
- A preempted (or merely unscheduled) request is removed and later added again with the tokens
  it has; its forced wait positions, derived seed and the decision for its last sampled token
  (removed before that token was fed) live in its own `extra_args`, which vLLM keeps with the
  request, so the replay is exact.
"""

from __future__ import annotations

import torch
from vllm.v1.sample.logits_processor import BatchUpdate, LogitsProcessor, MoveDirectionality

from s1.generation.vllm_forcing import (
    DECISION_KEY,
    REQUEST_KEY,
    SEED_KEY,
    WAITS_KEY,
    ForcedRequest,
    RequestPlanner,
    force_rows,
    is_forced,
    mix,
    validate_request,
)
from s1.generation.vllm_processors import register, remember_finished


class _OldRunnerRequest(ForcedRequest):
    """A forced request and vLLM's live list of its output ids."""

    def __init__(self, plan, params, output_ids: list[int], seed: int):
        self.extra = extra = params.extra_args
        decision = extra.pop(DECISION_KEY, None)
        super().__init__(plan, params, extra.setdefault(SEED_KEY, seed), extra.setdefault(WAITS_KEY, []),
                         extra.get(REQUEST_KEY), _kept(output_ids), None if decision is None else tuple(decision))
        self.output_ids = output_ids

    def leave(self) -> None:
        """The request leaves the batch (finished, preempted or unscheduled)."""
        if self.decision is not None:
            self.extra[DECISION_KEY] = list(self.decision)
        remember_finished(self)

    def catch_up(self) -> None:
        """Feed the tokens vLLM kept since the last call; only the new tail is read, so a step
        costs the same at token 10 and at token 16,000."""
        if len(self.output_ids) < self.known:  # vLLM discarded tokens
            self.restart(_kept(self.output_ids))
        else:
            self.extend(self.output_ids[self.known:])


def _kept(tokens: list[int]) -> list[int]:
    """The tokens vLLM has committed: everything before the first async placeholder (-1)."""
    try:
        return tokens[:tokens.index(-1)]
    except ValueError:
        return tokens


class OldRunnerBudgetForcing(LogitsProcessor):
    """The old interface: rows are batch indices, state arrives through `BatchUpdate`."""

    validate_params = classmethod(lambda cls, params: validate_request(params))

    def __init__(self, vllm_config, device: torch.device, is_pin_memory: bool):
        self.requests: dict[int, _OldRunnerRequest] = {}
        self.planner = RequestPlanner(vllm_config)
        self.arrivals = 0
        register(self)

    def is_argmax_invariant(self) -> bool:
        """Forcing tokens changes greedy results too."""
        return False

    def update_state(self, batch_update: BatchUpdate | None) -> None:
        if batch_update is not None:
            for index in batch_update.removed:
                self._remove(index)
            for index, params, prompt_ids, output_ids in batch_update.added:
                self._remove(index)
                if is_forced(params):
                    self._add(index, params, prompt_ids, output_ids)
            for source, target, direction in batch_update.moved:
                moving = self.requests.pop(source, None)
                if direction == MoveDirectionality.SWAP:
                    displaced = self.requests.pop(target, None)
                    if displaced is not None:
                        self.requests[source] = displaced
                else:  # condensing: the request in `target` has left the batch
                    self._remove(target)
                if moving is not None:
                    self.requests[target] = moving
        for request in self.requests.values():
            request.catch_up()

    def apply(self, logits: torch.Tensor) -> torch.Tensor:
        if self.requests:
            for request in self.requests.values():
                request.catch_up()  # async scheduling: the real ids are in place by now
            force_rows(logits, list(self.requests.items()))
        return logits

    def live_requests(self):
        return self.requests.values()

    def _add(self, index: int, params, prompt_ids: list[int] | None, output_ids: list[int]) -> None:
        if WAITS_KEY not in (params.extra_args or {}):
            # Copies of one request's params (n > 1) share their extra_args dict: give this one
            # its own before the wait positions go into it.
            params.extra_args = dict(params.extra_args)
        plan = self.planner.plan(params, None if prompt_ids is None else len(prompt_ids))
        if plan is not None:
            self.arrivals += 1
            seed = mix(self.arrivals, *(prompt_ids or ()))
            self.requests[index] = _OldRunnerRequest(plan, params, output_ids, seed)

    def _remove(self, index: int) -> None:
        request = self.requests.pop(index, None)
        if request is not None:
            request.leave()
