"""`s1 pipeline …`: argument handling that must fail before any server or run is touched."""

from __future__ import annotations

import pytest

from pipelines.cli import known_parameters, parameter_choices, parse_params
from s1.cli import main


def test_params_are_typed_when_they_parse_as_json():
    assert parse_params(["n=1000", "budgets=[500,1000]", "deploy_model=false", "recipe=s1-32b", "teacher={}"]) == {
        "n": 1000, "budgets": [500, 1000], "deploy_model": False, "recipe": "s1-32b", "teacher": {},
    }  # fmt: skip


def test_malformed_param():
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_params(["n"])


def test_submit_rejects_a_name_outside_a_parameters_choices_before_connecting(capsys):
    assert main(["pipeline", "submit", "--host", "http://127.0.0.1:9", "--param", "predictor=triton"]) == 2
    assert "--param predictor='triton': expected one of s1, vllm" in capsys.readouterr().err
    assert main(["pipeline", "submit", "--host", "http://127.0.0.1:9", "--param", "train_launcher=slurm"]) == 2
    assert "expected one of pytorchjob, trainjob, local" in capsys.readouterr().err


def test_every_choice_parameter_is_a_pipeline_parameter_whose_default_is_a_choice():
    defaults = known_parameters()
    for name, choices in parameter_choices().items():
        assert defaults[name] in choices, name


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


@pytest.fixture
def kfp_api():
    """A KFP v2beta1 API stand-in that the real kfp.Client talks to; keeps the runs it is sent."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    runs = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else {}
            if self.path.startswith("/apis/v2beta1/runs") and self.command == "POST":
                runs.append(body)
                reply = {"run_id": f"run-{len(runs)}"}
            elif self.path.startswith("/apis/v2beta1/experiments"):
                reply = {"experiments": []} if self.command == "GET" else {"experiment_id": "e1"}
            else:
                reply = {"multi_user": False}
            data = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", runs
    server.shutdown()
    server.server_close()


def test_submit_runs_as_the_projects_service_account(kfp_api, capsys):
    """Without it KFP's default runner (no serving.kserve.io rights) would run the deploy step."""
    import json

    from pipelines.cluster import SERVICE_ACCOUNT

    host, runs = kfp_api
    assert main(["pipeline", "submit", "--host", host, "--param", "n=8", "--json"]) == 0
    assert main(["pipeline", "submit", "--host", host, "--service-account", "other-sa", "--json"]) == 0
    assert [run["service_account"] for run in runs] == [SERVICE_ACCOUNT, "other-sa"]
    assert runs[0]["runtime_config"]["parameters"]["n"] == 8
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]  # --json: only JSON on stdout
    assert [result["run_id"] for result in printed] == ["run-1", "run-2"]
