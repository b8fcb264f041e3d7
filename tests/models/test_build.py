"""`s1 models build`: the folder it leaves behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def test_a_built_model_is_readable_by_other_users(tiny_qwen_dir: Path):
    """KServe and the containers run as uid 1000: a model folder built by another user must be
    readable and listable under the usual umask, not left private like the staging folder."""
    mask = os.umask(0)
    os.umask(mask)
    for path in [tiny_qwen_dir, *tiny_qwen_dir.rglob("*")]:
        wanted = (0o755 if path.is_dir() else 0o644) & ~mask
        assert stat.S_IMODE(path.stat().st_mode) & wanted == wanted, (path, oct(path.stat().st_mode))
