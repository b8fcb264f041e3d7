"""Stop strings end the answer, never the thinking: the watch on streamed text, the cut of a whole
turn, the tokens kept; and the transformers engine's stop and logprobs, streamed and batched."""

from __future__ import annotations

import random

import pytest
import torch

from s1.format import ANSWER_DELIMITER, IM_END, generation_prompt, split_completion
from s1.generation.api import generate, stream
from s1.generation.stops import StopWatch, find_stop, split_with_stops, tokens_through
from s1.generation.types import Budget, Generation, Sampling, TokenLogprob

TURN = "\nLet me see. Question: is it 4?\n" + ANSWER_DELIMITER + "\n  Answer: 4\n\nQuestion: next" + IM_END + " tail"


@pytest.mark.parametrize(("text", "stops", "expected"), [
    (TURN, ["Question:"], "Answer: 4"),  # the one in the thinking does not count
    (TURN, ["\n\n", "Question:"], "Answer: 4"),  # the earliest in the answer wins
    (TURN, ["Answer"], ""),  # right at the answer's start
    (TURN, ["\n"], "Answer: 4"),  # the blanks before the answer are not part of it
    (TURN, ["tail", "next" + IM_END], None),  # after, or across, the end of the turn
    (TURN, ["see"], None),  # only in the thinking
    ("no answer section yet Question:", ["Question:"], None),
])
def test_a_stop_string_counts_only_inside_the_answer(text, stops, expected) -> None:
    parts, hit = split_with_stops(text, stops)
    if expected is None:
        assert hit is None and parts.answer == split_with_stops(text, ())[0].answer
    else:
        assert hit is not None and parts.answer == expected
        assert text[hit.start:hit.end] == hit.stop and text.index(ANSWER_DELIMITER) < hit.start
    assert parts.thinking == split_completion(text).thinking, "the thinking is never cut"


def test_the_watch_finds_the_same_hit_however_the_text_arrives() -> None:
    rng = random.Random(0)
    for stops in (["Question:"], ["\n\n"], ["4\n"], ["Answer"], ["zzz"]):
        expected = find_stop(TURN, stops)
        for _ in range(300):
            cuts = sorted(rng.sample(range(1, len(TURN)), k=rng.randint(0, 20)))
            watch = StopWatch(stops)
            pieces = [TURN[a:b] for a, b in zip([0, *cuts], [*cuts, len(TURN)])]
            fired = [watch.feed(piece) for piece in pieces]
            assert watch.hit == expected
            if expected is not None:  # it fires with the piece that completes the stop string
                assert len(watch.text) - len(pieces[fired.index(True)]) < expected.end <= len(watch.text)


def test_empty_stop_strings_are_refused() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        StopWatch(["ok", ""])


def test_kept_tokens_are_the_fewest_that_spell_the_stop_string(qwen_tokenizer) -> None:
    text = "think\n" + ANSWER_DELIMITER + "\nAnswer: café au lait" + IM_END
    tokens = qwen_tokenizer.encode(text, add_special_tokens=False)
    hit = find_stop(text, ["é"])  # a character of two bytes, which may straddle two tokens
    kept = tokens_through(qwen_tokenizer, tokens, text[:hit.end])
    assert qwen_tokenizer.decode(kept).startswith(text[:hit.end])
    assert not qwen_tokenizer.decode(kept[:-1]).startswith(text[:hit.end])
    assert tokens_through(qwen_tokenizer, tokens, text) == tokens


def _streamed(model, tokenizer, prompt: str, budget: Budget, sampling: Sampling) -> tuple[str, list, Generation]:
    text, entries = "", []
    for item in stream(model, tokenizer, prompt, budget, sampling):
        if isinstance(item, Generation):
            return text, entries, item
        if isinstance(item, TokenLogprob):
            entries.append(item)
        else:
            text += item
    raise AssertionError("no result")


def test_transformers_stop_and_logprobs_streamed_equal_batched(tiny) -> None:
    model, tokenizer = tiny
    prompt = generation_prompt("What is 2+2?")
    budget = Budget(max_thinking_tokens=12, max_answer_tokens=12)
    [whole] = generate(model, tokenizer, [prompt], budget)
    stop = whole.answer[13:15]  # the random model's answer after the forced "Final Answer:"
    sampling = Sampling(stop=("never there", stop), logprobs=3)
    [batched] = generate(model, tokenizer, [prompt], budget, sampling)
    text, entries, streamed = _streamed(model, tokenizer, prompt, budget, sampling)
    assert streamed == batched
    assert batched.stop_string == stop and batched.answer == whole.answer[:whole.answer.index(stop)].rstrip()
    assert batched.thinking == whole.thinking and batched.thinking_tokens == whole.thinking_tokens
    assert len(batched.token_ids) < len(whole.token_ids) and batched.token_ids == whole.token_ids[:len(batched.token_ids)]
    assert [e.token for e in batched.logprobs] == list(batched.token_ids)
    assert entries == list(batched.logprobs), "the stream stopped at the stop string, entries and all"
    assert split_with_stops(text, sampling.stop)[0].answer == batched.answer


def test_logprobs_are_the_models_raw_distribution(tiny) -> None:
    """One forward pass over prompt + generated tokens gives the same log-softmax: before
    temperature and budget forcing, as vLLM's default `raw_logprobs`."""
    model, tokenizer = tiny
    prompt = generation_prompt("2+2?")
    [result] = generate(model, tokenizer, [prompt], Budget(max_thinking_tokens=6, max_answer_tokens=4),
                        Sampling(temperature=0.7, seed=3, logprobs=2))
    prompt_ids = tokenizer.encode(prompt, add_special_tokens=False)
    ids = torch.tensor([prompt_ids + list(result.token_ids)])
    with torch.no_grad():
        expected = torch.log_softmax(model(ids).logits[0, len(prompt_ids) - 1:-1].float(), dim=-1)
    for position, entry in enumerate(result.logprobs):
        assert entry.logprob == pytest.approx(expected[position, entry.token].item(), abs=1e-4)
        values, top = expected[position].topk(2)
        assert [t for t, _ in entry.top] == top.tolist()
    forced = [e for e in result.logprobs if e.logprob < e.top[0][1] - 1e-4]
    assert forced, "the forced answer delimiter is far from the random model's top choice"
