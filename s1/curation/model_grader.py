"""The model grader: answers that math-verify cannot judge (words, option texts, proofs).

Math answers are graded by the one grading core, `s1/evaluation/grading.py`, shared with
evaluation. The rest go to a model through the client interface, as in s1: it sees the problem,
the attempt and the reference (the short answer, or the reference solution of a proof-style
question without one) and ends its reply with "Yes" or "No".
"""

from __future__ import annotations

import re

_VERDICT = re.compile(r"\b(yes|no)\b", re.IGNORECASE)
_MATHY = re.compile(r"[\d\\^_{}=]")

GRADER_PROMPT = """You are grading a student's attempt at a problem against the correct answer.
Decide whether the attempt's final answer is equivalent to the correct answer; ignore the reasoning.

Problem:
{question}

Attempt:
{attempt}

Correct answer:
{answer}

Explain in at most two sentences, then end your reply with a single word: Yes or No."""


def is_math_answer(gold: str) -> bool:
    """Numbers and LaTeX are math; words, option letters and empty answers go to the model grader."""
    return bool(_MATHY.search(gold)) and len(re.findall(r"[A-Za-z]{3,}", gold.replace("\\", " \\"))) <= 2


def grader_prompt(question: str, attempt: str, reference: str) -> str:
    return GRADER_PROMPT.format(question=question, attempt=attempt, answer=reference)


def parse_verdict(reply: str) -> bool | None:
    """The grader's last Yes/No, or None when it gave neither."""
    verdicts = _VERDICT.findall(reply)
    return verdicts[-1].lower() == "yes" if verdicts else None
