"""Values out of source rows: nested column lookup and gold answers as canonical text.

Sources give answers as they come: AIME's integers, TheoremQA's floats, booleans and lists,
OlympiadBench's list of answer strings. Each becomes one text that the grader (math-verify, or the
model grader for words) understands; ``None`` means the row has no short answer (proof-style).
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

import numpy as np

_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


class AnswerError(ValueError):
    """A value that cannot be a gold answer (an object, NaN, ...)."""


@functools.lru_cache(maxsize=256)
def _path_parts(path: str) -> tuple[tuple[str, str], ...]:
    return tuple(_PATH_PART.findall(path))


def lookup(row: Any, path: str) -> Any:
    """``a.b[0]`` into nested dicts/lists; None when any step is missing."""
    if isinstance(row, dict) and path in row:
        return row[path]  # the common case: a plain column name
    value = row
    for name, index in _path_parts(path):
        if name:
            value = value.get(name) if isinstance(value, dict) else None
        else:
            value = value[int(index)] if isinstance(value, list) and int(index) < len(value) else None
        if value is None:
            return None
    return value


def has_column(row: dict, path: str) -> bool:
    """Whether the row has the path's top-level column (values may still be null)."""
    head = _path_parts(path)[0][0] if _path_parts(path) else path
    return path in row or head in row


def answer_text(value: Any) -> str | None:
    """The canonical answer text of a source value; None when there is no short answer."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise AnswerError(f"answer {value!r} is not a finite number")
        # Positional, shortest round-trip digits: 1e-05 -> 0.00001, 5.0 -> 5 (math-verify reads both).
        return np.format_float_positional(value, trim="-")
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, (list, tuple)):
        parts = [answer_text(item) for item in value]
        if not parts or any(part is None for part in parts):
            return None
        if len(parts) == 1:
            return parts[0]
        if all(isinstance(item, str) for item in value):
            return ", ".join(parts)  # several answers (OlympiadBench's is_multiple_answer)
        return "(" + ", ".join(parts) + ")"  # an ordered tuple (TheoremQA's vectors)
    raise AnswerError(f"answer is {type(value).__name__}, not a number, boolean, string or list")
