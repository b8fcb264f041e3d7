"""Locate data files shipped inside installed PyPI packages, without importing them."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def package_dir(package: str, install_hint: str) -> Path:
    """Folder of an installed package; a clear error says how to install it when missing."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {package!r} is not installed: {install_hint}")
    return Path(next(iter(spec.submodule_search_locations)))
