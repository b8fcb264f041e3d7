"""Kill a curation run mid-way, as a preempted pod is, once its call cache shows progress."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


def kill_once_cached(command: list[str], cache: Path, lines: int, timeout: float) -> None:
    """Start `command` and SIGKILL it as soon as `cache` holds `lines` lines; fail if the run
    exits or stalls before that, since then nothing was interrupted."""
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    try:
        while not (cache.exists() and cache.read_text().count("\n") >= lines):
            assert run.poll() is None, f"the run exited ({run.returncode}) before caching {lines} calls"
            assert time.monotonic() < deadline, f"the run cached fewer than {lines} calls in {timeout:.0f} s"
            time.sleep(0.05)
    finally:
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
