"""Which examples share an optimizer step, and in which micro-step each is computed.

s1 draws each step's examples at random, one per GPU; a step then lasts as long as its longest
example while the other GPUs wait. Length-grouped steps keep s1's optimisation (the same number
of examples per step, the same steps per epoch, the same loss average) and cut that wait: within
a window of ``group_steps`` consecutive steps the examples are sorted by length and cut into
steps, so each step's examples have similar lengths, then the steps are shuffled.

The trade-off: a step is no longer a uniform random draw; its examples are correlated in length
(a short-answer step, a long-trace step) within the window, while every example is still seen
once per epoch in a seeded order. ``group_steps: 1`` is s1's uniform draw.

Under ZeRO-3 every micro-step synchronises the ranks, so when a step has several micro-steps
per rank (gradient accumulation) its examples are also ordered longest first: each micro-step
takes the next ``world_size`` of them and ranks wait only on similar lengths.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

from torch.utils.data import Sampler


def step_order(
    lengths: Sequence[int], step_size: int, group_steps: int, seed: int, epoch: int
) -> list[int]:
    """Example indices for one epoch, ``step_size`` consecutive indices per optimizer step.

    The order is a pure function of (seed, epoch): every rank computes the same one, and a run
    resumed mid-epoch sees the same steps.
    """
    if step_size < 1 or group_steps < 1:
        raise ValueError(f"step_size and group_steps must be >= 1, got {step_size}, {group_steps}")
    rng = random.Random(seed * 1_000_003 + epoch)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = step_size * group_steps
    steps: list[list[int]] = []
    for start in range(0, len(order), window):
        group = order[start:start + window]
        if group_steps > 1:
            group.sort(key=lambda index: -lengths[index])
        steps += [group[i:i + step_size] for i in range(0, len(group), step_size)]
    # A short last step stays last (the Trainer pads it as it would any epoch's remainder).
    last = steps.pop() if steps and len(steps[-1]) < step_size else None
    rng.shuffle(steps)
    if last is not None:
        steps.append(last)
    return [index for step in steps for index in sorted(step, key=lambda index: -lengths[index])]


class LengthGroupedStepSampler(Sampler[int]):
    """``step_order`` as a sampler; the Trainer's data loader gives index ``i`` of a step to rank
    ``i % world_size`` in micro-step ``i // world_size``."""

    def __init__(self, lengths: Sequence[int], step_size: int, group_steps: int, seed: int):
        self.lengths = list(lengths)
        self.step_size = step_size
        self.group_steps = group_steps
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        return iter(step_order(self.lengths, self.step_size, self.group_steps, self.seed, self.epoch))

    def __len__(self) -> int:
        return len(self.lengths)
