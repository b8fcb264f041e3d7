"""Budget forcing inside one transformers `generate` call, on the tiny Qwen2 (real tokenizer)."""

from __future__ import annotations

import pytest

from s1.format import IM_START, delimiter_ids, generation_prompt
from s1.generation.api import generate, stream
from s1.generation.types import Budget, Generation, Sampling

QUESTIONS = ["What is 2+2?", "How many primes are below 100? Explain briefly.", "x"]


def answer_opening(tokenizer, generation: Generation) -> list[int]:
    d = delimiter_ids(tokenizer)
    start = generation.thinking_tokens
    return list(generation.token_ids[start:start + len(d.answer) + len(d.newline)])


@pytest.mark.parametrize("cap", [0, 1, 17])
def test_thinking_stops_exactly_at_the_cap_and_the_answer_follows(tiny, cap):
    model, tokenizer = tiny
    d = delimiter_ids(tokenizer)
    budget = Budget(max_thinking_tokens=cap, max_answer_tokens=6)
    [result] = generate(model, tokenizer, [generation_prompt(QUESTIONS[0])], budget)
    ids = result.token_ids
    # The random model never ends thinking by itself here, so the cap is hit exactly.
    assert result.hit_cap and result.thinking_tokens == cap
    assert d.im_start not in ids[:cap]
    prefix = tokenizer.encode("\n<|im_start|>answer\nFinal Answer:", add_special_tokens=False)
    assert list(ids[cap:cap + len(prefix)]) == prefix
    # The answer is not cut by the thinking cap: it gets its own 6 tokens and the end of turn.
    assert result.answer_tokens == len(prefix) - 4 + 6 and ids[-1] == d.im_end
    assert result.closed and result.answer.startswith("Final Answer:")
    assert result.text == tokenizer.decode(ids, skip_special_tokens=False)


@pytest.mark.parametrize(
    ("k", "sampling"), [(0, Sampling()), (1, Sampling()), (3, Sampling()), (2, Sampling(1.0, seed=5))]
)
def test_num_ignore_replaces_exactly_k_end_attempts(eager_to_stop, k, sampling):
    model, tokenizer = eager_to_stop
    d = delimiter_ids(tokenizer)
    wait = tokenizer.encode("Wait", add_special_tokens=False)
    budget = Budget(max_thinking_tokens=64, num_ignore=k, max_answer_tokens=3)
    [result] = generate(model, tokenizer, [generation_prompt(QUESTIONS[0])], budget, sampling)
    ids = list(result.token_ids)
    # The biased model tries <|im_start|> at every free position (also when sampling: the bias
    # puts ~all the mass there): attempts 1..k become "Wait" (followed by the model's next
    # choice, as s1's min_tokens=1), attempt k+1 ends thinking.
    assert result.num_waits == k and not result.hit_cap
    assert ids[:result.thinking_tokens] == [tok for _ in range(k) for tok in (*wait, ids[2 * _ + 1])]
    assert answer_opening(tokenizer, result) == [d.im_start, *d.answer[1:], *d.newline]
    assert result.thinking == tokenizer.decode(ids[:result.thinking_tokens]).strip()


def test_min_thinking_tokens_extends_thinking(eager_to_stop):
    model, tokenizer = eager_to_stop
    budget = Budget(max_thinking_tokens=64, min_thinking_tokens=9, max_answer_tokens=2)
    [result] = generate(model, tokenizer, [generation_prompt(QUESTIONS[1])], budget)
    assert result.thinking_tokens == 10 and result.num_waits == 5 and not result.hit_cap


def test_batched_equals_one_by_one(tiny, eager_to_stop):
    for (model, tokenizer), budget in (
        (tiny, Budget(max_thinking_tokens=12, max_answer_tokens=5)),
        (eager_to_stop, Budget(max_thinking_tokens=12, num_ignore=2, max_answer_tokens=4)),
    ):
        prompts = [generation_prompt(q) for q in QUESTIONS]
        batched = generate(model, tokenizer, prompts, budget, batch_size=3)
        single = [generate(model, tokenizer, [p], budget)[0] for p in prompts]
        assert batched == single


def test_sampling_is_seeded_and_keeps_the_budget(tiny):
    model, tokenizer = tiny
    prompts = [generation_prompt(QUESTIONS[1])]
    budget = Budget(max_thinking_tokens=10, max_answer_tokens=4)
    first = generate(model, tokenizer, prompts, budget, Sampling(temperature=0.8, top_p=0.9, seed=3))
    again = generate(model, tokenizer, prompts, budget, Sampling(temperature=0.8, top_p=0.9, seed=3))
    greedy = generate(model, tokenizer, prompts, budget)
    assert first == again and first != greedy
    assert all(r.thinking_tokens <= 10 and r.closed for r in first)


def test_bad_budget_fails_before_any_generation(tiny, monkeypatch):
    model, tokenizer = tiny
    calls = []
    monkeypatch.setattr(model, "generate", lambda *a, **k: calls.append(1))
    long_prompt = generation_prompt("word " * 40_000)
    with pytest.raises(ValueError, match="prompt 1: budget: max_thinking_tokens=1000 does not fit"):
        generate(model, tokenizer, [generation_prompt("hi"), long_prompt], Budget(max_thinking_tokens=1000))
    with pytest.raises(ValueError, match="exceeds max_thinking_tokens"):
        generate(model, tokenizer, [generation_prompt("hi")], Budget(10, min_thinking_tokens=11))
    with pytest.raises(ValueError, match="max_thinking_tokens=40000 does not fit the 32768"):
        generate(model, tokenizer, [generation_prompt("hi")], Budget(max_thinking_tokens=40_000))
    assert calls == []


def test_stream_yields_the_text_then_the_same_generation(eager_to_stop):
    model, tokenizer = eager_to_stop
    prompt = generation_prompt(QUESTIONS[0])
    budget = Budget(max_thinking_tokens=20, num_ignore=2, max_answer_tokens=3)
    items = list(stream(model, tokenizer, prompt, budget))
    *deltas, final = items
    assert isinstance(final, Generation) and all(isinstance(x, str) for x in deltas)
    assert len(deltas) >= 2 and "".join(deltas) == final.text  # the streamer chunks by words
    assert final == generate(model, tokenizer, [prompt], budget)[0]
    assert IM_START + "answer" in final.text


def test_closing_the_stream_stops_generation(tiny):
    """A consumer that stops reading (a client that went away) ends the generate call."""
    model, tokenizer = tiny
    calls = []

    class CountingModel:
        def __getattr__(self, name):
            return getattr(model, name)

        def generate(self, *args, **kwargs):
            sequences = model.generate(*args, **kwargs)
            calls.append(sequences.shape[1] - kwargs["input_ids"].shape[1])
            return sequences

    budget = Budget(max_thinking_tokens=400, max_answer_tokens=50)
    items = stream(CountingModel(), tokenizer, generation_prompt(QUESTIONS[0]), budget)
    assert isinstance(next(items), str)
    items.close()  # joins the generating thread
    [generated] = calls
    assert generated < 400
