"""`s1 pipeline run-local --runner docker`: the pipeline through kfp.local's DockerRunner, each
component in its own image (the GPU ones as their CPU flavour), gives the subprocess runner's
artifacts: the same curated data, the same trained weights, the same samples and accuracy."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from pipelines.local_run import LocalRunConfig, run_local

pytestmark = [pytest.mark.container, pytest.mark.slow]

# Each step's metrics are equal except its wall-clock time.
TIMINGS = {"seconds"}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def accuracy_table(out: Path) -> dict[str, float]:
    metrics = json.loads((out / "metrics.json").read_text())["evaluate"]
    return {key: value for key, value in metrics.items() if key.endswith(".accuracy")}


@pytest.fixture(scope="module")
def runs(docker_host: str, cpu_images: dict, tmp_path_factory: pytest.TempPathFactory):
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("DOCKER_HOST", docker_host)
    try:
        results = {}
        for runner in ("subprocess", "docker"):
            out = tmp_path_factory.mktemp(runner)
            results[runner] = (out, run_local(LocalRunConfig.for_model(out, "tiny-qwen", runner=runner)))
        yield results
    finally:
        monkeypatch.undo()


def test_each_component_ran_in_its_own_image(runs, cpu_images: dict) -> None:
    from pipelines.docker_run import executor_images, with_images, cpu_images as swap
    from pipelines.pipeline import s1_pipeline

    used = executor_images(with_images(s1_pipeline, swap(s1_pipeline)))
    assert {name: used[name] for name in ("exec-curate", "exec-train", "exec-evaluate", "exec-deploy")} == {
        "exec-curate": cpu_images["curate"], "exec-train": cpu_images["launch"],
        "exec-evaluate": cpu_images["evaluate-cpu"], "exec-deploy": cpu_images["deploy"],
    }  # fmt: skip
    # kfp.local's DockerRunner wrote each task's executor output from inside its container.
    docker_out, docker_result = runs["docker"]
    for task in ("curate", "train", "evaluate"):
        assert (Path(docker_result["run"]) / task / "executor_output.json").is_file()


def test_docker_and_subprocess_runs_give_the_same_artifacts_and_accuracy(runs) -> None:
    (sub, sub_result), (docker, docker_result) = runs["subprocess"], runs["docker"]
    # (The reports differ only in their timings.)
    for name in ("dataset/selected.jsonl", "dataset/dropped.jsonl", "model/model.safetensors",
                 "evaluation/samples.jsonl"):  # fmt: skip
        assert digest(sub / name) == digest(docker / name), name
    assert sorted(p.name for p in (sub / "model").iterdir()) == sorted(p.name for p in (docker / "model").iterdir())
    table = accuracy_table(docker)
    assert table and table == accuracy_table(sub)
    for task, metrics in sub_result["metrics"].items():
        mine = {key: value for key, value in metrics.items() if key not in TIMINGS}
        theirs = {key: value for key, value in docker_result["metrics"][task].items() if key not in TIMINGS}
        assert mine == theirs, task


def test_a_missing_image_fails_before_anything_runs(docker_host: str, cpu_images: dict, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from pipelines.docker_run import prepare
    from pipelines.pipeline import s1_pipeline

    monkeypatch.setenv("DOCKER_HOST", docker_host)
    monkeypatch.setattr("pipelines.docker_run.cpu_image_for",
                        lambda component, tag, registry: f"{registry}/s1-{component}:no-such-tag")  # fmt: skip
    with pytest.raises(RuntimeError, match=r"s1-curate:no-such-tag.*make -C images build-cpu"):
        prepare(s1_pipeline, tmp_path, tmp_path)
