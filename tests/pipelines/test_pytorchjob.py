"""The PyTorchJob for s1-32B on 2 x 8 GPUs: shape, schema (strict), webhook rules, the command, and
what a real cluster needs (no Istio sidecar, fsGroup, gang scheduling, RDMA devices)."""

from __future__ import annotations

import copy

import pytest
import yaml

from pipelines.cluster import load_network
from pipelines.images import image_for
from pipelines.pytorchjob import build_pytorchjob
from pipelines.training_job import TrainingJobSpec, job_spec
from pipelines.validation import pytorchjob_webhook_errors, validation_errors

SPEC = TrainingJobSpec(
    name="s1-train-abc123",
    recipe="s1-32b",
    data="/mnt/s1/runs/x/data",
    out="/mnt/s1/runs/x/train",
    overrides={"save_steps": "5", "epochs": "5"},
)


@pytest.fixture
def job() -> dict:
    return build_pytorchjob(SPEC)


def _pod(job: dict, kind: str) -> dict:
    return job["spec"]["pytorchReplicaSpecs"][kind]["template"]["spec"]


def test_two_nodes_of_eight_gpus(job):
    replicas = job["spec"]["pytorchReplicaSpecs"]
    assert job["apiVersion"] == "kubeflow.org/v1" and job["kind"] == "PyTorchJob"
    assert {kind: r["replicas"] for kind, r in replicas.items()} == {"Master": 1, "Worker": 1}
    assert job["spec"]["nprocPerNode"] == "8"
    for kind in replicas:
        assert replicas[kind]["restartPolicy"] == "OnFailure"
        (container,) = _pod(job, kind)["containers"]
        assert container["name"] == "pytorch"
        assert container["image"] == image_for("train")
        assert container["resources"]["limits"]["nvidia.com/gpu"] == "8"
        assert container["resources"]["requests"] == container["resources"]["limits"]


def test_pod_environment_volumes_and_scheduling(job):
    pod = _pod(job, "Worker")
    (container,) = pod["containers"]
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["TORCH_NCCL_ASYNC_ERROR_HANDLING"] == "1" and env["NCCL_DEBUG"] == "WARN"
    assert env["HF_HOME"].startswith("/mnt/s1/")
    assert container["envFrom"] == [{"secretRef": {"name": "s1-storage", "optional": True}}]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["dshm"]["emptyDir"]["medium"] == "Memory"
    assert volumes["shared"]["persistentVolumeClaim"]["claimName"] == "s1-data"
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts == {"/dev/shm": "dshm", "/mnt/s1": "shared"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    assert pod["nodeSelector"]
    policy = job["spec"]["runPolicy"]
    assert policy["backoffLimit"] == 3 and policy["cleanPodPolicy"] == "Running"
    assert policy["ttlSecondsAfterFinished"] > 0
    assert "schedulingPolicy" not in policy  # gang scheduling is opt-in: it needs Volcano or the coscheduler


def test_pods_run_without_istio_sidecar_as_uid_1000_with_fsgroup(job):
    for kind in ("Master", "Worker"):
        template = job["spec"]["pytorchReplicaSpecs"][kind]["template"]
        assert template["metadata"]["annotations"]["sidecar.istio.io/inject"] == "false"
        assert template["spec"]["securityContext"] == {"runAsNonRoot": True, "runAsUser": 1000, "fsGroup": 1000}
        (container,) = template["spec"]["containers"]
        assert container["securityContext"] == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def test_gang_scheduling_asks_for_every_node(crd_dir):
    job = build_pytorchjob(TrainingJobSpec(name="gang", gang_scheduling=True, queue="training", priority_class="high"))
    assert job["spec"]["runPolicy"]["schedulingPolicy"] == {
        "minAvailable": 2, "scheduleTimeoutSeconds": 600, "queue": "training", "priorityClass": "high",
    }  # fmt: skip
    assert validation_errors(job, crd_dir) == []


def test_infiniband_network_adds_devices_ipc_lock_and_nccl_settings(crd_dir):
    job = build_pytorchjob(TrainingJobSpec(name="ib", network=load_network("infiniband"), env={"NCCL_DEBUG": "WARN"}))
    (container,) = _pod(job, "Worker")["containers"]
    assert container["resources"]["limits"]["rdma/rdma_shared_device_a"] == "1"
    assert container["resources"]["requests"] == container["resources"]["limits"]
    assert container["securityContext"]["capabilities"]["add"] == ["IPC_LOCK"]
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["NCCL_IB_DISABLE"] == "0" and env["NCCL_SOCKET_IFNAME"] == "eth0"
    assert env["NCCL_DEBUG"] == "WARN", "the recipe's env wins over the network profile's"
    assert validation_errors(job, crd_dir) == []
    with pytest.raises(ValueError, match="unknown network 'ethernet'"):
        load_network("ethernet")


def test_replica_templates_are_independent(job):
    job["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0]["name"] = "changed"
    assert _pod(job, "Worker")["containers"][0]["name"] == "pytorch"
    assert "&id" not in yaml.safe_dump(build_pytorchjob(SPEC))  # no YAML anchors for kubectl users


def test_single_node_has_only_a_master():
    job = build_pytorchjob(TrainingJobSpec(name="one", num_nodes=1, gpus_per_node=4))
    assert list(job["spec"]["pytorchReplicaSpecs"]) == ["Master"]
    assert job["spec"]["nprocPerNode"] == "4"


def test_command_takes_topology_from_the_operator_env(job, monkeypatch):
    """torchrun must get nodes, rank and master from the PET_* variables the operator injects."""
    from torch.distributed.run import get_args_parser

    command = _pod(job, "Worker")["containers"][0]["command"]
    assert command[:3] == ["torchrun", "-m", "s1.train.worker"]
    for key, value in {"PET_NNODES": "2", "PET_NPROC_PER_NODE": "8", "PET_NODE_RANK": "1",
                       "PET_MASTER_ADDR": "s1-train-abc123-master-0", "PET_MASTER_PORT": "23456"}.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    args = get_args_parser().parse_args(command[1:])
    assert (args.nnodes, args.nproc_per_node, args.node_rank) == ("2", "8", 1)
    assert (args.master_addr, args.master_port) == ("s1-train-abc123-master-0", 23456)
    assert args.module and args.training_script == "s1.train.worker"
    assert args.training_script_args == [
        "--recipe", "s1-32b", "--data", "/mnt/s1/runs/x/data", "--out", "/mnt/s1/runs/x/train",
        "--set", "epochs=5", "--set", "save_steps=5",
    ]  # fmt: skip


def test_worker_accepts_the_arguments():
    from s1.train.worker import parse_args

    args = parse_args(SPEC.command()[3:])
    assert (args.recipe, str(args.data), str(args.out)) == ("s1-32b", SPEC.data, SPEC.out)


def test_job_spec_serialises_overrides_once_and_matches_the_topology():
    """None must reach the pods as null (not the string "None"); a node count that differs
    from the recipe's topology reaches every rank, so they agree on the world size."""
    from s1.train.config import load_recipe, parse_overrides

    spec = job_spec("s1-32b", "/mnt/s1/d", "/mnt/s1/o", {"checkpoint_uri": None, "epochs": 3, "learning_rate": "2e-5"},
                    num_nodes=1, name="s1-train-x")  # fmt: skip
    assert spec.overrides == {"checkpoint_uri": "null", "epochs": "3", "learning_rate": "2e-5", "topology.nodes": "1"}
    assert (spec.num_nodes, spec.gpus_per_node) == (1, 8)
    pairs = [arg for i, arg in enumerate(spec.command()) if i and spec.command()[i - 1] == "--set"]
    recipe = load_recipe("s1-32b", parse_overrides(pairs))
    assert recipe.checkpoint_uri is None and recipe.epochs == 3 and recipe.topology.world_size == 8
    assert spec.env == load_recipe("s1-32b").topology.env
    with pytest.raises(ValueError, match="not a multiple of the world size"):
        job_spec("s1-32b", "/d", "/o", {"global_batch_size": 12}, name="x")
    # A CPU topology asks for no GPUs; its processes per node come from the topology too.
    cpu = job_spec("tiny-qwen", "/d", "/o", {"topology.processes_per_node": 2}, name="cpu")
    assert (cpu.num_nodes, cpu.gpus_per_node, cpu.processes_per_node) == (1, 0, 2)
    assert "nvidia.com/gpu" not in cpu.limits() and build_pytorchjob(cpu)["spec"]["nprocPerNode"] == "2"
    assert (cpu.node_selector, cpu.tolerations) == ({}, ())  # not pinned to the GPU nodes


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"name": "S1_Train"}, "not a DNS label"),
        ({"name": "1-train"}, "not a DNS label"),
        ({"name": "ok", "num_nodes": 0}, "num_nodes"),
        ({"name": "ok", "overrides": {"a=b": "c"}}, "override key"),
        ({"name": "ok", "env": {"NCCL-DEBUG": "INFO"}}, "C identifier"),
        ({"name": "ok", "env": {"OMP_NUM_THREADS": 8}}, "to a string"),
    ],
)
def test_bad_specs_fail_early(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainingJobSpec(**kwargs)


def test_topology_env_reaches_every_pod_and_wins_over_defaults(crd_dir):
    from s1.train.config import load_recipe

    topology_env = load_recipe("s1-32b").topology.env
    assert topology_env["PYTORCH_CUDA_ALLOC_CONF"] == "expandable_segments:True"
    job = build_pytorchjob(TrainingJobSpec(name="s1-train-env", env={**topology_env, "NCCL_DEBUG": "INFO"}))
    for kind in ("Master", "Worker"):
        names = [item["name"] for item in _pod(job, kind)["containers"][0]["env"]]
        assert len(names) == len(set(names)), names  # one entry per variable: the recipe's value wins
        env = {item["name"]: item["value"] for item in _pod(job, kind)["containers"][0]["env"]}
        assert env == {**env, **topology_env, "NCCL_DEBUG": "INFO"}
        assert env["HF_HOME"] == "/mnt/s1/hf-cache"  # defaults the recipe does not set are kept
    assert validation_errors(job, crd_dir) == []
    assert pytorchjob_webhook_errors(job) == []


def test_dry_run_carries_the_recipe_topology_env_and_the_istio_annotation(capsys, crd_dir):
    from s1.cli import main
    from s1.train.config import load_recipe

    assert main(["train", "--launcher", "pytorchjob", "--dry-run", "--recipe", "s1-32b",
                 "--data", "/mnt/s1/data", "--out", "/mnt/s1/train", "--set", "checkpoint_uri=null"]) == 0  # fmt: skip
    job = yaml.safe_load(capsys.readouterr().out)
    env = {item["name"]: item["value"] for item in _pod(job, "Master")["containers"][0]["env"]}
    assert load_recipe("s1-32b").topology.env.items() <= env.items()
    assert job["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["metadata"]["annotations"] == {
        "sidecar.istio.io/inject": "false"
    }
    assert "checkpoint_uri=null" in _pod(job, "Master")["containers"][0]["command"]
    assert validation_errors(job, crd_dir) == []


def test_valid_against_the_crd(job, crd_dir):
    assert validation_errors(job, crd_dir) == []
    assert validation_errors(build_pytorchjob(TrainingJobSpec(name="one", num_nodes=1)), crd_dir) == []


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda j: j["spec"].update(nprocPerNod="8"), "'nprocPerNod' was unexpected"),
        (lambda j: j["spec"]["runPolicy"].update(backoffLimit="3"), "is not of type 'integer'"),
        (lambda j: j["spec"].update(nprocPerNode=8), "8 is not of type 'string'"),
        (lambda j: _pod(j, "Master")["containers"][0].update(gpus=8), "'gpus' was unexpected"),
        (lambda j: _pod(j, "Master")["volumes"][0]["emptyDir"].update(sizeLimit=[1]), "sizeLimit"),
    ],
)
def test_schema_rejects_unknown_fields_and_wrong_types(job, crd_dir, mutate, expected):
    broken = copy.deepcopy(job)
    mutate(broken)
    errors = validation_errors(broken, crd_dir)
    assert any(expected in error for error in errors), errors


def test_webhook_rules(job):
    assert pytorchjob_webhook_errors(job) == []
    renamed = copy.deepcopy(job)
    _pod(renamed, "Worker")["containers"][0]["name"] = "trainer"
    assert pytorchjob_webhook_errors(renamed) == ["spec.pytorchReplicaSpecs.Worker: a container named 'pytorch' is required"]
    two_masters = copy.deepcopy(job)
    two_masters["spec"]["pytorchReplicaSpecs"]["Master"]["replicas"] = 2
    assert pytorchjob_webhook_errors(two_masters) == ["spec.pytorchReplicaSpecs.Master.replicas: must be 1"]
    no_image = copy.deepcopy(job)
    del _pod(no_image, "Master")["containers"][0]["image"]
    assert any("image is required" in e for e in pytorchjob_webhook_errors(no_image))
    elastic = copy.deepcopy(job)
    del elastic["spec"]["pytorchReplicaSpecs"]["Worker"]
    elastic["spec"]["elasticPolicy"] = {"minReplicas": 1}
    assert pytorchjob_webhook_errors(elastic) == ["spec.elasticPolicy: needs a Worker replica spec"]
