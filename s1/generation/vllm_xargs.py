"""s1 serve's budget fields as a stock vLLM server takes them: per request in `vllm_xargs`.

    {"model": "s1", "messages": [...], "max_tokens": 2048,
     "vllm_xargs": {"max_thinking_tokens": 512, "num_ignore": 1}}

The names and meanings are `s1 serve`'s request fields (`s1.serving.protocol.GenerationFields`
and KServe's `max_answer_tokens`); vLLM puts `vllm_xargs` in `SamplingParams.extra_args`, where
the logits processor reads them. A request without any of them is not budget-forced.

What the stock server cannot do as `s1 serve` does: it checks a request (`check_fields`, HTTP
400) before it knows the prompt, so a thinking budget that the context window cannot hold is not
refused but lowered to what fits, once the engine sees the prompt (`fitted_plan`); s1 serve
refuses it.
"""

from __future__ import annotations

import dataclasses
import logging

from s1.format import Delimiters, Tokenizer
from s1.generation.budget_forcing import ForcingPlan, plan_for, validate_budget
from s1.generation.types import Budget

log = logging.getLogger(__name__)

# Field -> meaning, as s1 serve documents them (the keys are the contract).
FIELDS = {
    "max_thinking_tokens": "cap on thinking tokens (default: what the context window leaves)",
    "min_thinking_tokens": "end-of-thinking attempts before this many tokens become 'Wait'",
    "num_ignore": "end-of-thinking attempts replaced by 'Wait' regardless",
    "max_answer_tokens": f"cap on the answer section (default {Budget().max_answer_tokens})",
}


def wants_forcing(extra_args: dict | None) -> bool:
    return bool(extra_args) and any(name in extra_args for name in FIELDS)


def budget_from_fields(extra_args: dict, max_tokens: int | None) -> Budget:
    """The request's budget; ValueError naming the field for a wrong value.

    max_tokens: the request's OpenAI `max_tokens` (vLLM fills in what the context leaves when
    the client sends none): it bounds thinking, delimiter and answer together, as in s1 serve.
    """
    values = {}
    for name in FIELDS:
        if name not in extra_args:
            continue
        value = extra_args[name]
        if name == "max_thinking_tokens" and value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"vllm_xargs.{name}: expected an integer, got {value!r}")
        values[name] = value
    budget = Budget(**values, max_tokens=max_tokens)
    try:
        validate_budget(budget)
    except ValueError as error:
        raise ValueError(f"vllm_xargs: {error}") from None
    return budget


def fitted_plan(tokenizer: Tokenizer, budget: Budget, prompt_tokens: int, context_window: int,
                delimiters: Delimiters | None = None) -> ForcingPlan | None:
    """`plan_for`, with the thinking budget (and minimum) lowered to what the context window
    leaves when the exact budget does not fit; None when not even the answer fits (the request
    then runs unforced and a warning is logged: the server could not refuse it in time)."""
    try:
        return plan_for(tokenizer, budget, prompt_tokens, context_window, delimiters)
    except ValueError as error:
        problem = error
    try:
        auto = plan_for(tokenizer, dataclasses.replace(budget, max_thinking_tokens=None,
                                                       min_thinking_tokens=0),
                        prompt_tokens, context_window, delimiters)
    except ValueError as error:
        log.warning("budget forcing skipped for a %d-token prompt: %s", prompt_tokens, error)
        return None
    cap = min(auto.max_thinking_tokens, budget.max_thinking_tokens if budget.max_thinking_tokens is not None
              else auto.max_thinking_tokens)
    log.warning("budget lowered to %d thinking tokens for a %d-token prompt: %s", cap, prompt_tokens, problem)
    return dataclasses.replace(auto, max_thinking_tokens=cap,
                               min_thinking_tokens=min(budget.min_thinking_tokens, cap))
