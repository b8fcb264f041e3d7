"""Grading a model's attempt against the reference answer.

Math answers: plain numbers (integers, decimals, a/b) are compared exactly, as s1 compares
integers directly; anything else goes through math-verify (`verify(gold, pred)`, gold first),
which is ~7 ms a call and would dominate a 59K-question run if used for every number.
Non-math answers (option letters, words) go to a model grader through the same client interface:
it sees problem, attempt and correct answer and ends with "Yes" or "No", as in s1.
"""

from __future__ import annotations

import re
import threading
from fractions import Fraction

from s1.curation.ingest import last_boxed

_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$")
_NUMBER = re.compile(r"^[-+]?\d+(\.\d+)?(/\d+)?$")
_ANSWER_LINE = re.compile(r"(?:final answer|answer)\s*(?:is)?\s*[:：]?\s*(.+)", re.IGNORECASE)
_MATHY = re.compile(r"[\d\\^_{}=]")
_VERDICT = re.compile(r"\b(yes|no)\b", re.IGNORECASE)

GRADER_PROMPT = """You are grading a student's attempt at a problem against the correct answer.
Decide whether the attempt's final answer is equivalent to the correct answer; ignore the reasoning.

Problem:
{question}

Attempt:
{attempt}

Correct answer:
{answer}

Explain in at most two sentences, then end your reply with a single word: Yes or No."""


def final_answer(text: str) -> str | None:
    """The attempt's final answer: last \\boxed{}, else the text after the last 'Answer:'."""
    boxed = last_boxed(text)
    if boxed is not None:
        return boxed
    matches = _ANSWER_LINE.findall(text)
    if not matches:
        return None
    return matches[-1].strip().rstrip(".").strip().strip("$").strip()


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


def is_math_answer(gold: str) -> bool:
    """Numbers and LaTeX are math; words and option letters go to the model grader."""
    return bool(_MATHY.search(gold)) and len(re.findall(r"[A-Za-z]{3,}", gold.replace("\\", " \\"))) <= 2


def grade_math(gold: str, attempt: str) -> bool:
    """Whether the attempt's final answer equals the gold math answer."""
    gold_number, predicted = as_number(gold), final_answer(attempt)
    predicted_number = as_number(predicted)
    if gold_number is not None and predicted_number is not None:
        return gold_number == predicted_number
    from math_verify import parse, verify

    # math-verify times out with signal.alarm, which only works on the main thread.
    on_main = threading.current_thread() is threading.main_thread()
    timeout = 5 if on_main else None
    gold_parsed = parse(f"${gold}$", parsing_timeout=timeout)
    predicted_parsed = parse(attempt, parsing_timeout=timeout)
    if not gold_parsed or not predicted_parsed:
        return False
    return bool(verify(gold_parsed, predicted_parsed, timeout_seconds=timeout))


def grader_prompt(question: str, attempt: str, answer: str) -> str:
    return GRADER_PROMPT.format(question=question, attempt=attempt, answer=answer)


def parse_verdict(reply: str) -> bool | None:
    """The grader's last Yes/No, or None when it gave neither."""
    verdicts = _VERDICT.findall(reply)
    return verdicts[-1].lower() == "yes" if verdicts else None
