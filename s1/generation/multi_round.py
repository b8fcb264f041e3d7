"""s1's published budget forcing: several `generate` calls, re-sending the prefix every round.

Kept as the reference the single-pass drivers are compared with (tests: token-for-token equal
under greedy decoding) and as the benchmark baseline. The rounds follow s1's README code:

1. think with `<|im_start|>` and the stop tokens as stop ids, `max_new_tokens` = what is left of
   the budget (s1: `max_tokens=max_tokens_thinking_tmp`);
2. on an early stop while a wait is owed, strip the stop token, append the ignore string and
   continue with `min_new_tokens=1` (s1: `min_tokens=1`);
3. append the answer delimiter (`\\n<|im_start|>answer\\n` + "Final Answer:" when the budget
   ran out, `<|im_start|>answer\\n` otherwise) and generate the answer up to `<|im_end|>`.

Unlike s1, rounds extend token ids, not text: re-tokenising `text + "Wait"` can merge tokens
across the boundary, which changes the prefix the model sees and makes the two approaches
incomparable (one of the problems single-pass forcing removes). Forced "Wait" tokens count as
thinking, as in the single-pass drivers (s1's README does not count them).
"""

from __future__ import annotations

from typing import Sequence

import torch

from s1.generation.api import encode_prompts, plan_all, to_generation
from s1.generation.budget_forcing import ForcingPlan, wait_owed
from s1.generation.types import Budget, Generation, Sampling


def generate_multi_round(
    model,
    tokenizer,
    prompts: Sequence[str],
    budget: Budget,
    sampling: Sampling = Sampling(),
) -> list[Generation]:
    """s1's multi-round budget forcing, one prompt at a time."""
    prompt_ids = encode_prompts(tokenizer, prompts)
    plans = plan_all(model, tokenizer, prompt_ids, budget)
    return [
        _one(model, tokenizer, prompt, ids, plan, sampling)
        for prompt, ids, plan in zip(prompts, prompt_ids, plans)
    ]


def _one(model, tokenizer, prompt: str, prompt_ids: list[int], plan: ForcingPlan,
         sampling: Sampling) -> Generation:
    ends = (plan.end_of_thinking, *plan.stop)
    thinking: list[int] = []
    num_waits = 0
    min_new_tokens = 0
    hit_cap = False
    while True:
        remaining = plan.max_thinking_tokens - len(thinking)
        if remaining <= 0:
            hit_cap = True
            break
        new = _round(model, prompt_ids + thinking, remaining, ends, min_new_tokens, sampling)
        ended = bool(new) and new[-1] in ends
        thinking += new[:-1] if ended else new
        if not ended:
            hit_cap = len(thinking) >= plan.max_thinking_tokens
            break
        if not wait_owed(plan, len(thinking), num_waits):
            break
        thinking += plan.ignore
        num_waits += 1
        min_new_tokens = 1
    delimiter = list(plan.cap_delimiter if hit_cap else (plan.end_of_thinking, *plan.delimiter_rest))
    answer = _round(model, prompt_ids + thinking + delimiter, plan.max_answer_tokens, plan.stop, 0,
                    sampling)
    if not answer or answer[-1] not in plan.stop:
        answer.append(plan.stop[0])  # the answer cap closes the turn, as the single pass does
    prefix = plan.cap_prefix_length if hit_cap else 0
    return to_generation(
        tokenizer, prompt, thinking + delimiter + answer,
        thinking_tokens=len(thinking),
        answer_tokens=prefix + len(answer) - 1,
        num_waits=num_waits,
        hit_cap=hit_cap,
    )


def _round(model, ids: list[int], max_new_tokens: int, stop: Sequence[int], min_new_tokens: int,
           sampling: Sampling) -> list[int]:
    """One engine call: a full re-prefill of `ids`, as every s1 round does."""
    input_ids = torch.tensor([ids], dtype=torch.long, device=model.device)
    kwargs = (
        {"do_sample": True, "temperature": sampling.temperature, "top_p": sampling.top_p, "top_k": 0}
        if sampling.temperature > 0
        else {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
    )
    output = model.generate(
        input_ids=input_ids,
        attention_mask=torch.ones_like(input_ids),
        max_new_tokens=max_new_tokens,
        min_new_tokens=min_new_tokens,
        eos_token_id=list(stop),
        pad_token_id=stop[0],
        **kwargs,
    )
    return output[0, len(ids):].tolist()
