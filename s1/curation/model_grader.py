"""The judge: attempts math-verify cannot decide (words, option texts, proofs, no final answer).

Math answers are graded by the one grading core, `s1/evaluation/grading.py`, shared with
evaluation. The rest go to a model with s1's grading prompt (simplescaling/s1
`data/grading.txt` as the system prompt, `data/featurization.py`'s user turn): it sees the
problem, the attempt and the correct answer (the short answer, or the reference solution of a
proof-style question without one) and ends its reply with "Yes" or "No".
"""

from __future__ import annotations

import re

_VERDICT = re.compile(r"\b(yes|no)\b", re.IGNORECASE)
_MATHY = re.compile(r"[\d\\^_{}=]")

# s1's grading system prompt (data/grading.txt), word for word.
GRADER_SYSTEM_PROMPT = """You are an AI assistant for grading a science problem.
The user will provide you with the question itself, an attempt made by a student and the correct answer to the problem.
Your job is to judge whether the attempt is correct by comparing it with the correct answer. 
If the expected solution concludes with a number or choice, there should be no ambiguity.
If the expected solution involves going through the entire reasoning process, you should judge the attempt based on whether the reasoning process is correct with correct answer if helpful.

The user will provide the attempt and the correct answer in the following format:

# Problem
{problem}

## Attempt
{attempt}

## Correct answer
{solution}

Explain your reasoning, and end your response on a new line with only "Yes" or "No" (without quotes)."""
# s1's user turn for one grading call.
GRADER_PROMPT = "## Problem\n{question}\n\n## Attempt\n{attempt}\n\n## Correct answer\n{answer}"


def is_math_answer(gold: str) -> bool:
    """Numbers and LaTeX are math; words, option letters and empty answers go to the judge."""
    return bool(_MATHY.search(gold)) and len(re.findall(r"[A-Za-z]{3,}", gold.replace("\\", " \\"))) <= 2


def grader_prompt(question: str, attempt: str, reference: str) -> str:
    return GRADER_PROMPT.format(question=question, attempt=attempt, answer=reference)


def parse_verdict(reply: str) -> bool | None:
    """The judge's last Yes/No (s1 asks for it alone on the last line), or None without one."""
    verdicts = _VERDICT.findall(reply)
    return verdicts[-1].lower() == "yes" if verdicts else None
