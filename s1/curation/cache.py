"""A resumable on-disk cache of model calls, keyed by (model, settings, system prompt, prompt).

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
from s1.jsonl import read_jsonl

log = logging.getLogger(__name__)


def key_prefix(model: str, settings: dict, system: str | None = None) -> bytes:
    """The part of the key shared by all calls of one client and system prompt (computed once
    per batch; without a system prompt, the key calls cached before system prompts had)."""
    shared = [model, settings] if system is None else [model, settings, system]
    return json.dumps(shared, sort_keys=True).encode() + b"\x00"


def prompt_key(prefix: bytes, prompt: str) -> str:
    return hashlib.sha256(prefix + prompt.encode()).hexdigest()


def call_key(model: str, settings: dict, prompt: str, system: str | None = None) -> str:
    """The cache key of one call: sha256 over model, settings, system prompt and prompt."""
    return prompt_key(key_prefix(model, settings, system), prompt)


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
        # errors="replace": a write cut inside a multi-byte character is one bad line, not a crash.
        for line in read_jsonl(self.path, errors="replace"):
            try:
                self._entries[line.value["key"]] = ChatResult.from_dict(line.value["result"])
            except (KeyError, TypeError):
                log.warning("%s:%d: unreadable cache line skipped (a write cut off by a crash?)",
                            self.path, line.number)
        with self.path.open("rb") as handle:
            if handle.seek(0, os.SEEK_END) == 0:
                return False
            handle.seek(-1, os.SEEK_END)
            return handle.read(1) != b"\n"

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> ChatResult | None:
        return self._entries.get(key)

    def put(self, key: str, model: str, result: ChatResult) -> None:
        self.put_many([(key, model, result)])

    def put_many(self, entries: list[tuple[str, str, ChatResult]]) -> None:
        """(key, model, result) triples with one fsync: importing outputs computed elsewhere."""
        with self._lock:
            for key, model, result in entries:
                self._handle.write(json.dumps({"key": key, "model": model, "result": result.as_dict()},
                                              ensure_ascii=False) + "\n")
                self._entries[key] = result
            self._sync()

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
