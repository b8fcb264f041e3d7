"""Where s1 keeps what it builds once (local models, the offline Qwen2.5 tokenizer)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$S1_CACHE_DIR``, else ``$XDG_CACHE_HOME/s1``, else ``~/.cache/s1``."""
    if os.environ.get("S1_CACHE_DIR"):
        return Path(os.environ["S1_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "s1"
