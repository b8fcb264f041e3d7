"""The part of s1's vLLM logits processor that both of vLLM's processor interfaces share.

vLLM 0.32 has two model runners with two logits-processor interfaces (`vllm_logits_v1`: the old
runner, vLLM's CPU build; `vllm_logits_v2`: Model Runner V2, CUDA's default). They hand a
processor the same facts in different shapes: which requests are in the batch, in which rows,
and what tokens each has kept. Each adapter turns its runner's shape into calls on
`ForcedRequest`, one per budget-forced request, and one `force_rows` per step; the rules are the
`BudgetForcer`'s and the tensor work is `s1.generation.logits`'s, so both runners make the same
decision for the same token history.

What vLLM does that shapes this (both runners):
- Logits processors also run on rows midway through a chunked prefill, whose sampled token is
  thrown away. So `force_rows` never changes a request's state: it records the request's
  early-end decision for that position, and the state advances only on tokens vLLM keeps
  (`ForcedRequest.extend`). A discarded step decides the same position again, alike (the
  sampling coin is a function of seed and position).
- vLLM may discard kept tokens (a KV-load failure) or resume a preempted request with the tokens
  it had: `restart` rebuilds the state by an exact replay, given where the forced waits started
  (the one fact the tokens alone cannot tell: a model may write "Wait" itself).
- vLLM applies processors before temperature/top-k/top-p, so for sampled requests the early-end
  coin recomputes the request's temperature, top-k and top-p itself (`min_p` and penalties are
  not reflected in the coin; forced tokens are unaffected by them).
- Unseeded sampled requests get a seed derived from the prompt and their arrival order at the
  processor, which every tensor-parallel rank sees identically, so all ranks force alike.
"""

from __future__ import annotations

import json
import logging
from typing import Sequence

import torch

from s1.format import delimiter_ids
from s1.generation.budget_forcing import BudgetForcer, ForcingPlan
from s1.generation.logits import EndChooser, apply_budget_forcing, greedy_chooser
from s1.generation.vllm_xargs import budget_from_fields, fitted_plan, wants_forcing

log = logging.getLogger(__name__)

# A request of s1's own engine carries its resolved plan here (`vllm_logits.sampling_params`).
EXTRA_ARGS_KEY = "s1_budget_forcing"
# Set by the old-runner adapter in a request's extra_args: forced wait positions, derived seed,
# and the early-end decision for its last sampled token when it leaves the batch.
WAITS_KEY = "s1_budget_forcing_waits"
SEED_KEY = "s1_budget_forcing_seed"
DECISION_KEY = "s1_budget_forcing_decision"
# Set by a frontend that wants the wait positions back (`vllm_processors.WAITS_RPC`).
REQUEST_KEY = "s1_request_key"
# vLLM treats temperatures below this as greedy.
GREEDY_EPSILON = 1e-5
_MASK64 = (1 << 64) - 1


def plan_from_extra_args(extra_args: dict) -> ForcingPlan:
    """The plan a request of s1's engine carries: a dict (offline `LLM`) or its JSON text."""
    value = extra_args[EXTRA_ARGS_KEY]
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise ValueError(f"{EXTRA_ARGS_KEY}: not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{EXTRA_ARGS_KEY}: expected a ForcingPlan dict, got {type(value).__name__}")
    return ForcingPlan.from_dict(value)


def is_forced(params) -> bool:
    """Whether a request asks for budget forcing (s1's plan, or s1 serve's fields)."""
    extra = params.extra_args
    return bool(extra) and (EXTRA_ARGS_KEY in extra or wants_forcing(extra))


def validate_request(params) -> None:
    """Both interfaces' `validate_params`: runs in the API server at admission, so a ValueError
    here is the client's HTTP 400. The budget's fit in the context window needs the prompt,
    which the engine checks later (`vllm_xargs.fitted_plan`)."""
    if not is_forced(params):
        return
    extra = params.extra_args
    if EXTRA_ARGS_KEY in extra:
        plan_from_extra_args(extra)
        if REQUEST_KEY in extra and params.n != 1:
            raise ValueError(f"{EXTRA_ARGS_KEY}: budget forcing with a request key takes n=1 (got n={params.n})")
        return
    budget_from_fields(extra, params.max_tokens)
    if params.thinking_token_budget is not None:
        raise ValueError(
            "thinking_token_budget is vLLM's own cap, which overrides s1's budget forcing: "
            "send vllm_xargs.max_thinking_tokens instead (same meaning, with 'Wait' and minimums)")


def mix(*values: int) -> int:
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
    return (mix(seed, position) >> 11) / float(1 << 53)


class ForcedRequest:
    """One budget-forced request: its state machine, forced wait positions, sampler settings and
    the early-end decision `force_rows` made for its next position.

    waits: where forced waits start; the list is kept up to date in place (the old runner keeps
        it in the request's own extra_args, so a resumed request replays exactly).
    tokens, decision: what the request already kept (see `restart`).
    """

    def __init__(self, plan: ForcingPlan, params, seed: int, waits: list[int] | None = None,
                 key: str | None = None, tokens: Sequence[int] = (), decision: tuple[int, int] | None = None):
        self.plan = plan
        self.key = key
        self.waits: list[int] = waits if waits is not None else []
        self.temperature = params.temperature
        self.top_k = params.top_k
        self.top_p = params.top_p
        self.seed = params.seed if params.seed is not None else seed
        self.decision: tuple[int, int] | None = None  # (position, end token the model chose)
        self.restart(tokens, decision)

    @property
    def known(self) -> int:
        """How many generated tokens the state machine has been fed."""
        return len(self.forcer.tokens)

    @property
    def greedy(self) -> bool:
        return self.temperature < GREEDY_EPSILON

    def restart(self, tokens: Sequence[int], decision: tuple[int, int] | None = None) -> None:
        """Rebuild the state from the tokens vLLM kept (fewer than fed, or a resumed request).

        decision: the early-end decision made for the token at that position before the request
            left the batch (the token was sampled, but never fed: it is a forced wait's start if
            the replacement was sampled there).
        """
        if decision is not None and decision[0] < len(tokens):
            self.forcer = self._replay(tokens[:decision[0]])
            self.decision = decision
            self.extend(tokens[decision[0]:])
        else:
            self.forcer = self._replay(tokens)
            self.decision = None

    def extend(self, tokens: Sequence[int]) -> None:
        """Feed the tokens kept after the `known` ones, up to the first async placeholder (-1)."""
        forcer = self.forcer
        for token in tokens:
            if forcer.done or token == -1:
                break
            decision, self.decision = self.decision, None
            if decision is not None and decision[0] == len(forcer.tokens) and token == forcer.step().replacement:
                forcer.intercept(decision[1])
            forcer.feed(token)

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

    def _replay(self, tokens: Sequence[int]) -> BudgetForcer:
        forcer = BudgetForcer.replay(self.plan, tokens, [p for p in self.waits if p < len(tokens)])
        self.waits[:] = forcer.wait_positions
        forcer.wait_positions = self.waits  # intercepts append to the shared list
        return forcer


def force_rows(logits: torch.Tensor, rows: Sequence[tuple[int, ForcedRequest]]) -> None:
    """Apply one step's budget forcing to `logits` in place: `rows` are (logits row, request)
    for the budget-forced requests of the batch, each already fed every token it kept.

    A request whose turn has ended but which vLLM still runs (it ended on a stop token that is
    not one of the server's: `<|endoftext|>` for a model whose end of sequence is `<|im_end|>`)
    gets the plan's first stop token forced, so the server ends it too.
    """
    active = [(row, request.forcer) for row, request in rows if not request.forcer.done]
    ended = [(row, request.plan.stop[0]) for row, request in rows if request.forcer.done]
    if ended:
        index = torch.tensor([row for row, _ in ended], device=logits.device)
        logits.index_fill_(0, index, float("-inf"))
        logits[index, torch.tensor([token for _, token in ended], device=logits.device)] = 0.0
    decisions: dict[int, int] = {}
    if active:
        apply_budget_forcing(logits, active, _chooser(dict(rows)), decisions)
    for row, request in rows:
        end = decisions.get(row)
        request.decision = None if end is None else (request.known, end)


def _chooser(requests: dict[int, ForcedRequest]) -> EndChooser:
    """Greedy rows by argmax; sampled rows by their coin against their sampler's end mass."""

    def choose(scores: torch.Tensor, rows: torch.Tensor, columns: torch.Tensor) -> list[bool]:
        indices = rows.tolist()
        greedy = [row for row in indices if requests[row].greedy]
        picks = dict(zip(greedy, greedy_chooser(scores, rows.new_tensor(greedy), columns))) if greedy else {}
        for row in indices:
            request = requests[row]
            if not request.greedy:
                draw = coin(request.seed, request.known)
                picks[row] = draw < request.end_mass(scores[row], columns).item()
        return [picks[row] for row in indices]

    return choose


class RequestPlanner:
    """A processor's plans: s1's engine sends its plan resolved; a stock server's request sends
    s1 serve's fields (`vllm_xargs`), planned here with the served model's tokenizer (loaded on
    the first such request) for the request's prompt length."""

    def __init__(self, vllm_config):
        self._config = vllm_config
        self._tokenizer = None
        self._delimiters = None

    def plan(self, params, prompt_tokens: int | None) -> ForcingPlan | None:
        """The request's plan; None to leave it unforced (no prompt length: embeddings)."""
        extra = params.extra_args
        if EXTRA_ARGS_KEY in extra:
            return plan_from_extra_args(extra)
        if prompt_tokens is None:
            log.warning("budget forcing skipped: the request has no prompt token ids")
            return None
        if self._tokenizer is None:
            from vllm.tokenizers import cached_tokenizer_from_config

            self._tokenizer = cached_tokenizer_from_config(self._config.model_config)
            self._delimiters = delimiter_ids(self._tokenizer)
        budget = budget_from_fields(extra, params.max_tokens)
        return fitted_plan(self._tokenizer, budget, prompt_tokens, self._config.model_config.max_model_len,
                           self._delimiters)
