"""Checkpoints that are either complete or ignored.

The Trainer writes ``checkpoint-<step>/`` from every rank (ZeRO-3 shards, RNG states); a marker
file is written only after all ranks have finished saving (a barrier, then write-then-rename by
rank 0). Resume picks the newest checkpoint with a marker, so a checkpoint half-written when a
pod died is never loaded; it is deleted before training continues.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
from pathlib import Path

from transformers import TrainerCallback

log = logging.getLogger(__name__)

MARKER = "CHECKPOINT_COMPLETE"
_CHECKPOINT_DIR = re.compile(r"^checkpoint-(\d+)$")


def checkpoint_dirs(out: Path) -> list[tuple[int, Path]]:
    """All ``checkpoint-<step>`` folders under ``out``, oldest first."""
    if not Path(out).is_dir():
        return []
    found = []
    for path in Path(out).iterdir():
        match = _CHECKPOINT_DIR.match(path.name)
        if match and path.is_dir():
            found.append((int(match.group(1)), path))
    return sorted(found)


def is_complete(checkpoint: Path) -> bool:
    return (checkpoint / MARKER).is_file()


def latest_complete_checkpoint(out: Path) -> Path | None:
    complete = [path for _, path in checkpoint_dirs(out) if is_complete(path)]
    return complete[-1] if complete else None


def remove_incomplete(out: Path) -> list[Path]:
    """Delete checkpoints without a marker (a save that died half-way); returns them."""
    removed = [path for _, path in checkpoint_dirs(out) if not is_complete(path)]
    for path in removed:
        log.warning("removing incomplete checkpoint %s (its save never finished)", path)
        shutil.rmtree(path, ignore_errors=True)
    return removed


def mark_complete(checkpoint: Path, step: int, world_size: int) -> None:
    """Write the marker atomically: a reader sees no marker or a whole one."""
    staging = checkpoint / f".{MARKER}.tmp"
    with staging.open("w", encoding="utf-8") as handle:
        json.dump({"step": step, "world_size": world_size, "time": time.time()}, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(staging, checkpoint / MARKER)


def keep_newest_complete(out: Path, limit: int) -> None:
    """Delete all but the newest ``limit`` complete checkpoints (incomplete ones are not counted)."""
    complete = [path for _, path in checkpoint_dirs(out) if is_complete(path)]
    for path in complete[:-limit]:
        shutil.rmtree(path, ignore_errors=True)


def _barrier() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


class CompleteCheckpointCallback(TrainerCallback):
    """After each save: wait for every rank, mark the checkpoint complete, rotate old ones."""

    def __init__(self, out: Path, save_total_limit: int):
        self.out = Path(out)
        self.save_total_limit = save_total_limit

    def on_save(self, args, state, control, **kwargs):
        _barrier()
        if state.is_world_process_zero:
            checkpoint = self.out / f"checkpoint-{state.global_step}"
            mark_complete(checkpoint, state.global_step, args.world_size)
            keep_newest_complete(self.out, self.save_total_limit)
            log.info("checkpoint %s complete", checkpoint)
        _barrier()
