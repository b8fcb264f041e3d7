"""Test-time-scaling metrics against values computed by hand."""

from __future__ import annotations

import pytest

from s1.evaluation.metrics import (
    accuracy,
    control,
    mean_pass_at_k,
    pass_at_k,
    performance,
    scaling,
    within_budget,
)


def test_accuracy():
    assert accuracy([True, False, True, True]) == 0.75
    assert accuracy([]) == 0.0


def test_control_counts_runs_inside_their_budget_range():
    runs = [(100, 0, 128), (128, 0, 128), (129, 0, 128), (10, 20, None), (5000, 0, None)]
    assert control(runs) == pytest.approx(3 / 5)
    assert within_budget(0, 0, 0) and not within_budget(1, 0, 0)


def test_scaling_is_the_mean_slope_over_all_pairs():
    # (tokens, accuracy): slopes in points per 1K tokens:
    # (1000->2000): (40-20)/1 = 20; (1000->4000): (50-20)/3 = 10; (2000->4000): (50-40)/2 = 5
    points = [(2000, 0.40), (1000, 0.20), (4000, 0.50)]
    assert scaling(points) == pytest.approx((20 + 10 + 5) / 3)
    # A decreasing curve has a negative slope.
    assert scaling([(500, 0.5), (1500, 0.3)]) == pytest.approx(-20)


def test_scaling_skips_pairs_without_a_token_difference():
    assert scaling([(100, 0.1), (100, 0.3)]) is None
    assert scaling([(100, 0.1), (100, 0.3), (600, 0.4)]) == pytest.approx(((30 / 0.5) + (10 / 0.5)) / 2)
    assert scaling([(100, 0.5)]) is None


def test_performance_is_the_best_accuracy():
    assert performance([0.2, 0.567, 0.5]) == 0.567
    assert performance([]) is None


def test_pass_at_k_matches_the_combinatorial_definition():
    # n=4, c=1: pass@1 = 1/4; pass@2 = 1 - C(3,2)/C(4,2) = 1 - 3/6 = 0.5
    assert pass_at_k(4, 1, 1) == pytest.approx(0.25)
    assert pass_at_k(4, 1, 2) == pytest.approx(0.5)
    assert pass_at_k(4, 0, 4) == 0.0
    assert pass_at_k(4, 3, 2) == 1.0
    with pytest.raises(ValueError):
        pass_at_k(2, 3, 1)


def test_pass_at_1_is_the_mean_per_question_accuracy():
    samples = [("q1", True), ("q1", False), ("q1", False), ("q1", True),
               ("q2", False), ("q2", False), ("q2", False), ("q2", False)]
    assert mean_pass_at_k(samples) == pytest.approx((0.5 + 0.0) / 2)
    assert mean_pass_at_k(samples, k=4) == pytest.approx(0.5)
