"""What one transformers `generate` call hands out per token: text deltas and logprobs.

    recorder = LogprobRecorder(top=5)      # first logits processor: sees the raw scores
    streamer = TurnStreamer(tokenizer, recorder)
    model.generate(..., logits_processor=[recorder, ...], streamer=streamer)   # in a thread
    for item in streamer: ...              # TokenLogprob, then the text it completes (str)

`generate` scores a step (processors, in order), picks the token, then calls the streamer with
it, so at that moment the recorder still holds the distribution the token was drawn from.
Text is detokenized incrementally, token by token (a character split across tokens waits for its
last byte), so each text delta follows the logprob entries of the tokens that spell it: a
consumer that stops at a text delta has seen exactly those tokens' entries.
"""

from __future__ import annotations

import queue
from typing import Iterator

import torch
from transformers import LogitsProcessor
from transformers.generation.streamers import BaseStreamer

from s1.generation.types import TokenLogprob

_END = object()


class LogprobRecorder(LogitsProcessor):
    """Keeps the raw log-softmax of the step's scores (put it first: before temperature, top-p
    and budget forcing, as vLLM's default `raw_logprobs`); `top` likeliest tokens per entry."""

    def __init__(self, top: int):
        self.top = top
        self._current: torch.Tensor | None = None

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        self._current = torch.log_softmax(scores.float(), dim=-1)
        return scores

    def entries(self, tokens: torch.Tensor) -> list[TokenLogprob]:
        """One entry per batch row for the tokens just chosen from the last scored step."""
        logprobs = self._current
        if logprobs is None:
            raise RuntimeError("LogprobRecorder: a token arrived before any scores")
        tokens = tokens.reshape(-1).to(logprobs.device)
        chosen = logprobs.gather(1, tokens.unsqueeze(1)).squeeze(1).tolist()
        if self.top:
            values, ids = logprobs.topk(self.top, dim=-1)
            tops = [tuple(zip(row_ids, row_values)) for row_ids, row_values in zip(ids.tolist(), values.tolist())]
        else:
            tops = [()] * len(chosen)
        return [TokenLogprob(token, logprob, top) for token, logprob, top in zip(tokens.tolist(), chosen, tops)]


class LogprobCollector(BaseStreamer):
    """For a batch: every row's entries, in generation order (rows that finished early get
    entries for their padding too; the caller keeps as many as the row generated)."""

    def __init__(self, recorder: LogprobRecorder, rows: int):
        self.recorder = recorder
        self.rows: list[list[TokenLogprob]] = [[] for _ in range(rows)]
        self._prompt = True

    def put(self, value: torch.Tensor) -> None:
        if self._prompt:  # generate's first call hands over the prompt
            self._prompt = False
            return
        for row, entry in zip(self.rows, self.recorder.entries(value)):
            row.append(entry)

    def end(self) -> None:
        pass


class TurnStreamer(BaseStreamer):
    """One sequence's items as `generate` produces them; iterate from another thread.

    `entries` collects every logprob entry (also those no consumer read), for the result.
    """

    def __init__(self, tokenizer, recorder: LogprobRecorder | None = None):
        self.tokenizer = tokenizer
        self.recorder = recorder
        self.entries: list[TokenLogprob] = []
        self._items: queue.Queue = queue.Queue()
        self._prompt = True
        self._ids: list[int] = []
        self._prefix = 0  # self._ids[_prefix:_read] decodes to text already emitted
        self._read = 0

    def put(self, value: torch.Tensor) -> None:
        if self._prompt:
            self._prompt = False
            return
        if self.recorder is not None:
            [entry] = self.recorder.entries(value)
            self.entries.append(entry)
            self._items.put(entry)
        self._ids.extend(value.reshape(-1).tolist())
        delta = self._text(final=False)
        if delta:
            self._items.put(delta)

    def end(self) -> None:
        delta = self._text(final=True)
        if delta:
            self._items.put(delta)
        self._items.put(_END)

    def _text(self, final: bool) -> str:
        """Text the new tokens complete (incremental detokenization over a short window)."""
        decode = self.tokenizer.decode
        before = decode(self._ids[self._prefix:self._read], skip_special_tokens=False)
        after = decode(self._ids[self._prefix:], skip_special_tokens=False)
        if len(after) <= len(before) or (after.endswith("\ufffd") and not final):
            return ""
        self._prefix, self._read = self._read, len(self._ids)
        return after[len(before):]

    def __iter__(self) -> Iterator[str | TokenLogprob]:
        while (item := self._items.get()) is not _END:
            yield item
