"""s1's multi-round reference driver against the single-pass driver, under greedy decoding."""

from __future__ import annotations

import pytest

from s1.format import generation_prompt
from s1.generation.api import generate
from s1.generation.multi_round import generate_multi_round
from s1.generation.types import Budget

PROMPTS = [generation_prompt(q) for q in ("What is 2+2?", "Name three primes, then stop.")]


@pytest.mark.parametrize(
    ("model_name", "budget", "regime"),
    [
        ("tiny", Budget(max_thinking_tokens=24, num_ignore=2, max_answer_tokens=6), "cap"),
        ("tempted_to_stop", Budget(max_thinking_tokens=40, num_ignore=3, max_answer_tokens=6),
         "waits then cap"),
        ("eager_to_stop", Budget(max_thinking_tokens=40, num_ignore=3, max_answer_tokens=6),
         "waits then natural end"),
        ("eager_to_stop", Budget(max_thinking_tokens=40, min_thinking_tokens=15,
                                 max_answer_tokens=6), "min thinking"),
    ],
)
def test_single_pass_equals_multi_round_token_for_token(request, model_name, budget, regime):
    model, tokenizer = request.getfixturevalue(model_name)
    single = generate(model, tokenizer, PROMPTS, budget)
    multi = generate_multi_round(model, tokenizer, PROMPTS, budget)
    assert [g.token_ids for g in single] == [g.token_ids for g in multi]
    assert single == multi
    # Each case exercises the regime it is named for.
    first = single[0]
    expected = {
        "cap": (first.hit_cap, first.num_waits == 0),
        "waits then cap": (first.hit_cap, first.num_waits == 3),
        "waits then natural end": (not first.hit_cap, first.num_waits == 3),
        "min thinking": (not first.hit_cap, first.thinking_tokens >= 15),
    }[regime]
    assert all(expected), (regime, first)
