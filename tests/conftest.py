"""Shared fixtures: local models built once per test session (no hub access anywhere)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


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
