"""Server processes for tests: started on a free 127.0.0.1 port, waited on until healthy, stopped.

    port = free_port()
    with serving("s1 serve", [sys.executable, "-m", "s1.cli", "serve", ..., "--port", str(port)],
                 f"http://127.0.0.1:{port}/v2/health/ready", tmp / "serve.log") as process:
        ...

A server that exits or is not healthy in time fails the test with the tail of its log; at the end
it gets SIGTERM (what Kubernetes sends) and is killed only if it outlives `stop_within`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from s1.train.launch import free_port

__all__ = ["free_port", "serving"]


def healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@contextmanager
def serving(name: str, command: list[str], health_url: str, log: Path, *, ready_within: float = 180,
            stop_within: float = 30) -> Iterator[subprocess.Popen]:
    """Run `command` (its output to `log`) until `health_url` answers 200; yield the process.
    `name` says which server failed."""
    with open(log, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ})
    try:
        deadline = time.monotonic() + ready_within
        while not healthy(health_url):
            if process.poll() is not None:
                pytest.fail(f"{name} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"{name} not ready after {ready_within:g} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=stop_within)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
