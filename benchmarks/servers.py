"""Server processes for the benchmarks: started on a free 127.0.0.1 port, healthy, then stopped.

Usage (from a sibling script):
    from servers import free_port, running, s1_serve_command
    port = free_port()
    with running(s1_serve_command(model, port, "--engine", "vllm"), f"http://127.0.0.1:{port}/v2/health/ready", log):
        ...
"""

from __future__ import annotations

import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx

from s1.train.launch import free_port

__all__ = ["free_port", "running", "s1_serve_command"]


def s1_serve_command(model: Path, port: int, *flags: str) -> list[str]:
    """`s1 serve` for `model` on 127.0.0.1:`port` with `flags`."""
    return [sys.executable, "-m", "s1.cli", "serve", "--model", str(model), "--host", "127.0.0.1",
            "--port", str(port), *flags]


@contextmanager
def running(command: list[str], health_url: str, log: Path, ready_within: float = 900) -> Iterator[subprocess.Popen]:
    """Run `command` (output to `log`) until `health_url` answers 200, yield it, terminate it."""
    with open(log, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + ready_within
        while not _healthy(health_url):
            if process.poll() is not None:
                raise SystemExit(f"{' '.join(command[:4])} exited:\n{log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise SystemExit(f"{' '.join(command[:4])} did not become ready in {ready_within:g} s")
            time.sleep(0.5)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False
