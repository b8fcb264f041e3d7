"""The tensor side of budget forcing, shared by the engine adapters (transformers, vLLM).

`apply_budget_forcing` turns the rows' `Step`s into a few batched tensor ops on the next-token
scores (no Python loop over the vocabulary): forced rows become one-hot, banned tokens are
masked, and where the model would choose a token in `step.replace` (an early end of thinking)
the state machine's replacement ("Wait", or the answer delimiter) is forced at that same
position; where it would not, those tokens are masked so the model keeps thinking.

"Would the model choose it" is the engine's call (`EndChooser`): by argmax when decoding
greedily; when sampling, by a coin that lands with the probability mass the sampler would give
those tokens. Masking them otherwise samples from the rest renormalised, so the emitted
distribution is exactly "sample, then replace an early end", as in s1's multi-round code.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch

from s1.generation.budget_forcing import BudgetForcer

# (scores of some rows [n, vocab], replaceable token ids [k], those rows' batch indices)
#   -> per row: whether the model picks one of the replaceable tokens.
EndChooser = Callable[[torch.Tensor, torch.Tensor, Sequence[int]], list[bool]]


def greedy_chooser(row_scores: torch.Tensor, columns: torch.Tensor, _rows: Sequence[int] = ()) -> list[bool]:
    """Argmax decoding picks a replaceable token iff one of them holds the row's maximum."""
    best = row_scores.index_select(1, columns).max(1).values
    return (best >= row_scores.max(1).values).tolist()


def sampling_chooser(generator: torch.Generator | None) -> EndChooser:
    """For scores that are already the sampler's final logits (temperature, top-p applied)."""

    def choose(row_scores: torch.Tensor, columns: torch.Tensor, _rows: Sequence[int] = ()) -> list[bool]:
        mass = torch.softmax(row_scores, dim=-1).index_select(1, columns).sum(1)
        coin = torch.rand(len(mass), generator=generator).to(mass.device)
        return (coin < mass).tolist()

    return choose


def apply_budget_forcing(
    scores: torch.Tensor,
    rows: Sequence[tuple[int, BudgetForcer]],
    chooser: EndChooser,
) -> torch.Tensor:
    """Apply each active row's rule to `scores` in place (and return it).

    rows: (batch row, forcer) for unfinished sequences, already fed every emitted token.
    chooser: decides for the rows that may end thinking (it gets their batch indices too, for
        engines whose rows differ in temperature).
    """
    forced_rows: list[int] = []
    forced_tokens: list[int] = []
    banned_rows: list[int] = []
    banned_tokens: list[int] = []
    groups: dict[frozenset[int], list[tuple[int, BudgetForcer]]] = {}
    for row, forcer in rows:
        step = forcer.step()
        if step.forced is not None:
            forced_rows.append(row)
            forced_tokens.append(step.forced)
            continue
        for token in step.banned:
            banned_rows.append(row)
            banned_tokens.append(token)
        if step.replace:
            groups.setdefault(step.replace, []).append((row, forcer))
    device = scores.device
    if banned_rows:
        scores[banned_rows, banned_tokens] = float("-inf")
    for replace, members in groups.items():
        batch_rows = [row for row, _ in members]
        columns = torch.tensor(sorted(replace), device=device)
        row_scores = scores.index_select(0, torch.tensor(batch_rows, device=device))
        picks = chooser(row_scores, columns, batch_rows)
        best = columns[row_scores.index_select(1, columns).argmax(1)].tolist()
        keep_going = []
        for (row, forcer), picked, token in zip(members, picks, best):
            if picked:
                forced_rows.append(row)
                forced_tokens.append(forcer.intercept(token))
            else:
                keep_going.append(row)
        if keep_going:
            keep = torch.tensor(keep_going, device=device).unsqueeze(1)
            scores[keep, columns.unsqueeze(0)] = float("-inf")
    if forced_rows:
        index = torch.tensor(forced_rows, device=device)
        scores.index_fill_(0, index, float("-inf"))
        scores[index, torch.tensor(forced_tokens, device=device)] = 0.0
    return scores
