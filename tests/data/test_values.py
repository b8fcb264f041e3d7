"""Gold answers as sources give them become text the grader understands."""

from __future__ import annotations

import pytest

from s1.data.values import AnswerError, answer_text, lookup
from s1.evaluation.grading import grade_answer


@pytest.mark.parametrize(("value", "text"), [
    (60, "60"), ("016", "016"), (0.5, "0.5"), (1e-05, "0.00001"), (5.0, "5"), (True, "True"),
    (False, "False"), ([0, 5], "(0, 5)"), ([0.333, 0.25], "(0.333, 0.25)"), (["$2$"], "$2$"),
    (["3", "5"], "3, 5"), (None, None), ("  ", None), ([], None),
])
def test_answers_become_canonical_text(value, text):
    assert answer_text(value) == text


def test_objects_are_not_answers():
    with pytest.raises(AnswerError, match="dict"):
        answer_text({"a": 1})
    with pytest.raises(AnswerError, match="finite"):
        answer_text(float("nan"))


@pytest.mark.parametrize(("value", "right", "wrong"), [
    (True, "\\boxed{True}", "\\boxed{False}"),
    ([0, 5], "\\boxed{(0, 5)}", "\\boxed{(5, 0)}"),
    ([-1, 6], "Answer: -1, 6", "Answer: 6, -1"),
    (1e-05, "\\boxed{0.00001}", "\\boxed{0.0001}"),
    (3.5, "\\boxed{\\frac{7}{2}}", "\\boxed{3}"),
])
def test_the_grader_understands_the_canonical_text(value, right, wrong):
    gold = answer_text(value)
    assert grade_answer("math", gold, right).correct
    assert not grade_answer("math", gold, wrong).correct


def test_nested_columns():
    row = {"other": {"solution": "s", "steps": ["a", "b"]}, "plain.dotted": 1}
    assert lookup(row, "other.solution") == "s" and lookup(row, "other.steps[1]") == "b"
    assert lookup(row, "plain.dotted") == 1 and lookup(row, "other.missing") is None
