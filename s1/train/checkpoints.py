"""Checkpoints that are either complete or ignored.

The Trainer writes ``checkpoint-<step>/`` from every rank (ZeRO-3 shards, RNG states); a marker
file is written only after all ranks have finished saving (a barrier, then write-then-rename by
rank 0). Resume picks the newest checkpoint with a marker, so a checkpoint half-written when a
pod died is never loaded; it is deleted before training continues.

Optionally every complete checkpoint is mirrored to an object store (``checkpoint_uri``, any
fsspec URI: ``s3://bucket/run`` needs ``s3fs`` installed, ``file://`` works as is), so a run
survives losing its volume: the files go up first and the marker last, and a fresh output
folder starts from the newest remote checkpoint that has its marker. The mirror assumes the
ranks share ``out`` (the PVC in the PyTorchJob): rank 0 alone uploads and downloads.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

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


def _remote(uri: str) -> tuple[Any, str]:
    """(filesystem, root path) for ``uri``; ``s3://`` needs ``s3fs``, ``gs://`` needs ``gcsfs``."""
    import fsspec

    fs, root = fsspec.core.url_to_fs(uri)
    return fs, root.rstrip("/")


def remote_checkpoints(uri: str) -> list[tuple[int, str, bool]]:
    """``(step, remote path, complete)`` for each ``checkpoint-<step>`` under ``uri``, oldest first."""
    fs, root = _remote(uri)
    if not fs.exists(root):
        return []
    found = []
    for path in fs.ls(root, detail=False):
        match = _CHECKPOINT_DIR.match(path.rstrip("/").rsplit("/", 1)[-1])
        if match and fs.isdir(path):
            found.append((int(match.group(1)), path, fs.exists(f"{path}/{MARKER}")))
    return sorted(found)


def upload_checkpoint(checkpoint: Path, uri: str, keep: int) -> str:
    """Mirror a complete checkpoint to ``uri``, marker last; keep the newest ``keep`` complete there.

    A remote copy left half-way by an earlier attempt is replaced; incomplete remote checkpoints
    (uploads that died) are deleted once this one is complete.
    """
    if not is_complete(checkpoint):
        raise ValueError(f"{checkpoint} has no {MARKER}: only complete checkpoints are uploaded")
    fs, root = _remote(uri)
    target = f"{root}/{checkpoint.name}"
    if fs.exists(target):
        fs.rm(target, recursive=True)
    files = sorted(p for p in checkpoint.rglob("*") if p.is_file() and p.name != MARKER)
    remote_files = [f"{target}/{p.relative_to(checkpoint).as_posix()}" for p in files]
    for parent in sorted({path.rsplit("/", 1)[0] for path in remote_files} | {target}):
        fs.makedirs(parent, exist_ok=True)
    fs.put([str(p) for p in files], remote_files)
    fs.put_file(str(checkpoint / MARKER), f"{target}/{MARKER}")
    remote = remote_checkpoints(uri)
    complete = [path for _, path, done in remote if done]
    stale = [path for _, path, done in remote if not done] + complete[:-keep]
    for path in stale:
        # Marker first: a deletion that dies half-way leaves an incomplete checkpoint, never a bad one.
        if fs.exists(f"{path}/{MARKER}"):
            fs.rm(f"{path}/{MARKER}")
        fs.rm(path, recursive=True)
    log.info("checkpoint %s mirrored to %s", checkpoint.name, target)
    return target


def download_latest_checkpoint(uri: str, out: Path) -> Path | None:
    """Fetch the newest complete remote checkpoint into ``out`` (whole or not at all); None if none."""
    complete = [(step, path) for step, path, done in remote_checkpoints(uri) if done]
    if not complete:
        return None
    step, path = complete[-1]
    fs, _ = _remote(uri)
    target = Path(out) / f"checkpoint-{step}"
    staging = Path(out) / f".checkpoint-{step}.download"
    shutil.rmtree(staging, ignore_errors=True)
    log.info("downloading checkpoint %s from %s", target.name, path)
    fs.get(path, str(staging), recursive=True)
    if not is_complete(staging):
        raise RuntimeError(f"{path}: downloaded copy has no {MARKER}; the remote changed during download")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def _barrier() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


class CompleteCheckpointCallback(TrainerCallback):
    """After each save: wait for every rank, mark the checkpoint complete, mirror it, rotate.

    The mirror upload (minutes for a 32B checkpoint) runs on a background thread of rank 0, one
    checkpoint at a time, so no rank waits for it inside a collective that has a timeout; local
    rotation then follows each upload, so a checkpoint is never deleted while it goes up.
    ``wait_for_uploads`` is called once every collective is done (after the final save).
    """

    def __init__(self, out: Path, save_total_limit: int, checkpoint_uri: str | None = None):
        self.out = Path(out)
        self.save_total_limit = save_total_limit
        self.checkpoint_uri = checkpoint_uri
        self._uploads: ThreadPoolExecutor | None = None
        self._pending: list[Future] = []

    def on_save(self, args, state, control, **kwargs):
        _barrier()
        if state.is_world_process_zero:
            checkpoint = self.out / f"checkpoint-{state.global_step}"
            mark_complete(checkpoint, state.global_step, args.world_size)
            log.info("checkpoint %s complete", checkpoint)
            if self.checkpoint_uri:
                if self._uploads is None:
                    self._uploads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="checkpoint-mirror")
                self._pending.append(self._uploads.submit(self._mirror, checkpoint))
            else:
                keep_newest_complete(self.out, self.save_total_limit)
        _barrier()

    def _mirror(self, checkpoint: Path) -> None:
        if not checkpoint.is_dir():
            # Rotated away while queued behind a slow upload: a newer checkpoint supersedes it.
            log.info("checkpoint %s superseded before its upload; not mirrored", checkpoint.name)
            return
        upload_checkpoint(checkpoint, self.checkpoint_uri, self.save_total_limit)
        keep_newest_complete(self.out, self.save_total_limit)

    def wait_for_uploads(self) -> None:
        """Block until every queued upload ended; re-raise the first failure."""
        pending, self._pending = self._pending, []
        if self._uploads is not None:
            self._uploads.shutdown(wait=True)
            self._uploads = None
        for future in pending:
            future.result()
