"""Fixtures for the packaging tests: the rendered overlays and the upstream CRDs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.packaging.packaging_support import OVERLAYS, REPO, render


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict]]:
    """Every overlay's rendered objects, by overlay name."""
    return {name: render(REPO / "manifests" / "overlays" / name) for name in OVERLAYS}


@pytest.fixture(scope="session")
def crd_dir() -> Path:
    """The upstream CRDs (`$S1_CRD_DIR`, which .ci/run sets to ../shared/crds)."""
    value = os.environ.get("S1_CRD_DIR")
    if not value:
        pytest.skip("S1_CRD_DIR is not set: no upstream CRDs to validate PyTorchJob/InferenceService against")
    path = Path(value)
    assert path.is_dir(), f"S1_CRD_DIR={value} is not a folder"
    return path
