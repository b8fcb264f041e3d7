"""One reader for every format: the same rows from JSONL, JSON, CSV, Parquet, Arrow and
save_to_disk folders; the real public files are read whole."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from s1.data.reader import InvalidRow, read_rows

ROWS = [{"id": "a1", "question": "What is $1+1$?", "answer": "2"},
        {"id": "a2", "question": "Name the capital of France, please.", "answer": "Paris"}]


def _write_all(folder: Path) -> dict[str, Path]:
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    paths = {suffix: folder / f"rows{suffix}" for suffix in (".jsonl", ".json", ".csv", ".parquet")}
    paths[".jsonl"].write_text("".join(json.dumps(row) + "\n" for row in ROWS))
    paths[".json"].write_text(json.dumps({"data": ROWS}))
    with paths[".csv"].open("w", newline="", encoding="utf-8-sig") as handle:  # with a BOM
        writer = csv.DictWriter(handle, fieldnames=list(ROWS[0]))
        writer.writeheader()
        writer.writerows(ROWS)
    pq.write_table(pa.Table.from_pylist(ROWS), paths[".parquet"])
    datasets.Dataset.from_list(ROWS).save_to_disk(str(folder / "saved"))
    paths["saved"] = folder / "saved"
    paths[".arrow"] = next((folder / "saved").glob("*.arrow"))
    datasets.DatasetDict({"test": datasets.Dataset.from_list(ROWS)}).save_to_disk(str(folder / "dict"))
    paths["dict"] = folder / "dict"
    return paths


def test_every_format_yields_the_same_rows(tmp_path):
    for kind, path in _write_all(tmp_path).items():
        labels, rows = zip(*read_rows(str(path), split="test"))
        assert list(rows) == ROWS, kind
        assert str(path) in labels[0]


def test_bad_jsonl_lines_cost_one_row_and_missing_files_raise(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n{broken\n\n" + json.dumps(ROWS[1]) + "\n")
    rows = list(read_rows(str(path)))
    assert [label for label, _ in rows] == [f"{path}:1", f"{path}:2", f"{path}:4"]
    assert isinstance(rows[1][1], InvalidRow) and "invalid JSON" in rows[1][1].reason
    with pytest.raises(FileNotFoundError, match="no such file"):
        list(read_rows(str(tmp_path / "missing.csv")))
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="unsupported file type"):
        list(read_rows(str(tmp_path / "notes.txt")))


@pytest.mark.parametrize(("name", "rows"), [
    ("theoremqa_test.json", 800), ("aime_1983_2024.csv", 933), ("omnimath_rule.jsonl", 2821),
    ("olympiadbench_math_en.jsonl", 675), ("agieval_math.jsonl", 1000),
])
def test_the_real_public_files_are_read_whole(data_dir, name, rows):
    read = list(read_rows(str(data_dir / name)))
    assert len(read) == rows
    assert all(isinstance(row, dict) for _, row in read)
