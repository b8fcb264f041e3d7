"""Test-time-scaling metrics (s1 paper §3.2) and sampling metrics.

A *budget point* is one setting of the thinking budget (a cap and/or a number of ignored
end-of-thinking attempts). Per benchmark, s1 reports

- Control: the fraction of runs whose thinking stays within [a_min, a_max];
- Scaling: the mean slope (f(b) − f(a)) / (b − a) over all pairs of points b > a, here with f the
  accuracy in percentage points and b, a the mean thinking tokens in thousands, so the figure
  reads "accuracy points gained per 1,000 more thinking tokens";
- Performance: the best accuracy over the points.
"""

from __future__ import annotations

import math
from collections import defaultdict
from itertools import combinations
from typing import Iterable, Mapping, Sequence


def accuracy(correct: Sequence[bool]) -> float:
    """Fraction correct (0.0 for no samples, so an empty benchmark never divides by zero)."""
    return sum(map(bool, correct)) / len(correct) if correct else 0.0


def within_budget(thinking_tokens: int, a_min: int = 0, a_max: int | None = None) -> bool:
    """Whether one run's thinking length lies in [a_min, a_max] (no upper bound when None)."""
    return thinking_tokens >= a_min and (a_max is None or thinking_tokens <= a_max)


def control(runs: Iterable[tuple[int, int, int | None]]) -> float:
    """Fraction of runs ``(thinking_tokens, a_min, a_max)`` within their own budget range."""
    flags = [within_budget(tokens, a_min, a_max) for tokens, a_min, a_max in runs]
    return accuracy(flags)


def scaling(points: Sequence[tuple[float, float]]) -> float | None:
    """Mean slope over all pairs of ``(mean_thinking_tokens, accuracy)`` points with more tokens
    at b than at a, in accuracy points (%) per 1,000 thinking tokens; accuracy is a fraction.

    Pairs with equal token counts have no slope and are skipped; None when no pair is left.
    """
    slopes = [
        (100 * (f_b - f_a)) / ((b - a) / 1000)
        for (a, f_a), (b, f_b) in combinations(sorted(points), 2)
        if b > a
    ]
    return sum(slopes) / len(slopes) if slopes else None


def performance(accuracies: Sequence[float]) -> float | None:
    """The best accuracy over the budget points (None for none)."""
    return max(accuracies) if accuracies else None


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from ``n`` samples with ``c`` correct (Chen et al., 2021)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n (n={n}, c={c}, k={k})")
    if n - c < k:
        return 1.0
    return 1.0 - math.prod((n - c - i) / (n - i) for i in range(k))


def mean_pass_at_k(samples: Iterable[tuple[str, bool]], k: int = 1) -> float:
    """pass@k averaged over questions, from ``(question_id, correct)`` samples (k samples or
    more per question; pass@1 is then the mean per-question accuracy)."""
    per_question: Mapping[str, list[bool]] = defaultdict(list)
    for qid, correct in samples:
        per_question[qid].append(bool(correct))
    if not per_question:
        return 0.0
    scores = [pass_at_k(len(flags), sum(flags), k) for flags in per_question.values()]
    return sum(scores) / len(scores)
