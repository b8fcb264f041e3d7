"""Answer extraction and grading against reference answers in the benchmarks' formats."""

from __future__ import annotations

import threading

import pytest

from s1.evaluation.extract import answer_section, extract_answer, last_boxed
from s1.evaluation.grading import grade_answer, grade_output
from s1.format import assistant_text

from .math500_like import math500_rows


def s1_output(thinking: str, answer: str) -> str:
    """A completion in the s1 format, as the model decodes it after the prompt."""
    return assistant_text(thinking, answer)


def test_math500_reference_solutions_grade_equal_to_their_answers():
    rows = math500_rows()
    agree = [grade_answer("math", row["answer"], row["solution"]).correct for row in rows]
    assert sum(agree) / len(rows) >= 0.99, [r["answer"] for r, ok in zip(rows, agree) if not ok]


def test_perturbed_math500_answers_grade_wrong():
    for row in math500_rows():
        grade = grade_answer("math", row["answer"], f"\\boxed{{{row['wrong']}}}")
        assert not grade.correct, (row["answer"], row["wrong"])
        assert grade.reason == "wrong_answer"


@pytest.mark.parametrize(("gold", "answer"), [("25", "025"), ("025", "25"), ("016", "16"),
                                              ("401", "\\boxed{401}")])
def test_aime_leading_zeros_are_the_same_integer(gold: str, answer: str):
    assert grade_answer("math", gold, f"Answer: {answer}").correct


# Real problems worked by hand: (gold as a dataset stores it, what a model writes).
HAND_CHECKED = [
    # AIME 2024 I #2: x and y with log_x(y^x) = log_y(x^{4y}) = 10; xy = 25.
    ("25", "Answer: 25"),
    # MATH: the sum of the roots of x^2 - 13x + 4 = 0.
    ("13", "Final Answer: The final answer is $13$. I hope it is correct."),
    # MATH: cos(7pi/6) = -sqrt(3)/2.
    ("-\\frac{\\sqrt{3}}{2}", "So $\\cos \\frac{7\\pi}{6} = \\boxed{-\\dfrac{\\sqrt3}{2}}$."),
    # MATH: domain of 1/(x-2): everything but 2.
    ("(-\\infty,2) \\cup (2,\\infty)", "\\boxed{(-\\infty, 2)\\cup(2, \\infty)}"),
    # MATH: projection of (1, 2) onto (1, 0).
    ("\\begin{pmatrix} 1 \\\\ 0 \\end{pmatrix}", "\\boxed{\\begin{pmatrix}1\\\\0\\end{pmatrix}}"),
]


@pytest.mark.parametrize(("gold", "answer"), HAND_CHECKED)
def test_hand_checked_real_problems(gold: str, answer: str):
    grade = grade_output("math", gold, s1_output("Let me work it out.", answer))
    assert (grade.correct, grade.reason) == (True, "correct")


def test_extraction_prefers_the_last_boxed_then_the_last_answer_line():
    assert extract_answer("\\boxed{1} then \\boxed{\\frac{2}{3}}").value == "\\frac{2}{3}"
    assert last_boxed("\\boxed{\\left\\{1, 2\\right\\}}") == "\\left\\{1, 2\\right\\}"
    assert last_boxed("\\boxed{unclosed") is None
    assert extract_answer("Answer: 3\nAnswer: **7**.").value == "7"
    assert extract_answer("Answer: 9\nFinal Answer: $x=2$").value == "x=2"
    assert extract_answer("Answer: The final answer is $13$.").value == "13"
    assert extract_answer("so the answer is 12.").value == "12"
    assert extract_answer("I give up").value is None


def test_answer_section_of_each_output_format():
    assert answer_section(s1_output("t", "42")) == answer_section("<think>t</think>Answer: 42")
    assert answer_section(s1_output("t", "42")).text == "Answer: 42"
    plain = answer_section("The answer is 42.")
    assert (plain.text, plain.closed) == ("The answer is 42.", True)
    prompt_included = "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n" + s1_output("t", "1")
    assert answer_section(prompt_included).text == "Answer: 1"
    assert not answer_section("<think>still going").closed


def test_thinking_that_never_closes_is_wrong_with_a_reason_and_its_tail_is_kept():
    grade = grade_output("math", "5", "<|im_start|>think\nso the answer is \\boxed{5}")
    assert (grade.extracted, grade.correct, grade.reason) == ("5", False, "thinking_not_closed")


@pytest.mark.parametrize(("kind", "gold", "output", "reason"), [
    ("math", "5", None, "missing_prediction"),
    ("math", "5", "   ", "missing_prediction"),
    ("math", None, s1_output("t", "5"), "missing_gold"),
    ("math", "", s1_output("t", "5"), "missing_gold"),
    ("math", "5", s1_output("t", "no idea"), "wrong_answer"),
    ("math", "5", "I cannot say", "no_answer"),
    ("math", "5", s1_output("t", "\\boxed{}"), "unparseable_answer"),
    ("math", "\\boxed{}", s1_output("t", "5"), "unparseable_gold"),
    ("choice", "B", s1_output("t", "the second one"), "unparseable_answer"),
    ("choice", "B", s1_output("t", "C"), "wrong_answer"),
])
def test_bad_input_is_wrong_with_a_reason(kind, gold, output, reason):
    grade = grade_output(kind, gold, output)
    assert (grade.correct, grade.reason) == (False, reason)


@pytest.mark.parametrize("answer", ["B", "Answer: B", "Answer: (B) Photon", "\\boxed{B}",
                                    "$\\boxed{\\text{(B)}}$", "The answer is B."])
def test_multiple_choice_is_graded_by_letter(answer: str):
    grade = grade_output("choice", "B", s1_output("t", answer))
    assert (grade.extracted, grade.correct) == ("B", True)


def test_grading_off_the_main_thread_uses_no_signals():
    results: list = []
    rows = math500_rows()[:6]

    def work() -> None:
        results.extend(grade_answer("math", r["answer"], r["solution"]).correct for r in rows)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * 18
