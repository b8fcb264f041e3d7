"""JSON Lines files, the record format every stage hands to the next: one reader, one writer.

The reader never decides what a bad line means: it yields the line's number and either its value
or why it could not be parsed, and each caller applies its own policy (curation drops the row,
benchmark loading stops, grading counts it wrong, the call cache skips a torn last write).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator


@dataclass(frozen=True, slots=True)
class Line:
    """One non-empty line: ``value`` when it parsed, else ``error``, the JSON parser's message."""

    number: int
    value: Any = None
    error: str | None = None


def read_jsonl(path: Path, errors: str = "strict") -> Iterator[Line]:
    """Every non-empty line of a UTF-8 JSONL file, in order (invalid UTF-8 raises, unless
    ``errors="replace"``)."""
    with Path(path).open(encoding="utf-8", errors=errors) as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                yield Line(number, json.loads(text))
            except json.JSONDecodeError as error:
                yield Line(number, error=f"{error.msg} at column {error.colno}")


def load_jsonl(path: Path) -> list[Any]:
    """Every value of a JSONL file this project wrote; a line that does not parse is an error
    naming the file and line (for files that are never hand-edited: samples, metrics)."""
    values = []
    for line in read_jsonl(path):
        if line.error is not None:
            raise ValueError(f"{path}:{line.number}: invalid JSON ({line.error})")
        values.append(line.value)
    return values


def write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    """Write atomically (temp file + rename): readers never see half a file."""
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(partial, path)
