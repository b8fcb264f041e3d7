"""s1 serve's budget fields as a stock vLLM server receives them (`vllm_xargs`), without vLLM."""

from __future__ import annotations

import pytest

from s1.generation.budget_forcing import plan_for
from s1.generation.types import Budget
from s1.generation.vllm_xargs import FIELDS, budget_from_fields, fitted_plan, wants_forcing


def test_the_field_names_are_s1_serves() -> None:
    from s1.serving.protocol import GenerationFields, V1Instance

    served = set(GenerationFields.model_fields) | set(V1Instance.model_fields)
    assert set(FIELDS) <= served
    assert not wants_forcing({}) and not wants_forcing({"other_processor_arg": 1})
    assert wants_forcing({"num_ignore": 0})


def test_fields_become_the_budget_s1_serve_builds() -> None:
    budget = budget_from_fields({"max_thinking_tokens": 24, "num_ignore": 1, "other": "x"}, max_tokens=300)
    assert budget == Budget(max_thinking_tokens=24, num_ignore=1, max_tokens=300)
    assert budget_from_fields({"max_thinking_tokens": None, "num_ignore": 0}, None) == Budget()


@pytest.mark.parametrize("fields, problem", [
    ({"num_ignore": -1}, "num_ignore must be >= 0"),
    ({"max_thinking_tokens": "24"}, r"max_thinking_tokens: expected an integer, got '24'"),
    ({"num_ignore": 1.5}, "num_ignore: expected an integer"),
    ({"num_ignore": True}, "num_ignore: expected an integer"),
    ({"max_thinking_tokens": 8, "min_thinking_tokens": 9}, "min_thinking_tokens .9. exceeds max_thinking_tokens"),
    ({"max_answer_tokens": 0}, "max_answer_tokens must be >= 1"),
])
def test_bad_values_name_the_field(fields, problem) -> None:
    with pytest.raises(ValueError, match=problem):
        budget_from_fields(fields, max_tokens=100)


def test_a_budget_the_window_cannot_hold_is_lowered_to_what_fits(qwen_tokenizer) -> None:
    budget = Budget(max_thinking_tokens=900, min_thinking_tokens=800, max_answer_tokens=64)
    with pytest.raises(ValueError, match="does not fit"):
        plan_for(qwen_tokenizer, budget, prompt_tokens=100, context_window=1024)
    plan = fitted_plan(qwen_tokenizer, budget, prompt_tokens=100, context_window=1024)
    auto = plan_for(qwen_tokenizer, Budget(max_answer_tokens=64), prompt_tokens=100, context_window=1024)
    assert plan.max_thinking_tokens == auto.max_thinking_tokens < 900
    assert plan.min_thinking_tokens == 800 and plan.max_new_tokens == auto.max_new_tokens
    exact = Budget(max_thinking_tokens=100, max_answer_tokens=64)
    assert fitted_plan(qwen_tokenizer, exact, 100, 1024) == plan_for(qwen_tokenizer, exact, 100, 1024)
    assert fitted_plan(qwen_tokenizer, exact, prompt_tokens=1020, context_window=1024) is None
