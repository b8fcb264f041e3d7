"""Real `s1 serve` processes on 127.0.0.1 (free ports) with the tiny model."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from tests.http_servers import free_port, serving


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


def start_server(model: Path, tmp: Path, *flags: str, ready_within: float = 180) -> Iterator[Server]:
    """A real `s1 serve` on a free port; stopped with SIGTERM (killed after 30 s) at the end."""
    port = free_port()
    log = tmp / f"serve-{port}.log"
    command = [sys.executable, "-m", "s1.cli", "serve", "--model", str(model), "--host", "127.0.0.1",
               "--port", str(port), *flags]
    url = f"http://127.0.0.1:{port}"
    with serving("s1 serve", command, f"{url}/v2/health/ready", log, ready_within=ready_within) as process:
        yield Server(url=url, log=log, process=process)


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
