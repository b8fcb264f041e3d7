"""Quality filter: s1's rules for questions and for teacher traces, each drop with its reason.

Questions (checked before any model is paid for): ASCII-art figures (`[asy]`, kept for AIME
where the figure is described in text), references to images that are not there (`![Image]`,
markdown images, `<img>`), and inconsistent numbering (`p1.` ... `p999.` enumerations, `**1.**`
bold numbering), which mark scraped multi-problem pages.
Traces: API errors, empty thinking, traces cut off by the token limit, missing teacher answers.
"""

from __future__ import annotations

import re

from s1.curation.records import Drop, Question

STAGE = "quality"
# Trace checks run as their own stage, after the teacher: drops name it so counts and reasons agree.
TRACE_STAGE = "trace quality"

# (reason, pattern) for question texts; the reason is what the report counts.
QUESTION_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("image reference", re.compile(r"!\[[^\]]*\]|<img\b", re.IGNORECASE)),
    ("p-numbered enumeration", re.compile(r"(?<![\w.])p[1-9]\d{0,2}\.")),
    ("bold numbering", re.compile(r"\*\*\d+\.\*\*")),
]
ASY = re.compile(r"\[asy\]", re.IGNORECASE)


def question_problem(question: Question, asy_allowed_sources: tuple[str, ...]) -> tuple[str, str] | None:
    """(reason, offending text) for the first rule the question breaks, else None."""
    text = question.question
    found = ASY.search(text)
    if found and not any(s.lower() in question.source.lower() for s in asy_allowed_sources):
        return "asymptote figure", _excerpt(text, found.start())
    for reason, pattern in QUESTION_RULES:
        found = pattern.search(text)
        if found:
            return reason, _excerpt(text, found.start())
    return None


def trace_problem(question: Question) -> tuple[str, str] | None:
    """(reason, detail) when the question's teacher output cannot be trained on, else None."""
    if question.teacher_error:
        return "teacher API error", question.teacher_error
    if question.thinking is None:
        return "no thinking", "the pool has no trace and no teacher endpoint is configured"
    if not question.thinking.strip():
        return "empty thinking", "the trace is empty or whitespace"
    if question.teacher_truncated:
        return "truncated trace", "the teacher hit its max_tokens before finishing"
    return None


def filter_questions(questions: list[Question], asy_allowed_sources: tuple[str, ...] = ("aime",)
                     ) -> tuple[list[Question], list[Drop]]:
    kept, drops = [], []
    for question in questions:
        problem = question_problem(question, asy_allowed_sources)
        if problem is None:
            kept.append(question)
        else:
            reason, excerpt = problem
            drops.append(Drop(question.id, question.source, STAGE, reason, f"question: {excerpt!r}"))
    return kept, drops


def filter_traces(questions: list[Question]) -> tuple[list[Question], list[Drop]]:
    kept, drops = [], []
    for question in questions:
        problem = trace_problem(question)
        if problem is None:
            kept.append(question)
        else:
            drops.append(Drop(question.id, question.source, TRACE_STAGE, *problem))
    return kept, drops


def _excerpt(text: str, start: int, width: int = 40) -> str:
    return text[max(0, start - 10) : start + width]
