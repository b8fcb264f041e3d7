"""Decontamination catches planted eval questions, spares near misses, names what it matched."""

from __future__ import annotations

from s1.curation.decontaminate import EvalQuestion, Rule, decontaminate, find_contamination
from s1.curation.records import Question
from s1.pool.synth import synthesize_pool

EVAL = [
    EvalQuestion("aime24-7", "aime24", "Find the number of ordered pairs of positive integers "
                 "(m, n) such that m^2 n = 20^20."),
    EvalQuestion("math500-3", "math500", "What is the smallest positive perfect cube that can be "
                 "written as the sum of three consecutive integers?"),
]


def _question(index: int, text: str) -> Question:
    return Question(id=f"q{index}", source="test", question=text, answer="1")


def test_planted_copies_are_caught_and_a_seven_word_near_miss_is_not():
    pool = [row["question"] for row in synthesize_pool(500, seed=0)]
    planted = {
        # verbatim with different case and spacing
        10: "FIND the number of ordered pairs of positive   integers (m, n) such that m^2 n = 20^20.",
        20: "Prove it. What is the smallest positive perfect cube that can be written as a sum?",
        # embedded in a longer question
        30: "Warm-up first. " + EVAL[1].question + " Then explain.",
    }
    near_miss = 40  # shares exactly 7 consecutive words with EVAL[1], never 8
    texts = list(pool)
    for index, text in planted.items():
        texts[index] = text
    texts[near_miss] = "Tell me: what is the smallest positive perfect cube number you know?"
    matches = find_contamination(texts, EVAL)
    assert {m.index for m in matches} == set(planted)
    by_index = {m.index: m for m in matches}
    assert EVAL[by_index[10].eval_index].id == "aime24-7"
    assert EVAL[by_index[30].eval_index].id == "math500-3"
    assert by_index[10].overlap == 1.0
    assert 0 < by_index[20].overlap < 1
    assert "smallest positive perfect cube" in by_index[20].ngram


def test_threshold_keeps_questions_with_small_overlap():
    # Question 0 shares 5 of its 9 word 8-grams (56%) with the MATH500 question.
    texts = [
        "Prove it. What is the smallest positive perfect cube that can be written as a sum?",
        EVAL[1].question,
    ]
    assert {m.index for m in find_contamination(texts, EVAL, Rule(threshold=0.0))} == {0, 1}
    assert {m.index for m in find_contamination(texts, EVAL, Rule(threshold=0.6))} == {1}


def test_short_texts_only_match_exactly():
    evals = [EvalQuestion("e1", "tiny", "Compute 12 + 30.")]
    texts = ["compute  12 + 30.", "Compute 12 + 31.", "Compute 12 + 30. Then add 5 more to it."]
    assert [m.index for m in find_contamination(texts, evals)] == [0]


def test_drops_report_the_eval_question():
    questions = [_question(0, EVAL[0].question), _question(1, "Compute 1 + 2.")]
    kept, drops, rows = decontaminate(questions, EVAL)
    assert [q.id for q in kept] == ["q1"]
    assert drops[0].stage == "decontaminate" and drops[0].reason == "contaminated"
    assert "aime24 question aime24-7" in drops[0].detail
    assert rows[0]["eval_set"] == "aime24" and rows[0]["eval_id"] == "aime24-7"


def test_no_eval_questions_means_no_drops():
    assert find_contamination(["anything at all here"], []) == []


def test_latex_spacing_and_punctuation_cannot_hide_a_copy():
    """The issue's example: whitespace 8-grams of these share nothing; normalised words all."""
    evals = [EvalQuestion("e1", "aime24", "Let $f(x)=\\dfrac{x}{x-1}$ for all $x\\neq 1$ , and let "
                          "$y$ be positive.")]
    texts = ["Let $f(x) = \\frac{x}{x - 1}$ for all $x \\ne 1,$ and let $y$ be positive.",
             "Let $f(x) = \\frac{x}{x + 1}$ for all $x \\ne 2,$ and let $z$ be negative."]
    assert not set(evals[0].question.lower().split()) & {"$x", "1,$"}  # really respaced
    (match,) = find_contamination(texts, evals)
    assert (match.index, match.overlap) == (0, 1.0)
    assert not find_contamination(texts, evals, Rule(normalise=False))  # s1's whitespace words


def test_boilerplate_ngrams_are_reported_and_can_be_ignored():
    phrase = "where $m$ and $n$ are relatively prime positive integers. Find $m+n$."
    evals = [EvalQuestion("e1", "aime24", f"The probability that all six dice differ is $m/n$, {phrase}")]
    pool = [f"A point is picked in square number {i} and its area ratio is $m/n$, {phrase}"
            for i in range(12)]
    pool.append(evals[0].question.replace("six", "six fair"))  # a real copy, one word added
    rule = Rule(boilerplate_min_questions=10)
    matches = {m.index: m for m in find_contamination(pool, evals, rule)}
    assert set(matches) == set(range(13))
    assert all(matches[i].boilerplate_only for i in range(12))
    assert not matches[12].boilerplate_only and 0 < matches[12].boilerplate < matches[12].shared
    assert "dice" in matches[12].ngram  # the example shown is a distinctive n-gram
    ignored = find_contamination(pool, evals, Rule(boilerplate_min_questions=10, ignore_boilerplate=True))
    assert [m.index for m in ignored] == [12]
    kept, drops, rows = decontaminate([_question(i, t) for i, t in enumerate(pool)], evals, rule)
    assert not kept and rows[0]["boilerplate_only"] and not rows[12]["boilerplate_only"]
    assert "(all boilerplate)" in drops[0].detail
