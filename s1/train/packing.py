"""Padding-free packing: whole examples in token-budget bins, one bin per row.

Each row carries per-example ``position_ids`` restarting at 0, which is how transformers marks
packed sequences: flash-attention-2 turns them into varlen ``cu_seqlens`` and sdpa/eager get a
block-diagonal causal mask (``masking_utils.find_packed_sequence_indices``), so no token attends
across an example boundary. Labels are shifted here (``shift_labels``) with the last token of
every example masked, so no loss crosses a boundary either.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Sequence

from s1.format import IGNORE_INDEX, SFTExample


def first_fit_decreasing(lengths: Sequence[int], budget: int) -> list[list[int]]:
    """Indices grouped into bins whose lengths sum to at most ``budget`` (longest first).

    Bins are kept sorted by free space so each placement is a binary search: the tightest bin
    that still fits (best fit), which packs long-tailed lengths to >99% on s1K-like data.
    """
    if any(length > budget for length in lengths):
        raise ValueError(f"an example is longer than the bin budget {budget}; truncate or drop it first")
    order = sorted(range(len(lengths)), key=lambda index: (-lengths[index], index))
    free: list[int] = []  # free space of each open bin, ascending
    bins_by_free: list[list[int]] = []  # the bins, in the same order as `free`
    for index in order:
        length = lengths[index]
        slot = bisect.bisect_left(free, length)
        if slot < len(free):
            items = bins_by_free.pop(slot)
            space = free.pop(slot) - length
        else:
            items, space = [], budget - length
        items.append(index)
        slot = bisect.bisect_left(free, space)
        free.insert(slot, space)
        bins_by_free.insert(slot, items)
    # Deterministic order independent of the free-space bookkeeping: by first (longest) member.
    return sorted(bins_by_free, key=lambda items: items[0])


@dataclass(frozen=True)
class PackedRow:
    input_ids: list[int]
    position_ids: list[int]
    labels: list[int]
    shift_labels: list[int]
    # Lengths of the examples in this row, in order (attention FLOPs grow with their squares).
    seq_lengths: list[int]


def pack_row(examples: Sequence[SFTExample]) -> PackedRow:
    """Concatenate examples into one padding-free row with per-example positions and labels."""
    input_ids, position_ids, labels, shift_labels, lengths = [], [], [], [], []
    for example in examples:
        n = len(example.input_ids)
        input_ids += example.input_ids
        position_ids += range(n)
        # The first token of an example is never a target of the previous example's last token.
        labels += [IGNORE_INDEX] + list(example.labels[1:])
        shift_labels += list(example.labels[1:]) + [IGNORE_INDEX]
        lengths.append(n)
    return PackedRow(input_ids, position_ids, labels, shift_labels, lengths)


def pack_examples(examples: Sequence[SFTExample], block_size: int) -> list[PackedRow]:
    bins = first_fit_decreasing([len(example.input_ids) for example in examples], block_size)
    return [pack_row([examples[index] for index in items]) for items in bins]


def unpacked_rows(examples: Sequence[SFTExample]) -> list[PackedRow]:
    """One example per row (the unpacked baseline: same format, no packing)."""
    return [pack_row([example]) for example in examples]


def useful_token_fraction(real_tokens: int, processed_tokens: int) -> float:
    """Real tokens over tokens the model computes on (padding included)."""
    return real_tokens / processed_tokens if processed_tokens else 0.0


class PackedCollator:
    """One packed row per micro-batch -> tensors of shape [1, row length].

    No padding and no attention mask: the position ids alone carry the example boundaries
    (an attention mask would switch transformers off its packed-sequence path).
    """

    def __call__(self, rows: Sequence[dict]) -> dict:
        import torch

        if len(rows) != 1:
            raise ValueError(f"packed training takes one row per micro-batch, got {len(rows)}")
        row = rows[0]
        return {key: torch.tensor([row[key]]) for key in ("input_ids", "position_ids", "labels", "shift_labels")}
