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

import functools
from typing import Callable, Sequence

import torch

from s1.generation.budget_forcing import BudgetForcer

# (the batch's scores [batch, vocab], some batch rows [n], replaceable token ids [k])
#   -> per row: whether the model picks one of the replaceable tokens. Choosers read only those
#   rows and columns plus one reduction per row: no copies of whole rows.
EndChooser = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], list[bool]]


def greedy_chooser(scores: torch.Tensor, rows: torch.Tensor, columns: torch.Tensor) -> list[bool]:
    """Argmax decoding picks a replaceable token iff one of them holds the row's maximum."""
    best_end = scores[rows.unsqueeze(1), columns.unsqueeze(0)].max(1).values
    return (best_end >= scores.index_select(0, rows).max(1).values).tolist()


def sampling_chooser(generator: torch.Generator | None) -> EndChooser:
    """For scores that are already the sampler's final logits (temperature, top-p applied)."""

    def choose(scores: torch.Tensor, rows: torch.Tensor, columns: torch.Tensor) -> list[bool]:
        total = scores.logsumexp(1).index_select(0, rows)
        mass = (scores[rows.unsqueeze(1), columns.unsqueeze(0)] - total.unsqueeze(1)).exp().sum(1)
        coin = torch.rand(len(mass), generator=generator).to(mass.device)
        return (coin < mass).tolist()

    return choose


def apply_budget_forcing(
    scores: torch.Tensor,
    rows: Sequence[tuple[int, BudgetForcer]],
    chooser: EndChooser | None,
    deferred: dict[int, int] | None = None,
) -> torch.Tensor:
    """Apply each active row's rule to `scores` in place (and return it).

    rows: (batch row, forcer) for unfinished sequences, already fed every emitted token.
    chooser: decides now, for the rows that may end thinking, whether the model ends.
        None (greedy decoding only) skips that extra pass over the vocabulary: each replaceable
        token's score is moved onto its replacement, so argmax lands on the replacement exactly
        when it would have landed on one of them or on the replacement itself; the rows where
        an end token carried the maximum are recorded in `deferred` (row -> that token) and
        `feed_row` completes the interception once the emitted token is known.
    deferred: when given, no forcer is changed here: the chooser's early ends are recorded in
        it too, for engines that may discard a step's token (vLLM's chunked prefill).
    """
    forced_rows: list[int] = []
    forced_tokens: list[int] = []
    banned_rows: list[int] = []
    banned_tokens: list[int] = []
    groups: dict[tuple[frozenset[int], int | None], list[tuple[int, BudgetForcer]]] = {}
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
            groups.setdefault((step.replace, step.replacement), []).append((row, forcer))
    device = scores.device
    if banned_rows:
        scores[banned_rows, banned_tokens] = float("-inf")
    for (replace, replacement), members in groups.items():
        index = torch.tensor([row for row, _ in members], device=device)
        columns = _columns(replace, device)
        cells = (index.unsqueeze(1), columns.unsqueeze(0))
        best, position = scores[cells].max(1)
        if chooser is None:
            own = scores[index, replacement]
            scores[index, replacement] = torch.maximum(own, best)
            scores[cells] = float("-inf")
            for (row, _), won, token in zip(members, (best > own).tolist(), columns[position].tolist()):
                if won:
                    deferred[row] = token
            continue
        keep_going = []
        picks = chooser(scores, index, columns)
        for (row, forcer), picked, token in zip(members, picks, columns[position].tolist()):
            if not picked:
                keep_going.append(row)
                continue
            forced_rows.append(row)
            if deferred is None:
                forced_tokens.append(forcer.intercept(token))
            else:  # the caller intercepts once the engine keeps the token (`feed_row`)
                forced_tokens.append(replacement)
                deferred[row] = token
        if keep_going:
            keep = torch.tensor(keep_going, device=device).unsqueeze(1)
            scores[keep, columns.unsqueeze(0)] = float("-inf")
    if forced_rows:
        index = torch.tensor(forced_rows, device=device)
        scores.index_fill_(0, index, float("-inf"))
        scores[index, torch.tensor(forced_tokens, device=device)] = 0.0
    return scores


@functools.lru_cache(maxsize=64)
def _columns(tokens: frozenset[int], device: torch.device) -> torch.Tensor:
    return torch.tensor(sorted(tokens), device=device)


def feed_row(forcer: BudgetForcer, token: int, deferred_end: int | None) -> None:
    """Feed an emitted token; if `apply_budget_forcing` deferred an interception for this row and
    the replacement was emitted, the model had chosen `deferred_end`: intercept it first."""
    if deferred_end is not None and token == forcer.step().replacement:
        forcer.intercept(deferred_end)
    forcer.feed(token)
