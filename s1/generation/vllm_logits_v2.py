"""s1 budget forcing under vLLM's Model Runner V2 (CUDA's default in 0.32): its logits-processor
interface, adapted to `vllm_forcing`.

What Model Runner V2 does that shapes this adapter (vllm/v1/worker/gpu/model_runner.py,
states.py, sample/sampler.py, sample/logits_processor/interface.py at 0.32):
- A request lives in a slot (`req_idx`) of the runner's `RequestState`; slots are recycled
  (last freed, first reused) and the processor hears only `add_request(slot, params)`: no removal.
  A slot's previous occupant (finished, aborted or preempted) is retired when the slot is reused.
- `add_request` runs before the runner writes the request's tokens to the device;
  `apply_staged_writes` runs once per step after that write and before the forward pass: there
  the prompt (and a resumed request's tokens) is read, once.
- Token history is on the device: `req_states.all_token_ids[slot, :total_len[slot]]`, prompt
  first (`prompt_len`). The runner appends each sampled token there after sampling, in stream
  order before the next step's forward pass, while the host learns it a step later (asynchronous
  scheduling). So `apply` reads the tokens a request kept since its last step from the device
  (one copy for the batch), up to `ctx.seq_lens_upper_bound_np` (exact without speculative
  decoding), and feeds only what `total_len` says is committed.
- `apply` runs for the whole batch (rows in `ctx.idx_mapping_np` order, one row per request
  without speculative decoding) when any request's `add_request` returned True, including rows
  midway through a chunked prefill (their token is discarded; `vllm_forcing` decides without
  changing state). Requests without budget fields return False and are not touched.
- Preemption frees the slot and later adds the request again, in any slot, with the tokens it
  kept (`prefill_len > prompt_len`), as a new request whose `SamplingParams` may be a fresh copy
  (tensor-parallel workers get the scheduler's output serialised). Its forced wait positions and
  seed are found among the retired and live requests with the same key, prompt and plan whose
  tokens agree with the resumed ones, so the replay is exact.
"""

from __future__ import annotations

import logging
from array import array
from collections import OrderedDict
from typing import Sequence

import torch
from vllm.v1.worker.gpu.sample.logits_processor import LogitsContext, LogitsProcessor, LogitsProcRequestState

from s1.generation.budget_forcing import ForcingPlan
from s1.generation.vllm_forcing import (
    REQUEST_KEY,
    ForcedRequest,
    RequestPlanner,
    force_rows,
    is_forced,
    mix,
    validate_request,
)
from s1.generation.vllm_processors import register, remember_finished

log = logging.getLogger(__name__)

# Retired requests kept for a resumption, bounded by the tokens they hold (4 bytes each).
_RETIRED_TOKENS = 4_000_000


class _SlotRequest(ForcedRequest):
    """A forced request in a slot; `identity` is what a resumed copy of it must share."""

    def __init__(self, plan: ForcingPlan, params, seed: int, prompt: Sequence[int]):
        key = (params.extra_args or {}).get(REQUEST_KEY)
        super().__init__(plan, params, seed, key=key)
        self.prompt_len = len(prompt)
        self.identity = (key, hash(tuple(prompt)), plan)


class _Retired:
    """What a resumed request needs from its earlier self: tokens fed, waits, seed, decision."""

    def __init__(self, request: ForcedRequest):
        self.tokens = array("i", request.forcer.tokens)
        self.waits = list(request.waits)
        self.seed = request.seed
        self.decision = request.decision


class ModelRunnerV2BudgetForcing(LogitsProcessor):
    """Model Runner V2's interface: state per slot, history read from the device."""

    validate_params = classmethod(lambda cls, params: validate_request(params))

    def __init__(self, vllm_config, req_states: LogitsProcRequestState):
        if vllm_config is not None and vllm_config.speculative_config is not None:
            raise ValueError("s1 budget forcing does not support speculative decoding: drafted "
                             "tokens would bypass the forced ones")
        self.req_states = req_states
        self.planner = RequestPlanner(vllm_config)
        self.slots: dict[int, _SlotRequest] = {}
        self.added: dict[int, tuple[ForcingPlan, object, int]] = {}  # slot -> plan, params, arrival
        self.retired: OrderedDict[tuple, list[_Retired]] = OrderedDict()
        self.retired_tokens = 0
        self.arrivals = 0
        register(self)

    def add_request(self, req_idx: int, sampling_params) -> bool:
        self._retire(req_idx)
        if not is_forced(sampling_params):
            return False
        plan = self.planner.plan(sampling_params, int(self.req_states.prompt_len.np[req_idx]))
        if plan is None:
            return False
        self.arrivals += 1
        self.added[req_idx] = (plan, sampling_params, self.arrivals)
        return True

    def apply_staged_writes(self) -> None:
        """Start the requests added this step: their prompts (and kept tokens) are on the device."""
        if not self.added:
            return
        slots = list(self.added)
        lengths = [int(self.req_states.prefill_len.np[slot]) for slot in slots]
        histories = self._read([(slot, 0, length) for slot, length in zip(slots, lengths)])
        for slot, history in zip(slots, histories):
            plan, params, arrival = self.added.pop(slot)
            prompt_len = int(self.req_states.prompt_len.np[slot])
            prompt = history[:prompt_len]
            request = _SlotRequest(plan, params, mix(arrival, *prompt), prompt)
            if len(history) > prompt_len:
                self._resume(request, history[prompt_len:])
            self.slots[slot] = request

    def apply(self, logits: torch.Tensor, ctx: LogitsContext) -> torch.Tensor:
        self.apply_staged_writes()  # a no-op unless the runner skipped it this step
        batch = ctx.idx_mapping_np.tolist()
        if logits.shape[0] != len(batch):
            raise RuntimeError("s1 budget forcing expects one logits row per request (no speculative decoding)")
        rows, reads, readers = [], [], []
        for row, slot in enumerate(batch):
            request = self.slots.get(slot)
            if request is None:
                continue
            rows.append((row, request))
            visible = int(ctx.seq_lens_upper_bound_np[row])  # tokens before the one sampled now
            start = request.prompt_len + request.known
            if visible > start:
                reads.append((slot, start, visible))
                readers.append(request)
        if not rows:
            return logits
        for request, tokens in zip(readers, self._read(reads)):
            request.extend(tokens)
        force_rows(logits, rows)
        return logits

    def live_requests(self):
        return self.slots.values()

    def _read(self, segments: list[tuple[int, int, int]]) -> list[list[int]]:
        """Committed tokens `all_token_ids[slot, start:stop]` (cut at `total_len`) for each
        segment, in one device-to-host copy."""
        if not segments:
            return []
        tokens, totals = self.req_states.all_token_ids.gpu, self.req_states.total_len.gpu
        parts = [totals[slot:slot + 1] for slot, _, _ in segments]
        parts += [tokens[slot, start:stop] for slot, start, stop in segments]
        flat = torch.cat(parts).tolist()
        found, offset = [], len(segments)
        for (slot, start, stop), total in zip(segments, flat):
            if total < stop:
                log.warning("slot %d: %d tokens visible to the step, %d committed: forcing on the "
                            "committed ones", slot, stop, total)
            found.append(flat[offset:offset + max(0, min(stop, total) - start)])
            offset += stop - start
        return found

    def _retire(self, slot: int) -> None:
        """The slot's previous occupant has left (finished, aborted or preempted)."""
        self.added.pop(slot, None)
        request = self.slots.pop(slot, None)
        if request is None:
            return
        remember_finished(request)
        if request.forcer.done:
            return
        self.retired.setdefault(request.identity, []).append(_Retired(request))
        self.retired.move_to_end(request.identity)
        self.retired_tokens += request.known
        while self.retired_tokens > _RETIRED_TOKENS and self.retired:
            _, dropped = self.retired.popitem(last=False)
            self.retired_tokens -= sum(len(r.tokens) for r in dropped)

    def _resume(self, request: _SlotRequest, kept: list[int]) -> None:
        """Rebuild a resumed request from its earlier self whose tokens agree with `kept`."""
        candidates = [(r, True) for r in self.retired.get(request.identity, [])]
        candidates += [(_Retired(r), False) for r in self.slots.values() if r.identity == request.identity]
        best, best_common, best_stashed = None, -1, False
        for candidate, stashed in candidates:
            common = min(len(candidate.tokens), len(kept))
            if common > best_common and list(candidate.tokens[:common]) == kept[:common]:
                best, best_common, best_stashed = candidate, common, stashed
        if best is None:
            log.warning("a resumed request's forced waits are unknown: its 'Wait's count as the model's own")
            request.restart(kept)
            return
        if best_stashed:
            self.retired[request.identity].remove(best)
            self.retired_tokens -= len(best.tokens)
        request.seed = best.seed
        request.waits[:] = best.waits
        try:
            request.restart(kept[:best_common])
        except ValueError as error:  # a candidate whose waits do not fit these tokens
            log.warning("a resumed request's forced waits do not match its tokens (%s)", error)
            request.waits.clear()
            request.restart(kept)
            return
        if best_common == len(best.tokens):
            request.decision = best.decision
        request.extend(kept[best_common:])
