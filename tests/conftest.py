"""Shared fixtures: local models built once per test session (no hub access anywhere)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_qwen_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Qwen2 with the real Qwen2.5 tokenizer (built in ~10 s)."""
    from s1.models.build import build_model

    return build_model("tiny-qwen", tmp_path_factory.mktemp("models") / "tiny-qwen")


@pytest.fixture(scope="session")
def qwen_tokenizer(tiny_qwen_dir: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_qwen_dir)
