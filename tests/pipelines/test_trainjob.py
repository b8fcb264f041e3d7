"""The Trainer v2 TrainJob: the same pods as the PyTorchJob on the torch-distributed runtime, valid
against the upstream CRD (unknown fields rejected) and Trainer's webhook rules."""

from __future__ import annotations

import copy

import pytest
import yaml

from pipelines.cluster import load_network
from pipelines.pytorchjob import build_pytorchjob
from pipelines.training_job import TrainingJobSpec
from pipelines.trainjob import build_trainjob
from pipelines.validation import trainjob_webhook_errors, validation_errors

SPEC = TrainingJobSpec(name="s1-train-abc123", data="/mnt/s1/runs/x/data", out="/mnt/s1/runs/x/train",
                       overrides={"epochs": "5"}, network=load_network("infiniband"))  # fmt: skip


@pytest.fixture
def job() -> dict:
    return build_trainjob(SPEC)


def _pod(job: dict) -> dict:
    (patch,) = job["spec"]["runtimePatches"]
    (node,) = patch["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"]
    assert node["name"] == "node"
    return node["template"]["spec"]["template"]


def test_valid_against_the_crd_and_the_webhook(job, crd_dir):
    assert validation_errors(job, crd_dir) == []
    assert validation_errors(build_trainjob(TrainingJobSpec(name="one", num_nodes=1, secret_name=None)), crd_dir) == []


def test_runs_the_pytorchjob_pods_on_the_torch_distributed_runtime(job):
    pytorch = build_pytorchjob(SPEC)["spec"]["pytorchReplicaSpecs"]["Master"]["template"]
    (container,) = pytorch["spec"]["containers"]
    trainer = job["spec"]["trainer"]
    assert job["spec"]["runtimeRef"] == {"apiGroup": "trainer.kubeflow.org", "kind": "ClusterTrainingRuntime",
                                         "name": "torch-distributed"}  # fmt: skip
    assert trainer["command"] == container["command"] and trainer["image"] == container["image"]
    assert (trainer["numNodes"], trainer["numProcPerNode"]) == (2, 8)
    assert trainer["resourcesPerNode"] == container["resources"]
    plain_env = [item for item in trainer["env"] if "value" in item]
    assert plain_env == container["env"]
    pod = _pod(job)
    assert pod["metadata"] == pytorch["metadata"]  # the Istio annotation and labels
    for key in ("securityContext", "volumes", "tolerations", "nodeSelector"):
        assert pod["spec"][key] == pytorch["spec"][key], key
    (node,) = pod["spec"]["containers"]
    assert node["volumeMounts"] == container["volumeMounts"]
    assert node["securityContext"] == container["securityContext"]


def test_storage_secret_keys_are_mapped_one_by_one(job):
    secret_env = {item["name"]: item["valueFrom"]["secretKeyRef"] for item in job["spec"]["trainer"]["env"]
                  if "valueFrom" in item}  # fmt: skip
    assert secret_env["HF_TOKEN"] == {"name": "s1-storage", "key": "HF_TOKEN", "optional": True}
    assert "AWS_SECRET_ACCESS_KEY" in secret_env


def test_gang_scheduling_is_the_runtimes_business():
    with pytest.raises(ValueError, match="podGroupPolicy"):
        build_trainjob(TrainingJobSpec(name="gang", gang_scheduling=True))


def test_dry_run_prints_a_valid_trainjob(capsys, crd_dir):
    from s1.cli import main

    assert main(["train", "--launcher", "trainjob", "--dry-run", "--recipe", "s1-32b", "--data", "/mnt/s1/data",
                 "--out", "/mnt/s1/train", "--nnodes", "1", "--network", "infiniband"]) == 0  # fmt: skip
    job = yaml.safe_load(capsys.readouterr().out)
    assert (job["kind"], job["spec"]["trainer"]["numNodes"]) == ("TrainJob", 1)
    assert "topology.nodes=1" in job["spec"]["trainer"]["command"]
    assert validation_errors(job, crd_dir) == []


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda j: j["spec"]["trainer"].update(numProcPerNode="8"), "is not of type 'integer'"),
        (lambda j: j["spec"]["trainer"].update(nprocPerNode=8), "'nprocPerNode' was unexpected"),
        (lambda j: _pod(j)["spec"].update(hostNetwork=True), "'hostNetwork' was unexpected"),
        (lambda j: _pod(j)["spec"]["containers"][0].update(image="x"), "'image' was unexpected"),
        (lambda j: j["spec"].update(podTemplateOverrides=[]), "'podTemplateOverrides' was unexpected"),
    ],
)
def test_schema_rejects_unknown_fields_and_wrong_types(job, crd_dir, mutate, expected):
    broken = copy.deepcopy(job)
    mutate(broken)
    errors = validation_errors(broken, crd_dir)
    assert any(expected in error for error in errors), errors


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda j: j["metadata"].update(name="1-train"), "RFC 1035"),
        (lambda j: j["spec"]["trainer"]["env"].append({"name": "PET_NNODES", "value": "2"}), "reserved"),
        (lambda j: j["spec"]["runtimePatches"][0].update(manager="s1"), "domain-prefixed"),
        (lambda j: j["spec"]["runtimePatches"][0]["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"][0]
         .update(name="worker"), "replicated job 'worker'"),
        (lambda j: _pod(j)["spec"]["containers"][0].update(name="trainer"), "container 'trainer'"),
        (lambda j: _pod(j)["spec"]["containers"][0].update(env=[{"name": "A", "value": "1"}]), "spec.trainer.env"),
    ],
)
def test_webhook_rules(job, crd_dir, mutate, expected):
    assert trainjob_webhook_errors(job, crd_dir) == []
    broken = copy.deepcopy(job)
    mutate(broken)
    errors = trainjob_webhook_errors(broken, crd_dir)
    assert any(expected in error for error in errors), errors
