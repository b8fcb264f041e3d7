"""Finding the final answer in a model's output.

s1 reads the answer section (after ``<|im_start|>answer``) and takes the last ``\\boxed{}`` or the
"Answer:" line. Outputs of other systems are accepted too: R1-style ``<think>…</think>`` and
plain text (all of it is the answer section).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from s1.format import ANSWER_DELIMITER, THINK_DELIMITER, split_completion

R1_THINK_OPEN, R1_THINK_CLOSE = "<think>", "</think>"
_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
# The form that ends last in the text wins ("Answer: the answer is B" gives B).
_ANSWER_FORMS = (
    ("final_answer", re.compile(r"final\s+answer\s*(?:is\b\s*[:：]?|[:：])", re.IGNORECASE)),
    ("answer", re.compile(r"\banswer\s*[:：]", re.IGNORECASE)),
    ("answer_is", re.compile(r"\banswer\s+is\b\s*[:：]?", re.IGNORECASE)),
)
_TEXT_WRAPPERS = re.compile(r"\\(?:text|textbf|mathrm|mathbf)\s*\{([^{}]*)\}")
_LETTER = re.compile(r"^\(?\s*([A-Z])\s*\)?(?=$|[\s.,:;)])")


@dataclass(frozen=True)
class AnswerSection:
    """The part of an output that carries the answer; ``closed`` False: thinking never ended and
    ``text`` is the unfinished thinking (a fallback to look at, graded wrong)."""

    text: str
    closed: bool


@dataclass(frozen=True)
class Extraction:
    value: str | None  # None: no answer form found
    form: str | None  # boxed | final_answer | answer | answer_is


def answer_section(output: str) -> AnswerSection:
    """Split any model output into its answer section (see the module docstring)."""
    if THINK_DELIMITER in output or ANSWER_DELIMITER in output:
        start = output.find(THINK_DELIMITER)
        completion = split_completion(output[start:] if start >= 0 else output)
        return AnswerSection(completion.answer if completion.closed else completion.thinking,
                             completion.closed)
    if R1_THINK_CLOSE in output:
        return AnswerSection(output.rsplit(R1_THINK_CLOSE, 1)[1].strip(), True)
    if R1_THINK_OPEN in output:
        return AnswerSection(output.split(R1_THINK_OPEN, 1)[1].strip(), False)
    return AnswerSection(output.strip(), True)


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{…}`` (or ``\\fbox{…}``), braces balanced; None if absent."""
    for match in reversed(list(_BOXED.finditer(text))):
        depth, start = 1, match.end()
        for position in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[position], 0)
            if depth == 0:
                return text[start:position].strip()
    return None


def extract_answer(section: str) -> Extraction:
    """The final answer in an answer section: the last boxed, else whatever follows the last
    "Final Answer:", "Answer:" or "answer is" (the rest of its line)."""
    boxed = last_boxed(section)
    if boxed is not None:
        return Extraction(boxed, "boxed")
    matches = [(match.end(), form) for form, pattern in _ANSWER_FORMS
               for match in pattern.finditer(section)]
    for end, form in sorted(matches, reverse=True):
        value = _clean(_line_after(section, end))
        if value:
            return Extraction(value, form)
    return Extraction(None, None)


def _line_after(text: str, start: int) -> str:
    """The rest of the line after ``start``, or the next non-empty line if that is empty."""
    for line in text[start:].splitlines():
        if line.strip():
            return line
    return ""


def _clean(value: str) -> str:
    """Drop Markdown bold, a closing full stop and enclosing ``$`` (never a leading ".5" dot)."""
    value = value.strip().lstrip("*").rstrip("*. ").strip()
    if value.startswith("$") and value.endswith("$") and len(value) > 1:
        value = value.strip("$").strip()
    return value


def choice_letter(value: str | None) -> str | None:
    """The option letter in an extracted answer ("B", "(B)", "B) text", ``\\text{B}``)."""
    if not value:
        return None
    unwrapped = _TEXT_WRAPPERS.sub(r"\1", value).strip().strip("$*").strip()
    match = _LETTER.match(unwrapped)
    return match.group(1) if match else None
