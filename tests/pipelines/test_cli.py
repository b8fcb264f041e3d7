"""`s1 pipeline …`: argument handling that must fail before any server or run is touched."""

from __future__ import annotations

import pytest

from pipelines.cli import parse_params
from s1.cli import main


def test_params_are_typed_when_they_parse_as_json():
    assert parse_params(["n=1000", "budgets=[500,1000]", "deploy_model=false", "recipe=s1-32b", "teacher={}"]) == {
        "n": 1000, "budgets": [500, 1000], "deploy_model": False, "recipe": "s1-32b", "teacher": {},
    }  # fmt: skip


def test_malformed_param():
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_params(["n"])


def test_submit_rejects_unknown_parameters_before_connecting(capsys):
    # Port 9 (discard) on loopback: if the check came after connecting, this would hang or fail differently.
    assert main(["pipeline", "submit", "--host", "http://127.0.0.1:9", "--param", "num_gpus=16"]) == 2
    assert "unknown pipeline parameters ['num_gpus']" in capsys.readouterr().err


def test_submit_needs_a_compiled_package(tmp_path, capsys):
    missing = tmp_path / "nope.yaml"
    assert main(["pipeline", "submit", "--host", "http://127.0.0.1:9", "--package", str(missing)]) == 2
    assert "run `s1 pipeline compile` first" in capsys.readouterr().err


def test_compile_writes_the_spec(tmp_path):
    out = tmp_path / "spec.yaml"
    assert main(["pipeline", "compile", "--out", str(out)]) == 0
    assert "pipelineInfo:" in out.read_text() and "s1-test-time-scaling" in out.read_text()


def test_compile_kubernetes_manifests(tmp_path):
    import yaml

    out = tmp_path / "manifests.yaml"
    assert main(["pipeline", "compile", "--kubernetes-manifest", "--namespace", "kubeflow", "--out", str(out)]) == 0
    objects = {obj["kind"]: obj for obj in yaml.safe_load_all(out.read_text())}
    assert set(objects) == {"Pipeline", "PipelineVersion"}
    version = objects["PipelineVersion"]
    assert version["metadata"]["namespace"] == "kubeflow" and version["spec"]["pipelineName"] == "s1-test-time-scaling"
    assert version["spec"]["pipelineSpec"]["pipelineInfo"]["name"] == "s1-test-time-scaling"


def test_run_local_rejects_bad_overrides(tmp_path, capsys):
    assert main(["pipeline", "run-local", "--out", str(tmp_path), "--set", "epochs"]) == 2
    assert "--set 'epochs'" in capsys.readouterr().err
