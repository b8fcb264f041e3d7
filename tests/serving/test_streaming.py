"""The streaming splitter emits exactly what split_completion returns, however text is chunked."""

from __future__ import annotations

import random

import pytest

from s1.format import ANSWER_DELIMITER, END_OF_TEXT, IM_END, THINK_DELIMITER, split_completion
from s1.serving.streaming import CompletionSplitter

CASES = [
    "\nLet me think.\nWait, 2+2=4.\n" + ANSWER_DELIMITER + "\nAnswer: 4" + IM_END,
    THINK_DELIMITER + "\n  spaced  \n\n" + ANSWER_DELIMITER + "\n Final Answer: 7 \n" + IM_END + "junk",
    "never closes thinking   ",
    "thinking then stop " + IM_END + " after stop",
    "stop in thinking" + END_OF_TEXT + "more" + ANSWER_DELIMITER + "answer" + END_OF_TEXT,
    "<|im_start|>thin<|im_start|>ans" + ANSWER_DELIMITER + "x",
    "",
    "   ",
    ANSWER_DELIMITER + IM_END,
    "a<|im_start|>answe",
    "<|im_start|>",
    "think " + ANSWER_DELIMITER + "\n\n\n",
]


def _chunks(text: str, rng: random.Random) -> list[str]:
    cuts = sorted(rng.sample(range(1, len(text)), k=min(len(text) - 1, rng.randint(0, 12)))) if len(text) > 1 else []
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:])]


@pytest.mark.parametrize("text", CASES)
def test_any_chunking_gives_split_completion(text: str) -> None:
    rng = random.Random(0)
    expected = split_completion(text)
    for _ in range(200):
        splitter = CompletionSplitter()
        deltas = [splitter.feed(chunk) for chunk in _chunks(text, rng)] + [splitter.finish()]
        assert "".join(d.reasoning for d in deltas) == expected.thinking
        assert "".join(d.content for d in deltas) == expected.answer


def test_text_is_released_before_the_end() -> None:
    """Streaming is not buffering: thinking and answer arrive while the turn is generated."""
    splitter = CompletionSplitter()
    assert splitter.feed("\nfirst thought").reasoning == "first thought"
    assert splitter.feed(" second\n<|im_start|>ans").reasoning == " second"
    delta = splitter.feed("wer\nAnswer: 4")
    assert (delta.reasoning, delta.content) == ("", "Answer: 4")
