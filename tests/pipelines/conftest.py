"""Fixtures for the Kubeflow tests: the upstream CRDs, found through S1_CRD_DIR (see .ci/run)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def crd_dir() -> Path:
    """Folder with the upstream PyTorchJob and InferenceService CRDs; skips when not given."""
    location = os.environ.get("S1_CRD_DIR")
    if not location:
        pytest.skip("S1_CRD_DIR is unset: point it at the upstream CRDs (.ci/run uses ../shared/crds)")
    path = Path(location)
    if not path.is_dir():
        pytest.fail(f"S1_CRD_DIR={location} is not a folder")
    return path
