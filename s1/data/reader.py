"""Rows of a dataset, whatever its format: JSONL, JSON, CSV, Parquet, Arrow, a ``save_to_disk``
folder or a Hugging Face hub id.

Files are read with the standard library and pyarrow (no ``datasets`` cache is written for a local
file); folders and hub ids go through ``datasets``. Each row comes with a label naming where it is
(``file.jsonl:17``, ``file.csv[16]``) for messages. A JSONL line that is not JSON is yielded as an
``InvalidRow`` so one bad line costs one row; what that means is the caller's policy. A location
that cannot be read raises.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, NoReturn

from s1.jsonl import read_jsonl

FILE_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet", ".arrow")


@dataclass(frozen=True)
class InvalidRow:
    """A row that could not be parsed; ``reason`` says why."""

    reason: str


def read_rows(location: str, split: str = "train", config: str | None = None
              ) -> Iterator[tuple[str, Any]]:
    """Yield (label, row) from a file, a saved dataset folder or a hub id; raises if unreadable."""
    path = Path(location).expanduser()
    if path.is_dir():
        yield from _saved_dataset(path, split)
        return
    if path.suffix in FILE_SUFFIXES or location.startswith((".", "/", "~")):
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {location}")
        yield from _FILE_READERS.get(path.suffix, _unsupported)(path)
        return
    if path.exists():
        _unsupported(path)
    yield from _hub_dataset(location, split, config)


def _jsonl(path: Path) -> Iterator[tuple[str, Any]]:
    for line in read_jsonl(path):
        yield f"{path}:{line.number}", (line.value if line.error is None
                                        else InvalidRow(f"invalid JSON ({line.error})"))


def _json(path: Path) -> Iterator[tuple[str, Any]]:
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        if error.msg != "Extra data":
            raise ValueError(f"{path}: invalid JSON ({error.msg} at line {error.lineno})") from None
        yield from _jsonl(path)  # JSON Lines under a .json name, as the hub's json builder allows
        return
    if isinstance(data, dict) and len(data) == 1 and isinstance(next(iter(data.values())), list):
        data = next(iter(data.values()))  # {"data": [...]}
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON array of objects, got {type(data).__name__}")
    for index, row in enumerate(data):
        yield f"{path}[{index}]", row


def _csv(path: Path) -> Iterator[tuple[str, Any]]:
    # utf-8-sig: spreadsheet exports start with a byte-order mark that would rename the first column.
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for index, row in enumerate(csv.DictReader(handle)):
            yield f"{path}[{index}]", row


def _parquet(path: Path) -> Iterator[tuple[str, Any]]:
    import pyarrow.parquet as pq

    index = 0
    for batch in pq.ParquetFile(path).iter_batches():
        for row in batch.to_pylist():
            yield f"{path}[{index}]", row
            index += 1


def _arrow(path: Path) -> Iterator[tuple[str, Any]]:
    """An Arrow IPC stream (what ``save_to_disk`` writes) or an Arrow IPC file."""
    import pyarrow as pa

    with pa.memory_map(str(path)) as source:
        try:
            table = pa.ipc.open_stream(source).read_all()
        except pa.ArrowInvalid:
            source.seek(0)
            table = pa.ipc.open_file(source).read_all()
    for index, row in enumerate(table.to_pylist()):
        yield f"{path}[{index}]", row


def _unsupported(path: Path) -> NoReturn:
    raise ValueError(f"{path}: unsupported file type (use {', '.join(FILE_SUFFIXES)}, a "
                     "save_to_disk folder or a hub id)")


_FILE_READERS = {".jsonl": _jsonl, ".json": _json, ".csv": _csv, ".parquet": _parquet,
                 ".arrow": _arrow}


def _saved_dataset(path: Path, split: str) -> Iterator[tuple[str, Any]]:
    """A ``save_to_disk`` folder (a Dataset, or a DatasetDict read at ``split``), or a folder of
    data files read by ``datasets.load_dataset``."""
    import datasets

    if (path / "dataset_dict.json").is_file() or (path / "dataset_info.json").is_file():
        dataset = datasets.load_from_disk(str(path))
    else:
        dataset = datasets.load_dataset(str(path))
    if isinstance(dataset, datasets.DatasetDict):
        if split not in dataset and len(dataset) == 1:
            split = next(iter(dataset))  # the only split there is
        if split not in dataset:
            raise ValueError(f"{path}: no split {split!r} (splits: {', '.join(dataset)})")
        dataset = dataset[split]
    for index, row in enumerate(dataset):
        yield f"{path}[{index}]", row


def _hub_dataset(location: str, split: str, config: str | None) -> Iterator[tuple[str, Any]]:
    import datasets

    dataset = datasets.load_dataset(location, config, split=split)
    for index, row in enumerate(dataset):
        yield f"{location}[{index}]", row
