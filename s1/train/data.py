"""Training examples: read and validate ``selected.jsonl``, tokenize with the s1 loss mask.

Everything here runs before any process group exists, so a bad dataset fails once, with the
file, the row and the reason, instead of as N rank tracebacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from s1.curation.report import SELECTED  # the file curation hands to training
from s1.format import IGNORE_INDEX, SFTExample, Tokenizer, tokenize_sft_example
from s1.jsonl import read_jsonl

REQUIRED_TEXT_FIELDS = ("id", "question", "thinking", "answer")


class TrainingDataError(ValueError):
    """The training data cannot be used; the message names the file, the row and why."""


@dataclass(frozen=True)
class TokenizedDataset:
    examples: list[SFTExample]
    ids: list[str]
    # Examples longer than the block size: cut to it (truncated) or left out (dropped).
    truncated: int
    dropped: int
    # Examples whose loss tokens all fell beyond the block size (nothing to learn): left out.
    no_loss_tokens: int

    @property
    def num_tokens(self) -> int:
        return sum(len(example.input_ids) for example in self.examples)

    def report(self) -> dict[str, int]:
        return {
            "examples": len(self.examples),
            "tokens": self.num_tokens,
            "loss_tokens": sum(example.num_loss_tokens for example in self.examples),
            "truncated": self.truncated,
            "dropped_overlong": self.dropped,
            "dropped_no_loss_tokens": self.no_loss_tokens,
        }


def data_file(data: Path) -> Path:
    """``--data`` is a folder holding ``selected.jsonl`` or a ``.jsonl`` file."""
    data = Path(data)
    path = data / SELECTED if data.is_dir() else data
    if not path.is_file():
        raise TrainingDataError(f"training data not found: {path}")
    return path


def read_examples(data: Path) -> list[dict]:
    """Read and validate training rows (schema: docs/architecture.md, "Training example")."""
    path = data_file(data)
    rows: list[dict] = []
    seen: dict[str, int] = {}
    for line in read_jsonl(path):
        where = f"{path}:{line.number}"
        if line.error is not None:
            raise TrainingDataError(f"{where}: not valid JSON ({line.error})")
        row = line.value
        if not isinstance(row, dict):
            raise TrainingDataError(f"{where}: expected a JSON object, got {type(row).__name__}")
        for key in REQUIRED_TEXT_FIELDS:
            value = row.get(key)
            if not isinstance(value, str):
                raise TrainingDataError(
                    f"{where}: field {key!r} must be a string, got {type(value).__name__}"
                )
            if key != "id" and not value.strip():
                raise TrainingDataError(f"{where}: field {key!r} is empty")
        if row["id"] in seen:
            raise TrainingDataError(
                f"{where}: duplicate id {row['id']!r} (first on line {seen[row['id']]})"
            )
        seen[row["id"]] = line.number
        rows.append(row)
    if not rows:
        raise TrainingDataError(f"{path}: no training examples (empty file)")
    return rows


def tokenize_examples(
    tokenizer: Tokenizer,
    rows: list[dict],
    block_size: int,
    overlong: Literal["truncate", "drop"],
) -> TokenizedDataset:
    """Tokenize rows with the s1 loss mask (thinking + answer + ``<|im_end|>``)."""
    examples, ids = [], []
    truncated = dropped = no_loss = 0
    for row in rows:
        example = tokenize_sft_example(tokenizer, row["question"], row["thinking"], row["answer"])
        if len(example.input_ids) > block_size:
            if overlong == "drop":
                dropped += 1
                continue
            truncated += 1
            example = SFTExample(example.input_ids[:block_size], example.labels[:block_size])
        # The first label is never a prediction target (nothing precedes it).
        if not any(label != IGNORE_INDEX for label in example.labels[1:]):
            no_loss += 1
            continue
        examples.append(example)
        ids.append(row["id"])
    if not examples:
        raise TrainingDataError(
            f"no usable examples: {len(rows)} read, {dropped} longer than block_size={block_size} "
            f"dropped, {no_loss} without loss tokens after truncation"
        )
    return TokenizedDataset(examples, ids, truncated, dropped, no_loss)
