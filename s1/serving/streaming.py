"""Split a streamed assistant turn into thinking and answer deltas as the text arrives.

The contract: the reasoning deltas concatenate to exactly `s1.format.split_completion(text)
.thinking` and the content deltas to its `.answer` (cut before the first of the request's stop
strings, `s1.generation.stops.split_with_stops`), so a streaming client sees the same text a
non-streaming one does. While streaming, only text that can no longer change is emitted (text
that could still be the start of a delimiter, a stop token or a stop string, and trailing
whitespace that `split_completion` would strip, are held back); `finish()` emits the rest from
the exact split.
"""

from __future__ import annotations

from dataclasses import dataclass

from typing import Sequence

from s1.format import ANSWER_DELIMITER, THINK_DELIMITER, TURN_STOPS
from s1.generation.stops import split_with_stops


@dataclass(frozen=True)
class Delta:
    reasoning: str = ""
    content: str = ""

    def __bool__(self) -> bool:
        return bool(self.reasoning or self.content)


def _partial_suffix(text: str, markers: tuple[str, ...]) -> int:
    """Length of the longest suffix of `text` that is a proper prefix of one of `markers`."""
    longest = 0
    for marker in markers:
        for size in range(min(len(marker) - 1, len(text)), longest, -1):
            if text.endswith(marker[:size]):
                longest = size
                break
    return longest


def _first(text: str, markers: tuple[str, ...]) -> int:
    hits = [i for i in (text.find(m) for m in markers) if i >= 0]
    return min(hits) if hits else -1


class CompletionSplitter:
    """Feed text deltas with `feed()`; call `finish()` once at the end of the stream.

    Work per delta is proportional to the text held back, not to the whole turn, so long
    thinking traces stream in linear time.
    """

    def __init__(self, stops: Sequence[str] = ()) -> None:
        self._stops = tuple(stops)
        self._answer_ends = (*TURN_STOPS, *self._stops)  # what ends the answer
        self._parts: list[str] = []  # the whole turn, joined once in finish()
        self._held = ""  # received, not yet emitted, not yet known to be dropped
        self._started = False  # the optional leading think delimiter has been dealt with
        self._in_answer = False
        self._answer_closed = False  # a stop token ended the answer; the rest is ignored
        self._reasoning = ""  # emitted so far
        self._content = ""

    def feed(self, delta: str) -> Delta:
        self._parts.append(delta)
        if self._answer_closed:
            return Delta()
        self._held += delta
        if not self._started:
            if len(self._held) < len(THINK_DELIMITER) and THINK_DELIMITER.startswith(self._held):
                return Delta()  # may still become the think delimiter
            if self._held.startswith(THINK_DELIMITER):
                self._held = self._held[len(THINK_DELIMITER):]
            self._started = True
        reasoning = ""
        if not self._in_answer:
            index = self._held.find(ANSWER_DELIMITER)
            if index < 0:
                reasoning = self._emit(self._held, (ANSWER_DELIMITER, *TURN_STOPS), self._reasoning)
                self._reasoning += reasoning
                return Delta(reasoning=reasoning)
            head = self._held[:index]
            reasoning = self._emit_all(head, self._reasoning)
            self._reasoning += reasoning
            self._held = self._held[index + len(ANSWER_DELIMITER):]
            self._in_answer = True
        content = self._emit(self._held, self._answer_ends, self._content)
        self._content += content
        return Delta(reasoning=reasoning, content=content)

    def finish(self) -> Delta:
        """Emit what was held back; the totals then equal `split_with_stops` of the text."""
        final, _ = split_with_stops("".join(self._parts), self._stops)
        if not final.thinking.startswith(self._reasoning) or not final.answer.startswith(
            self._content
        ):
            raise AssertionError("streamed text diverged from split_completion")  # a bug here
        delta = Delta(
            reasoning=final.thinking[len(self._reasoning):],
            content=final.answer[len(self._content):],
        )
        self._reasoning, self._content = final.thinking, final.answer
        self._held = ""
        return delta

    def _emit(self, held: str, markers: tuple[str, ...], emitted: str) -> str:
        """Emit the part of `held` no later text can change; keep the rest in `self._held`.

        Held back: everything from a stop token on (the answer ends there, as at a stop string;
        in thinking it only counts if an answer delimiter follows), a suffix that may grow into a
        marker, and trailing whitespace (stripped unless more text follows).
        """
        if not emitted:  # a section's leading blanks are stripped (stop strings start after them)
            held = held.lstrip()
        stop = _first(held, self._answer_ends if self._in_answer else TURN_STOPS)
        if stop >= 0:
            stable = held[:stop]
            if self._in_answer:
                self._answer_closed = True
        else:
            stable = held[: len(held) - _partial_suffix(held, markers)]
        out = stable.rstrip()
        self._held = held[len(out):]
        return out

    def _emit_all(self, head: str, emitted: str) -> str:
        """The thinking is complete: emit all of it but surrounding whitespace."""
        return head.strip() if not emitted else head.rstrip()
