"""Stop strings (OpenAI's `stop`) for budget-forced turns: they end the answer, never the thinking.

    watch = StopWatch(["\\n\\n", "Question:"])
    for delta in text_deltas:
        if watch.feed(delta):          # a stop string is complete in the answer
            break                      # the engine ends the request here
    tokens = tokens_through(tokenizer, tokens, watch.text[:watch.hit.end])  # what is kept

A stop string counts where it lies wholly inside the answer: the text from the first non-blank
character after the answer delimiter up to the turn's end (`s1.format.split_completion`'s
answer). The answer is cut before it (OpenAI returns text without the stop string), the result
keeps the fewest tokens that spell it, and the turn ends with finish reason "stop".

Inside the thinking a stop string is ordinary text: the thinking budget alone ends thinking
(and budget forcing may extend it with "Wait"). Stop lists written for plain models ("\\n\\n",
"Question:") would otherwise end nearly every thinking section at once, and the budget a client
asked for would mean nothing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Sequence

from s1.format import ANSWER_DELIMITER, TURN_STOPS, Completion, split_completion


@dataclass(frozen=True)
class StopHit:
    """Where the first stop string starts in the turn's text, and which one it is."""

    start: int
    stop: str

    @property
    def end(self) -> int:
        return self.start + len(self.stop)


class StopWatch:
    """Finds the first stop string in a turn's answer as text arrives.

    Each `feed` searches only the new text (plus an overlap a stop string could straddle), so
    watching a 16K-token thinking trace costs linear time. Feeding the whole text at once gives
    the same hit as feeding it in any pieces.
    """

    def __init__(self, stops: Sequence[str]):
        if any(not stop for stop in stops):
            raise ValueError("stop strings must be non-empty")
        self.stops = tuple(stops)
        self.text = ""
        self.hit: StopHit | None = None
        self._answer = -1  # where the answer's text starts (-1: not known yet)
        self._scanned = 0  # text before this was searched already
        self._closed = False  # the turn's end (<|im_end|>) came first: no more hits
        self._overlap = max((len(marker) for marker in (*self.stops, *TURN_STOPS)), default=1) - 1

    def feed(self, delta: str) -> bool:
        """Add text; True once a stop string is complete in the answer (and from then on)."""
        if self.hit is not None or self._closed or not self.stops:
            return self.hit is not None
        self.text += delta
        if self._answer < 0 and not self._find_answer():
            return False
        start = max(self._answer, self._scanned - self._overlap)
        self._scanned = len(self.text)
        ends = [i for i in (self.text.find(marker, start) for marker in TURN_STOPS) if i >= 0]
        end = min(ends) if ends else len(self.text)
        self._closed = bool(ends)
        hits = [(i, stop) for stop in self.stops if (i := self.text.find(stop, start, end)) >= 0]
        if hits:
            index, stop = min(hits, key=lambda hit: hit[0])
            self.hit = StopHit(index, stop)
        return self.hit is not None

    def _find_answer(self) -> bool:
        """Locate the answer's first non-blank character; False while it has not arrived."""
        text = self.text
        delimiter = text.find(ANSWER_DELIMITER, max(0, self._scanned - len(ANSWER_DELIMITER) + 1))
        if delimiter < 0:
            self._scanned = len(text)
            return False
        position = delimiter + len(ANSWER_DELIMITER)
        while position < len(text) and text[position].isspace():
            position += 1
        if position == len(text):
            self._scanned = delimiter  # search again from the delimiter next time
            return False
        self._answer = self._scanned = position
        return True


def find_stop(text: str, stops: Sequence[str]) -> StopHit | None:
    """The first stop string in the answer of a whole turn's text, or None."""
    watch = StopWatch(stops)
    watch.feed(text)
    return watch.hit


def split_with_stops(text: str, stops: Sequence[str]) -> tuple[Completion, StopHit | None]:
    """`split_completion` of a turn, its answer cut before the first stop string (if any)."""
    parts = split_completion(text)
    hit = find_stop(text, stops) if stops else None
    if hit is not None:
        parts = dataclasses.replace(parts, answer=split_completion(text[:hit.start]).answer)
    return parts, hit


def tokens_through(tokenizer, tokens: Sequence[int], text: str) -> list[int]:
    """The fewest leading `tokens` whose text (special tokens kept) starts with `text`.

    A prefix of the tokens decodes to a prefix of the whole text, except that a character split
    across tokens shows as U+FFFD until its last byte arrives: either way "starts with `text`"
    holds from some count on, so a binary search finds that count.
    """
    def spells(count: int) -> bool:
        return tokenizer.decode(tokens[:count], skip_special_tokens=False).startswith(text)

    low, high = 0, len(tokens)
    while low < high:
        middle = (low + high) // 2
        if spells(middle):
            high = middle
        else:
            low = middle + 1
    return list(tokens[:low])
