"""s1's diversity-and-length sampling, and its optional pre-selection rule.

Sampling (s1 §2.3): pick a domain uniformly at random; within it pick a question with probability
proportional to 2^(-rank), rank 0 being the longest trace; move it to the selection; drop emptied
domains; repeat until N. Uniform domains keep a domain with many long traces from dominating,
while the 2^(-rank) weights still favour long (harder) traces. Seeded with its own
`random.Random`, and ties broken by id, so the same pool and seed give the same selection.
"""

from __future__ import annotations

import random

from s1.curation.config import PreselectConfig
from s1.curation.records import Question

UNKNOWN_DOMAIN = "unknown"


def preselect(questions: list[Question], rule: PreselectConfig) -> list[Question]:
    """s1's pre-selection: correct teacher answers from the named sources, or long traces."""
    chosen = []
    for question in questions:
        if not question.teacher_correct:
            continue
        source = question.source.lower()
        if any(name.lower() in source for name in rule.sources):
            chosen.append(question)
            continue
        for name, min_tokens in rule.long_trace_sources.items():
            if name.lower() in source and (question.thinking_tokens or 0) > min_tokens:
                chosen.append(question)
                break
    return chosen


def sample_by_domain(questions: list[Question], n: int, seed: int) -> list[Question]:
    """Up to `n` questions by s1's sampling; fewer only when the pool runs out."""
    rng = random.Random(seed)
    by_domain: dict[str, list[Question]] = {}
    for question in questions:
        by_domain.setdefault(question.domain or UNKNOWN_DOMAIN, []).append(question)
    for items in by_domain.values():
        items.sort(key=lambda q: (-(q.thinking_tokens or 0), q.id))
    selected: list[Question] = []
    while len(selected) < n and by_domain:
        domain = rng.choice(sorted(by_domain))
        items = by_domain[domain]
        selected.append(items.pop(_rank(rng, len(items))))
        if not items:
            del by_domain[domain]
    return selected


def _rank(rng: random.Random, size: int) -> int:
    """A rank in [0, size) with P(rank) ∝ 2^(-rank): a geometric draw, redrawn past the end."""
    while True:
        rank = 0
        while rng.random() < 0.5 and rank < size:
            rank += 1
        if rank < size:
            return rank


def select(questions: list[Question], n: int, seed: int,
           rule: PreselectConfig | None = None) -> tuple[list[Question], int]:
    """(selection, how many came from pre-selection); pre-selected examples count towards n."""
    pre = preselect(questions, rule)[:n] if rule is not None else []
    taken = {q.id for q in pre}
    rest = [q for q in questions if q.id not in taken]
    return pre + sample_by_domain(rest, n - len(pre), seed), len(pre)
