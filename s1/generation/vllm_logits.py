"""Single-pass budget forcing on vLLM: a v1 logits processor driving one `BudgetForcer` per request.

Usage (needs `pip install 's1-kubeflow[vllm]'` on a GPU machine):

    from vllm import LLM, SamplingParams
    from s1.generation.vllm_logits import BudgetForcingLogitsProcessor, sampling_params
    llm = LLM("simplescaling/s1-32B", logits_processors=[BudgetForcingLogitsProcessor])
    outputs = llm.generate(prompts, [sampling_params(plan, temperature=0.0) for plan in plans])

    vllm serve MODEL --logits-processors s1.generation.vllm_logits:BudgetForcingLogitsProcessor
    # per request: {"vllm_xargs": {"s1_budget_forcing": json.dumps(plan.to_dict())}}
    # (the OpenAI server's vllm_xargs takes flat string/number values, hence a JSON string)

The plan (token ids and limits, from `budget_forcing.plan_for`) travels in
`SamplingParams.extra_args["s1_budget_forcing"]`, so the processor needs no tokenizer and
requests without it are untouched. vLLM applies processors that are not argmax-invariant before
temperature/top-k/top-p and the penalties, so for sampled requests the early-end coin recomputes
the request's temperature, top-k and top-p itself (`min_p` and penalties are not reflected in the
coin; forced tokens are unaffected by them).

Per step vLLM appends each request's new token to the `output_tok_ids` list it handed over in
`BatchUpdate.added` and then calls `update_state`; the processor feeds the new tokens to that
request's state machine. Asynchronous scheduling writes placeholder ids (-1) there, which would
leave the state one token behind, so it is refused with a clear error.
"""

from __future__ import annotations

import json

import torch
from vllm import SamplingParams
from vllm.v1.sample.logits_processor import BatchUpdate, LogitsProcessor, MoveDirectionality

from s1.generation.budget_forcing import BudgetForcer, ForcingPlan
from s1.generation.logits import apply_budget_forcing, greedy_chooser

EXTRA_ARGS_KEY = "s1_budget_forcing"
# vLLM treats temperatures below this as greedy.
_GREEDY_EPSILON = 1e-5


def sampling_params(plan: ForcingPlan, **kwargs) -> SamplingParams:
    """SamplingParams for one budget-forced request: room for the whole plan, special tokens
    kept in the text (the think/answer delimiters), stop on the turn's end."""
    return SamplingParams(
        max_tokens=plan.max_new_tokens,
        stop_token_ids=list(plan.stop),
        skip_special_tokens=False,
        extra_args={EXTRA_ARGS_KEY: plan.to_dict()},
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


class _Request:
    """One request's state machine, the engine's live output list, and its sampler settings."""

    def __init__(self, params: SamplingParams, output_ids: list[int]):
        self.plan = plan_from_extra_args(params.extra_args)
        self.output_ids = output_ids
        self.forcer = BudgetForcer.replay(self.plan, _checked(output_ids))  # resumed: replay
        self.temperature = params.temperature
        self.top_k = params.top_k
        self.top_p = params.top_p
        self.generator = torch.Generator()
        if params.seed is not None:
            self.generator.manual_seed(params.seed)
        else:
            self.generator.seed()

    def catch_up(self) -> None:
        """Feed the tokens vLLM appended since the last step."""
        new = self.output_ids[len(self.forcer.tokens):]
        for token in _checked(new):
            if self.forcer.done:
                break
            self.forcer.feed(token)

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


def _checked(tokens: list[int]) -> list[int]:
    if -1 in tokens:
        raise RuntimeError(
            "s1 budget forcing needs each request's sampled tokens before the next step; "
            "disable vLLM's asynchronous scheduling (async_scheduling=False)"
        )
    return tokens


class BudgetForcingLogitsProcessor(LogitsProcessor):
    """vLLM v1 logits processor: s1 budget forcing for requests that carry a plan."""

    @classmethod
    def validate_params(cls, params: SamplingParams) -> None:
        if params.extra_args and EXTRA_ARGS_KEY in params.extra_args:
            plan_from_extra_args(params.extra_args)

    def __init__(self, vllm_config, device: torch.device, is_pin_memory: bool):
        self.requests: dict[int, _Request] = {}

    def is_argmax_invariant(self) -> bool:
        """Forcing tokens changes greedy results too."""
        return False

    def update_state(self, batch_update: BatchUpdate | None) -> None:
        if batch_update is not None:
            for index in batch_update.removed:
                self.requests.pop(index, None)
            for index, params, _prompt_ids, output_ids in batch_update.added:
                self.requests.pop(index, None)
                if params.extra_args and EXTRA_ARGS_KEY in params.extra_args:
                    self.requests[index] = _Request(params, output_ids)
            for source, target, direction in batch_update.moved:
                moving = self.requests.pop(source, None)
                displaced = self.requests.pop(target, None)
                if moving is not None:
                    self.requests[target] = moving
                if direction == MoveDirectionality.SWAP and displaced is not None:
                    self.requests[source] = displaced
        for request in self.requests.values():
            request.catch_up()

    def apply(self, logits: torch.Tensor) -> torch.Tensor:
        active = [(index, r.forcer) for index, r in self.requests.items() if not r.forcer.done]
        if not active:
            return logits
        return apply_budget_forcing(logits, active, self._choose)

    def _choose(self, scores: torch.Tensor, rows: torch.Tensor, columns: torch.Tensor) -> list[bool]:
        indices = rows.tolist()
        greedy = [index for index in indices if self.requests[index].greedy]
        picks = dict(zip(greedy, greedy_chooser(scores, rows.new_tensor(greedy), columns))) if greedy else {}
        for index in indices:
            request = self.requests[index]
            if not request.greedy:
                coin = torch.rand((), generator=request.generator).item()
                picks[index] = coin < request.end_mass(scores[index], columns).item()
        return [picks[index] for index in indices]
