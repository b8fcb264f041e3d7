"""s1's sampling: uniform over domains, longer traces favoured, reproducible per seed."""

from __future__ import annotations

from collections import Counter

from s1.curation.config import PreselectConfig
from s1.curation.records import Question
from s1.curation.selection import preselect, sample_by_domain, select


def _pool() -> list[Question]:
    questions = [
        Question(id=f"long-{i}", source="numinamath", question=f"q long {i}", answer="1",
                 domain="algebra", thinking_tokens=4000 + i)
        for i in range(600)
    ]
    for d in range(9):
        questions += [
            Question(id=f"d{d}-{i}", source="math", question=f"q {d} {i}", answer="1",
                     domain=f"domain-{d}", thinking_tokens=100 + i)
            for i in range(40)
        ]
    return questions


def test_a_domain_with_many_long_traces_does_not_dominate():
    selected = sample_by_domain(_pool(), 200, seed=0)
    counts = Counter(q.domain for q in selected)
    assert len(selected) == 200 and len(counts) == 10
    # Uniform over 10 domains: ~20 each; the 600 long-trace algebra questions get no more.
    assert counts["algebra"] <= 35
    assert min(counts.values()) >= 8


def test_longer_traces_are_favoured_within_a_domain():
    selected = sample_by_domain(_pool(), 200, seed=1)
    algebra = sorted((q.thinking_tokens for q in selected if q.domain == "algebra"), reverse=True)
    # P(rank 0) = 1/2, so picks cluster at the top of the 600 sorted traces.
    assert min(algebra) >= 4600 - 60


def test_same_seed_same_selection_and_another_seed_differs():
    ids = lambda seed: [q.id for q in sample_by_domain(_pool(), 150, seed)]  # noqa: E731
    assert ids(7) == ids(7)
    assert ids(7) != ids(8)
    # Independent of input order: the pool is sorted by (length, id) within each domain.
    shuffled = list(reversed(_pool()))
    assert [q.id for q in sample_by_domain(shuffled, 150, 7)] == ids(7)


def test_pool_smaller_than_n_is_taken_whole():
    pool = _pool()[:30]
    assert {q.id for q in sample_by_domain(pool, 100, seed=0)} == {q.id for q in pool}


def test_preselection_takes_correct_aime_gpqa_and_long_math():
    questions = [
        Question(id="aime-ok", source="aime", question="a", answer="1", teacher_correct=True),
        Question(id="aime-wrong", source="aime", question="b", answer="1", teacher_correct=False),
        Question(id="math-long", source="MATH", question="c", answer="1", teacher_correct=True,
                 thinking_tokens=6000),
        Question(id="math-short", source="MATH", question="d", answer="1", teacher_correct=True,
                 thinking_tokens=5000),
        Question(id="gpqa", source="gpqa", question="e", answer="1", teacher_correct=True),
    ]
    assert [q.id for q in preselect(questions, PreselectConfig())] == ["aime-ok", "math-long", "gpqa"]
    picked, pre = select(questions, 4, seed=0, rule=PreselectConfig())
    assert pre == 3 and [q.id for q in picked[:3]] == ["aime-ok", "math-long", "gpqa"]
    assert len(picked) == 4
