"""The Role grants exactly what the steps call: the train step (both job kinds, first run, retry of a
Failed job, resubmission) and the deploy step (either predictor; create, then update) run with the
real `kubernetes` client against a recording API server; the calls they make are the calls the Role
is built from."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from tests.pipelines.fake_kube_api import FakeKubeAPI, running_pod

from pipelines import inferenceservice, launchers
from pipelines.launchers import PYTORCHJOB, ClusterJobLauncher, TrainingJobFailed, trainjob_kind
from pipelines.pytorchjob import build_pytorchjob
from pipelines.rbac import STEP_API_CALLS, step_rules
from pipelines.training_job import TrainingJobSpec

SPEC = TrainingJobSpec(name="s1-train-rbac", namespace="s1", num_nodes=2, gpus_per_node=8, backoff_limit=1)
# The labels the operators put on rank 0's pod: training operator v1.9.4 (common_types.go
# JobNameLabel, JobRoleLabel); JobSet, and the Indexed Job's completion index (Trainer v2.3.0
# hack/e2e-run-notebook.sh selects rank 0's log by them).
PYTORCH_MASTER = running_pod("s1-train-rbac-master-0", "pytorch", {
    "training.kubeflow.org/job-name": "s1-train-rbac", "training.kubeflow.org/job-role": "master",
    "training.kubeflow.org/replica-type": "master"})  # fmt: skip
TRAINJOB_RANK0 = running_pod("s1-train-rbac-node-0-0-x", "node", {
    "jobset.sigs.k8s.io/jobset-name": "s1-train-rbac", "jobset.sigs.k8s.io/replicatedjob-name": "node",
    "jobset.sigs.k8s.io/job-index": "0", "batch.kubernetes.io/job-completion-index": "0"})  # fmt: skip
TRAINJOB_RANK1 = running_pod("s1-train-rbac-node-0-1-y", "node", {
    **TRAINJOB_RANK0["metadata"]["labels"], "batch.kubernetes.io/job-completion-index": "1"})  # fmt: skip


@pytest.fixture
def api(tmp_path, monkeypatch):
    from kubernetes import config

    with FakeKubeAPI() as fake:
        kubeconfig = fake.kubeconfig(tmp_path)
        for module in (launchers, inferenceservice):
            monkeypatch.setattr(module, "load_config", lambda: config.load_kube_config(config_file=str(kubeconfig)))
        yield fake


def quiet(_line: str) -> None:
    pass


def test_pytorchjob_first_run_streams_the_master_log(api):
    api.outcomes["pytorchjobs"] = ["Succeeded"]
    api.pods = [TRAINJOB_RANK1, PYTORCH_MASTER]
    lines = []
    result = ClusterJobLauncher(PYTORCHJOB, poll_seconds=0.01).run(SPEC, log=lines.append)
    assert result["status"] == "Succeeded"
    assert "step 2 loss 1.5" in lines
    assert api.calls[0] == ("kubeflow.org", "pytorchjobs", "create")


def test_a_failed_pytorchjob_is_deleted_and_recreated_not_reattached(api):
    api.add("pytorchjobs", build_pytorchjob(SPEC), outcome="Failed")
    api.outcomes["pytorchjobs"] = ["Succeeded"]
    lines = []
    assert ClusterJobLauncher(PYTORCHJOB, poll_seconds=0.01).run(SPEC, log=lines.append)["status"] == "Succeeded"
    verbs = [verb for group, resource, verb in api.calls if resource == "pytorchjobs"]
    assert verbs[:5] == ["create", "get", "delete", "get", "create"]  # 409, Failed, delete, gone, again
    assert any("recreating" in line for line in lines)


def test_a_running_or_succeeded_job_is_attached_to(api):
    api.add("pytorchjobs", build_pytorchjob(SPEC), outcome="Succeeded")
    ClusterJobLauncher(PYTORCHJOB, poll_seconds=0.01).run(SPEC, log=quiet)
    assert ("kubeflow.org", "pytorchjobs", "delete") not in api.calls


def test_a_failed_trainjob_is_resubmitted_up_to_the_backoff_limit(api):
    api.outcomes["trainjobs"] = ["Failed", "Complete"]
    api.pods = [TRAINJOB_RANK1, TRAINJOB_RANK0]
    api.log_text = "rank 0 step 1\n"
    lines = []
    result = ClusterJobLauncher(trainjob_kind(), poll_seconds=0.01).run(SPEC, log=lines.append)
    assert result["status"] == "Succeeded"
    creates = [c for c in api.calls if c == ("trainer.kubeflow.org", "trainjobs", "create")]
    assert len(creates) == 2
    assert "--- log of s1-train-rbac-node-0-0-x (restart 0) ---" in lines and "rank 0 step 1" in lines

    api.objects.clear()
    api.outcomes["trainjobs"] = ["Failed", "Failed"]
    with pytest.raises(TrainingJobFailed, match="TrainJob s1/s1-train-rbac failed"):
        ClusterJobLauncher(trainjob_kind(), poll_seconds=0.01).run(SPEC, log=quiet)


def test_train_step_reports_the_jobs_summary_as_metrics(api, tmp_path):
    """The step names the job after its inputs, waits for it, and logs summary.json's numbers."""
    from pipelines.steps import train_step

    def training_pods_finish(job: dict) -> None:  # what the pods leave on the shared volume
        command = job["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0]["command"]
        out = Path(command[command.index("--out") + 1])
        (out / "model").mkdir(parents=True)
        (out / "summary.json").write_text(json.dumps({"steps": 12, "final_loss": 0.5, "tokens_per_second": 900.0,
                                                      "model_dir": str(out / "model")}))  # fmt: skip

    api.outcomes["pytorchjobs"] = ["Succeeded"]
    api.on_create["pytorchjobs"] = training_pods_finish
    data = tmp_path / "dataset"
    data.mkdir()
    (data / "selected.jsonl").write_text('{"id": "a"}\n')
    logged = {}
    metrics = SimpleNamespace(log_metric=logged.__setitem__)
    model = SimpleNamespace(path=str(tmp_path / "artifact"), metadata={})
    workdir = tmp_path / "shared"
    # The job is Succeeded at the first look: the launcher's 15 s poll never sleeps here.
    train_step(SimpleNamespace(path=str(data)), "s1-32b", "", {"checkpoint_uri": None}, "pytorchjob", 2, 8, "pod",
               False, str(workdir), "s1-data", "s1", "s1-storage", model, metrics)  # fmt: skip
    assert logged["steps"] == 12 and logged["final_loss"] == 0.5 and logged["tokens_per_second"] == 900.0
    assert "seconds" in logged
    (job,) = api.objects.values()
    command = job["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0]["command"]
    assert "checkpoint_uri=null" in command, "None reaches the pods as null, not the string 'None'"
    assert model.metadata["storage_uri"].startswith("pvc://s1-data/runs/train-")


def test_deploy_creates_then_updates_and_waits_for_ready(api):
    spec = inferenceservice.InferenceServiceSpec(name="s1-32b", storage_uri="pvc://s1-data/m", namespace="s1", gpus=2)
    api.outcomes["inferenceservices"] = ["Ready"]
    assert inferenceservice.deploy(spec, poll_seconds=0.01, log=quiet)["url"] == "http://s1-32b.example.com"
    assert inferenceservice.deploy(spec, poll_seconds=0.01, log=quiet)["name"] == "s1-32b"
    assert [verb for _, _, verb in api.calls] == ["create", "get", "create", "patch", "get"]


def test_deploying_the_vllm_predictor_applies_its_runtime_first(api):
    from pipelines.servingruntime import build_servingruntime

    spec = inferenceservice.InferenceServiceSpec(name="s1-32b", storage_uri="pvc://s1-data/m", namespace="s1", gpus=2,
                                                 predictor="vllm")  # fmt: skip
    api.outcomes["inferenceservices"] = ["Ready"]
    inferenceservice.deploy(spec, poll_seconds=0.01, log=quiet)
    inferenceservice.deploy(spec, poll_seconds=0.01, log=quiet)
    assert [(resource, verb) for _, resource, verb in api.calls] == [
        ("servingruntimes", "create"), ("inferenceservices", "create"), ("inferenceservices", "get"),
        ("servingruntimes", "create"), ("servingruntimes", "patch"),
        ("inferenceservices", "create"), ("inferenceservices", "patch"), ("inferenceservices", "get"),
    ]
    runtime = api.objects[("servingruntimes", "s1-32b-vllm")]
    assert runtime["spec"] == build_servingruntime(spec)["spec"]
    assert api.objects[("inferenceservices", "s1-32b")]["spec"]["predictor"]["model"]["runtime"] == "s1-32b-vllm"


def test_the_role_grants_exactly_the_calls_the_steps_make(api, tmp_path):
    """Every scenario above, once more, recorded per step: nothing called is missing from the
    declared calls (a 403 on the cluster) and nothing declared is never called (excess rights)."""
    made: dict[str, set] = {}
    api.outcomes["pytorchjobs"] = ["Succeeded"]
    api.add("pytorchjobs", build_pytorchjob(SPEC), outcome="Failed")
    api.pods = [PYTORCH_MASTER, TRAINJOB_RANK0]
    ClusterJobLauncher(PYTORCHJOB, poll_seconds=0.01).run(SPEC, log=quiet)
    api.outcomes["trainjobs"] = ["Failed", "Complete"]
    ClusterJobLauncher(trainjob_kind(), poll_seconds=0.01).run(SPEC, log=quiet)
    made["train"], api.calls = set(api.calls), []
    api.outcomes["inferenceservices"] = ["Ready"]
    for predictor in ("s1", "vllm"):
        spec = inferenceservice.InferenceServiceSpec(name="s1", storage_uri="pvc://s1-data/m", namespace="s1",
                                                     predictor=predictor)  # fmt: skip
        api.outcomes["inferenceservices"] = ["Ready"]
        inferenceservice.deploy(spec, poll_seconds=0.01, log=quiet)
        inferenceservice.deploy(spec, poll_seconds=0.01, log=quiet)
        api.objects.pop(("inferenceservices", "s1"))
    made["deploy"] = set(api.calls)
    assert {step: set(calls) for step, calls in STEP_API_CALLS.items()} == made
    granted = {(g, r, v) for rule in step_rules() for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}
    assert granted == made["train"] | made["deploy"]
