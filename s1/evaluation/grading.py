"""Grading one answer against its gold: math with math-verify, multiple choice by letter.

Bad input never raises: a missing gold or prediction, an answer that cannot be found or parsed,
or thinking that never closed is graded wrong with a ``reason``.

math-verify guards parsing and comparison with ``signal.alarm``, which only works on the main
thread; elsewhere the timeouts are switched off and calls are serialised (sympy's caches are not
thread-safe; grading is CPU-bound, so the lock costs no parallelism under the GIL).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from fractions import Fraction

from s1.evaluation.extract import answer_section, choice_letter, extract_answer

# Seconds math-verify may spend parsing or comparing one expression (main thread only).
TIMEOUT_S = 5
REASONS = (
    "correct",
    "wrong_answer",
    "no_answer",  # no boxed / "Answer:" form in the answer section
    "unparseable_answer",
    "unparseable_gold",
    "missing_gold",
    "missing_prediction",
    "thinking_not_closed",  # the model never ended its thinking: wrong even if the tail is right
    "invalid_row",  # a predictions-file line that is not a JSON object
)
_LOCK = threading.Lock()
_MATH_MODE = re.compile(r"(?<!\\)\$")  # an unescaped $: the text already delimits its math
_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$")
_NUMBER = re.compile(r"^[-+]?\d+(\.\d+)?(/\d+)?$")


@dataclass(frozen=True)
class Grade:
    extracted: str | None
    correct: bool
    reason: str


def grade_output(kind: str, gold: str | None, output: str | None) -> Grade:
    """Grade a full model output (special tokens kept, any system's format)."""
    if not output or not output.strip():
        return Grade(None, False, "missing_prediction")
    section = answer_section(output)
    return grade_answer(kind, gold, section.text, closed=section.closed)


def grade_answer(kind: str, gold: str | None, answer: str, closed: bool = True) -> Grade:
    """Grade an answer section; with ``closed`` False the answer is looked for in the unfinished
    thinking and reported, but graded wrong (reason ``thinking_not_closed``)."""
    extraction = extract_answer(answer)
    extracted = extraction.value
    if kind == "choice" and extracted is None:
        extracted = choice_letter(answer.strip())  # a bare "B" is a complete choice answer
    if gold is None or not str(gold).strip():
        return Grade(extracted, False, "missing_gold")
    if not closed:
        return Grade(extracted, False, "thinking_not_closed")
    if extracted is None:
        return Grade(None, False, "no_answer")
    if kind == "choice":
        letter = choice_letter(extracted)
        if letter is None:
            return Grade(extracted, False, "unparseable_answer")
        correct = letter == str(gold).strip().upper()
        return Grade(letter, correct, "correct" if correct else "wrong_answer")
    if kind != "math":
        raise ValueError(f"kind must be math or choice, got {kind!r}")
    return _grade_math(str(gold), extracted)


def grade_free_text(gold: str, text: str) -> Grade | None:
    """math-verify's own reading of a reply with no answer form (an instruct model's "7 + 5 =
    12."): its extraction takes the reply's last expression. None when it finds none (the
    answer is for a judge to read). Curation grades attempts with it; evaluation does not (s1's
    format always has an answer section)."""
    from math_verify import parse

    gold_parsed = _parse(gold)
    if not gold_parsed:
        return None
    with _LOCK:
        found = parse(text, parsing_timeout=_timeout())
    if not found:
        return None
    correct = _verify(gold_parsed, found)
    return Grade(str(found[-1]), correct, "correct" if correct else "wrong_answer")


def _grade_math(gold: str, extracted: str) -> Grade:
    gold_number, answer_number = as_number(gold), as_number(extracted)
    if gold_number is not None and answer_number is not None:
        # Plain numbers compare exactly, as s1 compares integers; math-verify costs ~7 ms a call,
        # which would dominate curation's difficulty grading of a 59K pool.
        correct = gold_number == answer_number
        return Grade(extracted, correct, "correct" if correct else "wrong_answer")
    gold_parsed = _parse(gold)
    if not gold_parsed:
        return Grade(extracted, False, "unparseable_gold")
    answer_parsed = _parse(extracted)
    if not answer_parsed:
        return Grade(extracted, False, "unparseable_answer")
    correct = _verify(gold_parsed, answer_parsed)
    return Grade(extracted, correct, "correct" if correct else "wrong_answer")


def as_number(text: str | None) -> int | Fraction | None:
    """A plain number written as text (int, decimal, a/b, thousands commas), else None."""
    if text is None:
        return None
    text = text.strip().strip("$").strip()
    if "," in text:
        if not _THOUSANDS.match(text):
            return None  # "1,2" is a pair, not twelve
        text = text.replace(",", "")
    if text.lstrip("+-").isdigit():
        return int(text)  # the common case, and 10x cheaper than Fraction
    if not _NUMBER.match(text):
        return None
    try:
        return Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None


def _timeout() -> int | None:
    return TIMEOUT_S if threading.current_thread() is threading.main_thread() else None


def _parse(text: str) -> list:
    """math-verify's parse of a bare answer: wrapped in ``$…$`` so LaTeX is read as LaTeX."""
    from math_verify import parse

    text = text.strip()
    wrapped = text if _MATH_MODE.search(text) or "\\boxed" in text else f"${text}$"
    with _LOCK:
        return parse(wrapped, parsing_timeout=_timeout())


def _verify(gold: list, answer: list) -> bool:
    from math_verify import verify

    with _LOCK:
        # Gold first: math-verify's comparison is asymmetric (e.g. intervals, sets).
        return bool(verify(gold, answer, timeout_seconds=_timeout()))
