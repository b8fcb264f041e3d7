"""Build a local model folder once and reuse it: `s1 models build NAME --out DIR`."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from s1.models.smollm2 import build_smollm2
from s1.models.tiny_qwen import build_tiny_qwen

BUILDERS: dict[str, Callable[[Path], Path]] = {
    "tiny-qwen": build_tiny_qwen,
    "smollm2": build_smollm2,
}
# Written last: a folder without it is a build that died half-way and is rebuilt.
COMPLETE_MARKER = ".s1-model-complete"


def build_model(name: str, out: Path, force: bool = False) -> Path:
    """Build `name` into `out` atomically; an already complete folder is returned as is."""
    if name not in BUILDERS:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(BUILDERS)}")
    out = Path(out)
    if (out / COMPLETE_MARKER).is_file() and not force:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        BUILDERS[name](staging)
        (staging / COMPLETE_MARKER).write_text(name + "\n")
        _readable_by_all(staging)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def _readable_by_all(folder: Path) -> None:
    """Grant read (and, on folders, list) access as the umask allows: mkdtemp's folder is private
    (0700) and some writers (safetensors) leave files 0600, but a serving container under another
    uid (KServe's pods run as 1000) must read the model."""
    mask = os.umask(0)
    os.umask(mask)
    for path in [folder, *folder.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode | ((0o555 if path.is_dir() else 0o444) & ~mask))
