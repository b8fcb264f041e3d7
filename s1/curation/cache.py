"""A resumable on-disk cache of model calls, keyed by (model, settings, prompt).

Append-only JSONL: each finished call is one line, flushed and fsync'd before the caller moves
on, so a crash or pod restart loses at most the calls still in flight. On open, a torn last line
(killed mid-write) is skipped with a warning and the next append starts on a fresh line. Failed
calls are never cached, so a rerun retries exactly those.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path

from s1.curation.client import ChatResult

log = logging.getLogger(__name__)


def call_key(model: str, settings: dict, prompt: str) -> str:
    material = json.dumps([model, settings, prompt], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(material.encode()).hexdigest()


class CallCache:
    """Thread-safe; one file per cache (share the folder between runs to never pay twice)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._entries: dict[str, ChatResult] = {}
        self._lock = threading.Lock()
        needs_newline = self._load()
        self._handle = self.path.open("a", encoding="utf-8")
        if needs_newline:
            self._handle.write("\n")
            self._sync()

    def _load(self) -> bool:
        """Read existing entries; True when the file ends without a newline (torn write)."""
        if not self.path.exists():
            return False
        data = self.path.read_bytes()
        for number, line in enumerate(data.split(b"\n"), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                self._entries[record["key"]] = ChatResult.from_dict(record["result"])
            except (ValueError, KeyError, TypeError):
                log.warning("%s:%d: unreadable cache line skipped (a write cut off by a crash?)",
                            self.path, number)
        return bool(data) and not data.endswith(b"\n")

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> ChatResult | None:
        return self._entries.get(key)

    def put(self, key: str, model: str, result: ChatResult) -> None:
        line = json.dumps({"key": key, "model": model, "result": result.as_dict()},
                          ensure_ascii=False)
        with self._lock:
            self._handle.write(line + "\n")
            self._sync()
            self._entries[key] = result

    def _sync(self) -> None:
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        with self._lock:
            self._handle.close()

    def __enter__(self) -> "CallCache":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
