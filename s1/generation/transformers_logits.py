"""Budget forcing inside one transformers `generate` call: a batched `LogitsProcessor`.

Each row carries its own `BudgetForcer`. Per step the processor feeds each row the token chosen
at the previous step, then applies the rows' rules with a handful of tensor ops (no Python loop
over the vocabulary): forced rows become one-hot, banned tokens are masked, and rows whose
model would pick an end-of-thinking token while a wait is owed get the ignore string forced at
that same position. No re-prefill, so the KV cache and the exact token prefix are kept.

It must see the final next-token distribution: pass it last, after any temperature/top-p
warpers, and run `generate` with no warpers of its own (`greedy_kwargs`/`sampling_kwargs`).
"""

from __future__ import annotations

from typing import Sequence

import torch
from transformers import LogitsProcessor, LogitsProcessorList, TemperatureLogitsWarper, TopPLogitsWarper

from s1.generation.budget_forcing import BudgetForcer
from s1.generation.types import Sampling


class BudgetForcingLogitsProcessor(LogitsProcessor):
    """Drives one `BudgetForcer` per batch row from `generate`'s logits.

    prompt_length: the (left-padded) prompt width, so generated tokens start at that column.
    greedy: decide "the model would end thinking here" by argmax; otherwise by a coin with the
        probability of the end tokens (drawn from `generator`), which keeps the sampling
        distribution exactly that of "sample, then replace an early end by the ignore string".
    """

    def __init__(
        self,
        forcers: Sequence[BudgetForcer],
        prompt_length: int,
        greedy: bool = True,
        generator: torch.Generator | None = None,
    ):
        self.forcers = list(forcers)
        self.prompt_length = prompt_length
        self.greedy = greedy
        self.generator = generator

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if input_ids.shape[1] > self.prompt_length:
            for forcer, token in zip(self.forcers, input_ids[:, -1].tolist()):
                if not forcer.done:
                    forcer.feed(token)
        forced_rows: list[int] = []
        forced_tokens: list[int] = []
        banned_rows: list[int] = []
        banned_tokens: list[int] = []
        replace_groups: dict[frozenset[int], list[int]] = {}
        for row, forcer in enumerate(self.forcers):
            if forcer.done:
                continue  # generate pads finished rows itself
            step = forcer.step()
            if step.forced is not None:
                forced_rows.append(row)
                forced_tokens.append(step.forced)
                continue
            for token in step.banned:
                banned_rows.append(row)
                banned_tokens.append(token)
            if step.replace:
                replace_groups.setdefault(step.replace, []).append(row)
        if banned_rows:
            scores[banned_rows, banned_tokens] = float("-inf")
        for replace, rows in replace_groups.items():
            self._intercept(scores, rows, sorted(replace), forced_rows, forced_tokens)
        if forced_rows:
            rows = torch.tensor(forced_rows, device=scores.device)
            scores.index_fill_(0, rows, float("-inf"))
            scores[rows, torch.tensor(forced_tokens, device=scores.device)] = 0.0
        return scores

    def finish(self, sequences: torch.LongTensor) -> None:
        """Feed what `generate` produced after the last processor call (the final stop tokens)."""
        for forcer, row in zip(self.forcers, sequences.tolist()):
            column = self.prompt_length + len(forcer.tokens)
            while not forcer.done and column < len(row):
                forcer.feed(row[column])
                column += 1

    def _intercept(
        self,
        scores: torch.FloatTensor,
        rows: list[int],
        replace: list[int],
        forced_rows: list[int],
        forced_tokens: list[int],
    ) -> None:
        """Rows sharing one `replace` set: force the replacement where the model would pick one
        of those tokens, mask them out where it keeps going."""
        index = torch.tensor(rows, device=scores.device)
        columns = torch.tensor(replace, device=scores.device)
        row_scores = scores.index_select(0, index)
        end_scores = row_scores.index_select(1, columns)
        best_end = columns[end_scores.argmax(1)].tolist()
        if self.greedy:
            ends = (end_scores.max(1).values >= row_scores.max(1).values).tolist()
        else:
            end_mass = torch.softmax(row_scores, dim=-1).index_select(1, columns).sum(1)
            coin = torch.rand(len(rows), generator=self.generator).to(scores.device)
            ends = (coin < end_mass).tolist()
        keep_going = []
        for row, end, token in zip(rows, ends, best_end):
            if end:
                forced_rows.append(row)
                forced_tokens.append(self.forcers[row].intercept(token))
            else:
                keep_going.append(row)
        if keep_going:
            keep = torch.tensor(keep_going, device=scores.device).unsqueeze(1)
            scores[keep, columns.unsqueeze(0)] = float("-inf")


def sampling_processors(sampling: Sampling) -> LogitsProcessorList:
    """The warpers `generate` would add, applied before budget forcing so it sees final scores."""
    processors = LogitsProcessorList()
    if sampling.temperature > 0 and sampling.temperature != 1.0:
        processors.append(TemperatureLogitsWarper(sampling.temperature))
    if sampling.temperature > 0 and sampling.top_p < 1.0:
        processors.append(TopPLogitsWarper(sampling.top_p))
    return processors


def generate_kwargs(sampling: Sampling) -> dict:
    """`generate` settings that add no warpers after the budget-forcing processor."""
    if sampling.temperature <= 0:
        return {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
    return {"do_sample": True, "temperature": 1.0, "top_p": 1.0, "top_k": 0}
