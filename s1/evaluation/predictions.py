"""Grading a predictions file from any system: rows with ``id``, ``gold``, ``prediction``.

Every line yields a result, bad ones included (graded wrong with a reason), so the count of
results always equals the count of non-empty lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from s1.data.registry import KINDS
from s1.data.values import AnswerError, answer_text
from s1.evaluation.grading import Grade, grade_output
from s1.jsonl import Line, read_jsonl


def grade_predictions(path: Path, kind: str | None = None) -> list[dict[str, Any]]:
    """One result per non-empty line; ``kind`` overrides each row's own ``kind`` (default math)."""
    if not path.is_file():
        raise FileNotFoundError(f"predictions file {path} does not exist")
    return [_grade_line(line, kind) for line in read_jsonl(path)]


def _grade_line(line: Line, kind: str | None) -> dict[str, Any]:
    row, number = line.value, line.number
    if not isinstance(row, dict):
        return _result(f"line-{number}", number, kind or "math", None, Grade(None, False,
                                                                           "invalid_row"))
    row_kind = kind or row.get("kind") or "math"
    if row_kind not in KINDS:
        return _result(str(row.get("id", f"line-{number}")), number, str(row_kind), None,
                       Grade(None, False, "invalid_row"))
    try:
        gold = answer_text(row.get("gold"))  # numbers, booleans, lists: canonical answer text
    except AnswerError:
        gold = None  # an object is no gold answer: graded wrong as missing_gold
    prediction = row.get("prediction")
    grade = grade_output(row_kind, gold, prediction if isinstance(prediction, str) else None)
    return _result(str(row.get("id", f"line-{number}")), number, row_kind, gold, grade)


def _result(qid: str, line: int, kind: str, gold: str | None, grade: Grade) -> dict[str, Any]:
    return {"id": qid, "line": line, "kind": kind, "gold": gold, "extracted": grade.extracted,
            "correct": grade.correct, "reason": grade.reason}
