"""The docker runner's plan, without a container engine: which image each component runs in,
what the containers see, and how a bad --runner is refused (the runs: tests/containers)."""

from __future__ import annotations

from pathlib import Path

import pytest

import s1
from pipelines.docker_run import cpu_images, docker_runner, executor_images, with_images
from pipelines.images import cpu_image_for, image_for
from pipelines.local_run import LocalRunConfig
from pipelines.pipeline import s1_pipeline


def test_gpu_components_run_their_cpu_flavour_and_the_pipeline_itself_is_untouched() -> None:
    before = executor_images(s1_pipeline)
    swapped = with_images(s1_pipeline, cpu_images(s1_pipeline))
    assert executor_images(s1_pipeline) == before  # a copy was changed, not the compiled pipeline
    used = executor_images(swapped)
    assert {used[name] for name in ("exec-curate", "exec-train", "exec-evaluate", "exec-deploy")} == {
        image_for("curate"), image_for("launch"), f"ghcr.io/s1-kubeflow/s1-evaluate:{s1.__version__}-cpu",
        image_for("deploy"),
    }  # fmt: skip
    assert used["exec-curate"] == image_for("curate") and used["exec-evaluate"].endswith("-cpu")
    assert all(image.startswith("ghcr.io/s1-kubeflow/s1-") for image in used.values()), used


def test_an_image_chosen_while_the_pipeline_runs_is_the_components_declared_one() -> None:
    chosen = with_images(s1_pipeline, {"exec-evaluate": "{{$.inputs.parameters['image']}}"})
    assert cpu_images(chosen)["exec-evaluate"] == f"ghcr.io/s1-kubeflow/s1-evaluate:{s1.__version__}-cpu"


def test_cpu_flavours_keep_registry_and_tag() -> None:
    assert cpu_image_for("serve", "1.2.3", "registry.example.com:5000/ml") == "registry.example.com:5000/ml/s1-serve:1.2.3-cpu"
    assert cpu_image_for("curate", "1.2.3", "r.io/x") == "r.io/x/s1-curate:1.2.3"
    with pytest.raises(ValueError, match="unknown component"):
        cpu_image_for("trainer")


def test_containers_see_the_run_folder_and_the_cache_at_their_own_paths(tmp_path: Path) -> None:
    pytest.importorskip("docker")
    runner = docker_runner(tmp_path / "out", tmp_path / "cache")
    args = runner.container_run_args
    assert [(m["Source"], m["Target"]) for m in args["mounts"]] == [
        (str((tmp_path / "out").resolve()), str((tmp_path / "out").resolve())),
        (str((tmp_path / "cache").resolve()), str((tmp_path / "cache").resolve())),
    ]
    assert args["environment"] == {"S1_CACHE_DIR": str((tmp_path / "cache").resolve())}
    assert args["user"].endswith(":0")


def test_an_unknown_runner_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--runner must be one of subprocess, docker"):
        LocalRunConfig.for_model(tmp_path, "tiny-qwen", runner="kubernetes")


def test_the_inputs_a_container_reads_are_absolute_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.local_run import pipeline_arguments, write_inputs

    monkeypatch.chdir(tmp_path)
    config = LocalRunConfig.for_model(Path("runs/docker"), "tiny-qwen", runner="docker")
    arguments = pipeline_arguments(config, *write_inputs(config))
    for path in [*arguments["pool_sources"], *arguments["benchmarks"], arguments["workdir"]]:
        assert Path(path).is_absolute() and str(path).startswith(str(tmp_path)), path
