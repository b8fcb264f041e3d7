"""Training fixtures: a small, deterministic set of s1-format training rows."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest


def training_rows(n: int, seed: int = 0) -> list[dict]:
    """Arithmetic questions with a short worked trace (the training-example schema)."""
    rng = random.Random(seed)
    rows = []
    for index in range(n):
        a, b = rng.randint(10, 99), rng.randint(10, 99)
        steps = " ".join(f"Step {k}: add the tens and carry." for k in range(rng.randint(1, 6)))
        rows.append({
            "id": f"q{index}", "source": "test", "question": f"What is {a} + {b}?",
            "thinking": f"We add {a} and {b}. {steps} So the sum is {a + b}.",
            "answer": str(a + b), "domain": "arithmetic", "thinking_tokens": 20,
        })  # fmt: skip
    return rows


def write_rows(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture
def train_data(tmp_path: Path) -> Path:
    write_rows(tmp_path / "data" / "selected.jsonl", training_rows(16))
    return tmp_path / "data"
