"""Benchmark files in the formats of the real ones, generated per test (no hub, no committed data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .math500_like import math500_rows

# AIME-style rows as simplescaling/aime24_nofigures has them (id, problem, solution, answer).
AIME_ROWS = [
    {"id": 60, "problem": "Find the number of positive divisors of $2024$.",
     "solution": "$2024 = 2^3 \\cdot 11 \\cdot 23$, so there are $4 \\cdot 2 \\cdot 2 = 16$.",
     "answer": "016"},
    {"id": 61, "problem": "Find the remainder when $7^{2024}$ is divided by $1000$.",
     "solution": "By the Chinese remainder theorem the remainder is 401.", "answer": "401"},
    {"id": 62, "problem": "How many ordered pairs $(a,b)$ of positive integers satisfy "
     "$a + b = 25$?", "solution": "$a$ ranges over $1, \\dots, 24$.", "answer": "24"},
]

# GPQA Diamond's column names (Idavidrein/gpqa, config gpqa_diamond).
GPQA_ROWS = [
    {"Record ID": "rec1", "Question": "Which particle mediates the electromagnetic force?",
     "Correct Answer": "Photon", "Incorrect Answer 1": "Gluon",
     "Incorrect Answer 2": "W boson", "Incorrect Answer 3": "Graviton"},
    {"Record ID": "rec2", "Question": "What is the hybridisation of carbon in methane?",
     "Correct Answer": "sp3", "Incorrect Answer 1": "sp", "Incorrect Answer 2": "sp2",
     "Incorrect Answer 3": "dsp2"},
    {"Record ID": "rec3", "Question": "Which organelle produces most of a cell's ATP?",
     "Correct Answer": "Mitochondrion", "Incorrect Answer 1": "Ribosome",
     "Incorrect Answer 2": "Golgi apparatus", "Incorrect Answer 3": "Lysosome"},
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture
def math500_file(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "math500.jsonl", math500_rows())


@pytest.fixture
def aime_file(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "aime24.jsonl", AIME_ROWS)


@pytest.fixture
def gpqa_file(tmp_path: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "gpqa_diamond.parquet"
    pq.write_table(pa.Table.from_pylist(GPQA_ROWS), path)
    return path
