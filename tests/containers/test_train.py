"""The train image runs a 2-rank DeepSpeed ZeRO-3 training on CPU as two containers, one rank
each, configured only by what the training operator injects: the PyTorchJob builder's command
and env, plus the operator's PET_*/MASTER_* variables. The model it writes loads."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from pipelines.pytorchjob import build_pytorchjob
from pipelines.training_job import TrainingJobSpec
from s1.train.config import load_topology
from tests.containers.conftest import readable_copy
from tests.train.conftest import training_rows, write_rows

pytestmark = [pytest.mark.container, pytest.mark.slow]

SHARED = "/mnt/s1"  # the PVC mount of the job's pods
# The training operator's default master port (kubeflow/trainer release-1.9).
MASTER_PORT = "23456"


def operator_env(job: dict, replica_type: str, index: int) -> dict[str, str]:
    """The env the v1 training operator adds to a PyTorchJob pod (nprocPerNode set)."""
    replicas = job["spec"]["pytorchReplicaSpecs"]
    nodes = sum(spec["replicas"] for spec in replicas.values())
    nproc = job["spec"]["nprocPerNode"]
    node_rank = 0 if replica_type == "Master" else index + 1
    master = f"{job['metadata']['name']}-master-0"
    return {
        "MASTER_ADDR": master, "MASTER_PORT": MASTER_PORT, "PET_MASTER_ADDR": master, "PET_MASTER_PORT": MASTER_PORT,
        "WORLD_SIZE": str(nodes * int(nproc)), "RANK": str(node_rank),
        "PET_NNODES": str(nodes), "PET_NODE_RANK": str(node_rank), "PET_NPROC_PER_NODE": nproc,
    }  # fmt: skip


def test_two_containers_train_zero3_and_the_model_loads(podman: str, cpu_images: dict, tiny_qwen_dir: Path,
                                                        tmp_path: Path) -> None:  # fmt: skip
    pvc = tmp_path / "pvc"
    write_rows(pvc / "data" / "selected.jsonl", training_rows(16))
    readable_copy(tiny_qwen_dir, pvc / "base-model")
    for path in [pvc, *pvc.rglob("*")]:  # fsGroup: the pods' uid 1000 writes to the volume
        path.chmod(0o777 if path.is_dir() else 0o666)
    topology = load_topology("cpu-zero3")
    spec = TrainingJobSpec(
        name=f"s1-zero3-{uuid.uuid4().hex[:6]}", recipe="tiny-qwen", data=f"{SHARED}/data", out=f"{SHARED}/train",
        overrides={"model": f"{SHARED}/base-model", "topology": "cpu-zero3", "epochs": "1", "save_steps": "2"},
        env=dict(topology.env), image=cpu_images["train-cpu"], num_nodes=2, gpus_per_node=0, processes=1,
        cpu="1", memory="4Gi", shm_size="1Gi", node_selector={}, tolerations=(), secret_name=None,
    )  # fmt: skip
    job = build_pytorchjob(spec)
    network = f"{spec.name}-net"
    subprocess.run([podman, "network", "create", network], capture_output=True, check=True)
    names = []
    try:
        for replica_type, replica in job["spec"]["pytorchReplicaSpecs"].items():
            for index in range(replica["replicas"]):
                (container,) = replica["template"]["spec"]["containers"]
                env = {item["name"]: item["value"] for item in container["env"] if "value" in item}
                env.update(operator_env(job, replica_type, index))
                name = f"{spec.name}-{replica_type.lower()}-{index}"
                subprocess.run(
                    [podman, "run", "--detach", "--name", name, "--hostname", name, "--network", network,
                     "--user", "1000", "--volume", f"{pvc}:{SHARED}", "--shm-size", "1g",  # the dshm emptyDir
                     *(f"--env={key}={value}" for key, value in env.items()),
                     "--entrypoint", container["command"][0], container["image"], *container["command"][1:]],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                names.append(name)
        codes = [subprocess.run([podman, "wait", name], capture_output=True, text=True, timeout=900).stdout.strip()
                 for name in names]  # fmt: skip
        logs = {name: subprocess.run([podman, "logs", name], capture_output=True, text=True) for name in names}
        assert codes == ["0", "0"], "\n".join(f"== {n}\n{r.stdout[-4000:]}{r.stderr[-4000:]}" for n, r in logs.items())
    finally:
        subprocess.run([podman, "rm", "--force", *names], capture_output=True)
        subprocess.run([podman, "network", "rm", "--force", network], capture_output=True)

    import json

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    summary = json.loads((pvc / "train" / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["steps"] > 0, summary
    model_dir = pvc / "train" / "model"
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    base = AutoModelForCausalLM.from_pretrained(tiny_qwen_dir)
    # Gathered from the ZeRO-3 shards into full weights, and trained (not the base model).
    for name, tensor in base.state_dict().items():
        assert model.state_dict()[name].shape == tensor.shape, name
    assert any(not torch.equal(model.state_dict()[name], tensor) for name, tensor in base.state_dict().items())
    ids = tokenizer("What is 12 + 30?", return_tensors="pt").input_ids
    assert model.generate(ids, max_new_tokens=4, do_sample=False).shape[1] == ids.shape[1] + 4
