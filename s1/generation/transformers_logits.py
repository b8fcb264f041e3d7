"""Budget forcing inside one transformers `generate` call: a batched `LogitsProcessor`.

Each row carries its own `BudgetForcer`. Per step the processor feeds each row the token chosen
at the previous step, then `logits.apply_budget_forcing` applies the rows' rules. No re-prefill,
so the KV cache and the exact token prefix are kept across waits and the forced delimiter.

It must see the final next-token distribution: it runs after the temperature/top-p warpers
(`sampling_processors`), and `generate` is called with no warpers of its own
(`generate_kwargs`), because `generate` would otherwise apply them after custom processors.
"""

from __future__ import annotations

from typing import Sequence

import torch
from transformers import LogitsProcessor, LogitsProcessorList, TemperatureLogitsWarper, TopPLogitsWarper

from s1.generation.budget_forcing import BudgetForcer
from s1.generation.logits import apply_budget_forcing, feed_row, sampling_chooser
from s1.generation.types import Sampling


class BudgetForcingLogitsProcessor(LogitsProcessor):
    """Drives one `BudgetForcer` per batch row from `generate`'s scores.

    prompt_length: the (left-padded) prompt width, so generated tokens start at that column.
    greedy: whether `generate` decodes greedily (argmax decides early ends, see
        `logits.apply_budget_forcing`); otherwise a coin drawn from `generator` does
        (`logits.sampling_chooser`).
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
        # Greedy: no extra pass over the vocabulary (interceptions are completed on feed).
        self.chooser = None if greedy else sampling_chooser(generator)
        self.deferred: dict[int, int] = {}

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if input_ids.shape[1] > self.prompt_length:
            for row, (forcer, token) in enumerate(zip(self.forcers, input_ids[:, -1].tolist())):
                if not forcer.done:
                    feed_row(forcer, token, self.deferred.get(row))
        self.deferred.clear()
        active = [(row, forcer) for row, forcer in enumerate(self.forcers) if not forcer.done]
        return apply_budget_forcing(scores, active, self.chooser, self.deferred)

    def finish(self, sequences: torch.LongTensor) -> None:
        """Feed what `generate` produced after the last processor call (the final stop tokens)."""
        for index, (forcer, row) in enumerate(zip(self.forcers, sequences.tolist())):
            column = self.prompt_length + len(forcer.tokens)
            while not forcer.done and column < len(row):
                feed_row(forcer, row[column], self.deferred.pop(index, None))
                column += 1


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
