"""Fixtures for the packaging tests: the rendered overlays (the CRDs come from tests/conftest.py)."""

from __future__ import annotations


import pytest
from tests.packaging.packaging_support import OVERLAYS, REPO, render


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict]]:
    """Every overlay's rendered objects, by overlay name."""
    return {name: render(REPO / "manifests" / "overlays" / name) for name in OVERLAYS}
