"""Shared by the packaging tests: repository paths, rendering overlays, image references.

(Named so that no other test folder's module, nor the `packaging` library, shadows it.)
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
OVERLAYS = sorted(path.parent.name for path in (REPO / "manifests" / "overlays").glob("*/kustomization.yaml"))
DOCKERFILES = {path.parent.name: path for path in sorted((REPO / "images").glob("*/Dockerfile"))}
# <registry>/s1-<image>:<tag>, as pipelines/images.py and images/Makefile spell them.
IMAGE_REF = re.compile(r"^(?P<registry>[^:]+(:\d+)?(/[^/:]+)*)/s1-(?P<image>[a-z0-9-]+):(?P<tag>[\w][\w.-]{0,127})$")


def render(directory: Path) -> list[dict]:
    """The objects `kubectl kustomize DIRECTORY` renders, offline."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: kustomize overlays cannot be rendered")
    result = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"kubectl kustomize {directory} failed:\n{result.stderr}"
    return [obj for obj in yaml.safe_load_all(result.stdout) if obj]


def of_kind(objects: list[dict], kind: str) -> list[dict]:
    return [obj for obj in objects if obj["kind"] == kind]


def image_values(node: object) -> list[str]:
    """Every string under an `image` key, anywhere in a nested object (pod specs, KFP executors)."""
    if isinstance(node, dict):
        found = [value for key, value in node.items() if key == "image" and isinstance(value, str)]
        return found + [image for value in node.values() for image in image_values(value)]
    if isinstance(node, list):
        return [image for item in node for image in image_values(item)]
    return []


def dockerfile_for(image: str) -> Path:
    """The Dockerfile that builds `image`; fails saying which image has none."""
    match = IMAGE_REF.match(image)
    assert match, f"image {image!r} is not <registry>/s1-<component>:<tag>"
    assert match["tag"] != "latest", f"image {image!r}: pin a version tag, not latest"
    assert match["image"] in DOCKERFILES, (
        f"image {image!r} has no images/{match['image']}/Dockerfile (have: {', '.join(DOCKERFILES)})"
    )
    return DOCKERFILES[match["image"]]
