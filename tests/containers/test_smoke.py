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


def test_every_cpu_image_passes_its_smoke_checks_and_matches_the_test_environment(podman: str, cpu_images: dict) -> None:
    result = subprocess.run(
        [str(REPO / "images" / "smoke.sh"), REGISTRY, s1.__version__, *CPU_SET],
        capture_output=True, text=True, timeout=900, env={**os.environ, "DOCKER": podman},
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    sections = re.split(r"^== ", output, flags=re.MULTILINE)[1:]
    assert [section.split(":", 1)[0] for section in sections] == list(CPU_SET)
    expected = {name: metadata.version(name) for name in ("torch", "transformers", "deepspeed", "kfp", "kserve")}
    for section in sections:
        name = section.split(":", 1)[0]
        assert "ok entry point: usage:" in section, f"{name}: {section}"
        assert "ok user: uid 1000 gid 0" in section and "ok kfp executor" in section and "ok pins" in section
        frozen = dict(line.removeprefix("freeze ").split("==") for line in section.splitlines() if line.startswith("freeze "))
        assert {key: frozen.get(key) for key in expected} == expected, f"{name} differs from the test environment"
    assert "ok ds_report" in sections[CPU_SET.index("train-cpu")]
