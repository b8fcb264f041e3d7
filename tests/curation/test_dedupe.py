"""Exact and near-duplicate questions across sources: the first is kept, drops name it."""

from __future__ import annotations

from s1.curation.dedupe import dedupe, find_duplicates
from s1.curation.records import Question
from s1.pool.synth import synthesize_pool

LONG = ("A circle of radius 5 is inscribed in a right triangle whose hypotenuse has length 26. "
        "Find the perimeter of the triangle and the area of the region inside the triangle but "
        "outside the circle, giving the area in terms of pi.")


def test_exact_and_near_duplicates_are_found_and_distinct_questions_kept():
    pool = [row["question"] for row in synthesize_pool(2000, seed=0)]
    texts = pool + [
        LONG,
        "  " + LONG.upper().replace(" ", "   "),  # exact after lowercasing and whitespace
        LONG.replace("of pi.", "of π."),  # near: the last word changed
        LONG.replace("radius 5", "radius 7").replace("26", "30").split(" and the area")[0] + ".",
    ]
    found = {d.index: d for d in find_duplicates(texts, ngram=5, threshold=0.8)}
    base = len(pool)
    assert set(found) == {base + 1, base + 2}
    assert found[base + 1].kept == base and found[base + 1].similarity == 1.0
    assert found[base + 2].kept == base and 0.8 <= found[base + 2].similarity < 1.0


def test_dedupe_drops_name_the_kept_question():
    questions = [Question(id=f"q{i}", source=f"s{i}", question=text, answer="1")
                 for i, text in enumerate([LONG, LONG.lower(), "Compute 1 + 2."])]
    kept, drops = dedupe(questions)
    assert [q.id for q in kept] == ["q0", "q2"]
    assert (drops[0].id, drops[0].reason, drops[0].detail) == ("q1", "exact duplicate", "duplicates q0 (s0)")


def test_threshold_one_turns_near_duplicate_search_off():
    texts = [LONG, LONG.replace("giving the area", "expressing the area")]
    assert find_duplicates(texts, threshold=1.0) == []
