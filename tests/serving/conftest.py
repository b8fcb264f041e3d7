"""Real `s1 serve` processes on 127.0.0.1 (free ports) with the tiny model."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx
import pytest


@dataclass
class Server:
    url: str
    log: Path
    process: subprocess.Popen

    def metric(self, name: str, **labels: str) -> float:
        """One sample of the server's Prometheus metrics (0 when absent)."""
        text = httpx.get(f"{self.url}/metrics", timeout=10).text
        wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        for line in text.splitlines():
            if line.startswith(name + "{") or line.startswith(name + " "):
                head, value = line.rsplit(" ", 1)
                got = head[len(name):].strip("{}")
                if all(part in got.split(",") for part in wanted.split(",") if part):
                    return float(value)
        return 0.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(model: Path, tmp: Path, *flags: str, ready_within: float = 180) -> Iterator[Server]:
    """A real `s1 serve` on a free port; stopped with SIGTERM (killed after 30 s) at the end."""
    port = _free_port()
    log = tmp / f"serve-{port}.log"
    command = [sys.executable, "-m", "s1.cli", "serve", "--model", str(model), "--host", "127.0.0.1",
               "--port", str(port), *flags]
    with open(log, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ})
    server = Server(url=f"http://127.0.0.1:{port}", log=log, process=process)
    try:
        deadline = time.monotonic() + ready_within
        while True:
            if process.poll() is not None:
                pytest.fail(f"s1 serve exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{server.url}/v2/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"s1 serve not ready after {ready_within:g} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def server(tiny_qwen_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Generous limits; the prompt limit is above the 32K context window to test the window."""
    yield from start_server(
        tiny_qwen_dir, tmp_path_factory.mktemp("serve"),
        "--max-thinking-tokens-limit", "8192", "--max-prompt-tokens", "40000", "--max-queue", "64",
    )


@pytest.fixture(scope="session")
def tight_server(tiny_qwen_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One request generating, one waiting, a 10 s timeout, short prompts only."""
    yield from start_server(
        tiny_qwen_dir, tmp_path_factory.mktemp("serve-tight"), "--name", "tight",
        "--max-queue", "1", "--request-timeout", "10", "--max-prompt-tokens", "64",
    )
