"""Fixtures for the container tests: podman, its Docker-compatible socket, the built CPU images.

The images come from `make -C images build-cpu DOCKER=podman LOCAL_BASE=1` (as `.ci/run` builds
them once per run); the tests only run them. Without podman or the images they skip, saying
why, unless S1_CONTAINER_TESTS=required (set by `.ci/run`), where a skip would hide a broken tier.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import s1
from pipelines.images import REGISTRY, cpu_image_for, image_for

# The CPU set: the images the docker runner, the serve and the train tests run.
CPU_SET = ("base-cpu", "curate", "launch", "deploy", "serve-cpu", "evaluate-cpu", "train-cpu")


def image_reference(name: str) -> str:
    """`serve-cpu` → the serve image's CPU flavour; `base-cpu`, `curate`, ... → their own image."""
    if name.startswith("base-"):
        return f"{REGISTRY}/s1-{name}:{s1.__version__}"
    component = name.removesuffix("-cpu")
    return cpu_image_for(component) if name.endswith("-cpu") else image_for(component)


def unavailable(reason: str) -> None:
    if os.environ.get("S1_CONTAINER_TESTS") == "required":
        pytest.fail(f"S1_CONTAINER_TESTS=required, but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def podman() -> str:
    path = shutil.which("podman")
    if path is None:
        unavailable("podman is not installed (the container tier: bash .ci/container-host)")
    return path


@pytest.fixture(scope="session")
def cpu_images(podman: str) -> dict[str, str]:
    """Name → reference of each CPU-set image; all of them must be built."""
    images = {name: image_reference(name) for name in CPU_SET}
    missing = [ref for ref in images.values() if subprocess.run([podman, "image", "exists", ref]).returncode]
    if missing:
        unavailable(f"images not built: {', '.join(missing)} (make -C images build-cpu DOCKER=podman LOCAL_BASE=1)")
    return images


@pytest.fixture(scope="session")
def docker_host(podman: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """DOCKER_HOST for the docker SDK: the caller's, else one podman API service for the session."""
    if os.environ.get("DOCKER_HOST"):
        yield os.environ["DOCKER_HOST"]
        return
    socket = tmp_path_factory.mktemp("podman") / "podman.sock"
    service = subprocess.Popen([podman, "system", "service", "--time=0", f"unix://{socket}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not socket.exists():
            if service.poll() is not None or time.monotonic() > deadline:
                unavailable(f"podman system service did not open {socket}")
            time.sleep(0.1)
        yield f"unix://{socket}"
    finally:
        service.terminate()
        service.wait(timeout=30)


def readable_copy(model: Path, target: Path) -> Path:
    """The model as KServe's storage initializer leaves it: a copy any uid can read."""
    shutil.copytree(model, target)
    for path in [target, *target.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target
