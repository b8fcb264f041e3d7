"""Curation fixtures: small synthetic pools and eval sets written as JSONL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def _write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


@pytest.fixture
def write_jsonl():
    """Write rows (dicts, or raw strings for broken lines) as a JSONL file."""
    return _write_jsonl


@pytest.fixture(scope="session")
def tokenizer_dir(tiny_qwen_dir: Path) -> str:
    """The real Qwen2.5 tokenizer (inside the tiny model folder) for trace lengths."""
    return str(tiny_qwen_dir)
