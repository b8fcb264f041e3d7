import random

import pytest

from s1.train.sampling import step_order


def spread(lengths, order, step_size):
    """Sum over steps of (longest - shortest) length: how long ranks wait on each other."""
    steps = [order[i:i + step_size] for i in range(0, len(order), step_size)]
    return sum(max(lengths[i] for i in s) - min(lengths[i] for i in s) for s in steps)


def test_every_example_once_per_epoch_seeded_and_epochs_differ():
    lengths = [random.Random(0).randint(100, 30000) for _ in range(103)]
    for group in (1, 8):
        order = step_order(lengths, 16, group, seed=42, epoch=0)
        assert sorted(order) == list(range(103))
        assert order == step_order(lengths, 16, group, seed=42, epoch=0)
        assert order != step_order(lengths, 16, group, seed=42, epoch=1)


def test_grouped_steps_keep_step_size_and_cut_the_length_spread():
    rng = random.Random(1)
    lengths = [int(rng.lognormvariate(8.2, 0.75)) for _ in range(1000)]
    uniform = step_order(lengths, 16, 1, seed=0, epoch=0)
    grouped = step_order(lengths, 16, 8, seed=0, epoch=0)
    assert spread(lengths, grouped, 16) < 0.5 * spread(lengths, uniform, 16)
    # Within a step, longest first: micro-step m of a rank takes positions m*world .. m*world+world-1.
    first = grouped[:16]
    assert [lengths[i] for i in first] == sorted((lengths[i] for i in first), reverse=True)


def test_uniform_draw_is_a_plain_shuffle():
    lengths = list(range(32))
    order = step_order(lengths, 4, 1, seed=3, epoch=0)
    steps = [set(order[i:i + 4]) for i in range(0, 32, 4)]
    assert any(max(s) - min(s) > 8 for s in steps)  # not grouped by length
    with pytest.raises(ValueError, match=">= 1"):
        step_order(lengths, 0, 1, seed=0, epoch=0)
