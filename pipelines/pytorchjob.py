"""The s1 SFT run as a Kubeflow PyTorchJob (kubeflow.org/v1), built from Kubernetes client models.

Usage: s1 train --launcher pytorchjob --dry-run ... (prints `build_pytorchjob(spec)` as YAML)

One Master plus `num_nodes - 1` Workers, each pod running
``torchrun -m s1.train.worker --recipe R --data D --out O [--set k=v ...]``; the training
operator injects PET_NNODES, PET_NPROC_PER_NODE, PET_NODE_RANK, PET_MASTER_ADDR and
PET_MASTER_PORT, which torchrun reads as its defaults, so the command carries no topology.
Data and checkpoints live on a shared ReadWriteMany PVC, so a restarted pod resumes from the
latest complete checkpoint under `out`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipelines.images import image_for
from pipelines.kube import DNS_LABEL, GPU_RESOURCE, resources, tolerations

API_VERSION = "kubeflow.org/v1"
KIND = "PyTorchJob"
PLURAL = "pytorchjobs"
# The training operator's webhook rejects a PyTorchJob whose training container has another name.
CONTAINER_NAME = "pytorch"
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class TrainingJobSpec:
    """What to train and where; defaults are the s1-32B run on 2 nodes x 8 H100.

    data/out are paths inside the pods (on the shared PVC mounted at `pvc_mount`).
    """

    name: str
    recipe: str = "s1-32b"
    data: str = "/mnt/s1/data"
    out: str = "/mnt/s1/train"
    overrides: dict[str, str] = field(default_factory=dict)
    # Extra container env, normally the recipe topology's `env` (PYTORCH_CUDA_ALLOC_CONF, NCCL
    # settings); it wins over the defaults below, as it does in the local launcher.
    env: dict[str, str] = field(default_factory=dict)
    namespace: str = "kubeflow-user"
    image: str = field(default_factory=lambda: image_for("train"))
    num_nodes: int = 2
    gpus_per_node: int = 8
    # Per node; 32B ZeRO-3 with CPU-side optimizer buffers and the data loader needs real RAM.
    cpu: str = "64"
    memory: str = "900Gi"
    # NCCL and the data loader workers share tensors through /dev/shm; Docker's 64 MiB default
    # makes NCCL fail at start-up on multi-GPU pods.
    shm_size: str = "64Gi"
    pvc_name: str = "s1-data"
    pvc_mount: str = "/mnt/s1"
    # Object-store credentials (AWS_ACCESS_KEY_ID, ...) and HF_TOKEN, as env; optional so a
    # PVC-only cluster needs no Secret.
    secret_name: str | None = "s1-storage"
    node_selector: dict[str, str] = field(
        default_factory=lambda: {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}
    )
    # GPU node pools are usually tainted so only GPU work lands there.
    tolerations: tuple[tuple[str, str], ...] = ((GPU_RESOURCE, "NoSchedule"),)
    # Pod restarts (OnFailure) before the job is marked Failed; each restart resumes training.
    backoff_limit: int = 3
    ttl_seconds_after_finished: int = 7 * 24 * 3600
    service_account: str | None = None

    def __post_init__(self) -> None:
        if not DNS_LABEL.match(self.name) or len(self.name) > 63:
            raise ValueError(f"job name {self.name!r} is not a DNS-1123 label (a-z, 0-9, '-', ≤ 63)")
        if self.num_nodes < 1:
            raise ValueError(f"num_nodes must be ≥ 1, got {self.num_nodes}")
        if self.gpus_per_node < 0:
            raise ValueError(f"gpus_per_node must be ≥ 0, got {self.gpus_per_node}")
        if self.backoff_limit < 0:
            raise ValueError(f"backoff_limit must be ≥ 0, got {self.backoff_limit}")
        for key in self.overrides:
            if not key or "=" in key:
                raise ValueError(f"override key {key!r} must be a non-empty name without '='")
        for key, value in self.env.items():
            if not ENV_NAME.match(key) or not isinstance(value, str):
                raise ValueError(f"env {key}={value!r}: expected a C identifier mapped to a string")

    @property
    def world_size(self) -> int:
        return self.num_nodes * max(self.gpus_per_node, 1)


def worker_command(spec: TrainingJobSpec) -> list[str]:
    """The per-pod command: torchrun takes nodes, ranks and the master from the PET_* env."""
    command = [
        "torchrun", "-m", "s1.train.worker",
        "--recipe", spec.recipe, "--data", spec.data, "--out", spec.out,
    ]  # fmt: skip
    for key, value in sorted(spec.overrides.items()):
        command += ["--set", f"{key}={value}"]
    return command


def _environment(spec: TrainingJobSpec) -> list:
    from kubernetes.client import V1EnvVar

    env = {
        # Collective timeouts abort the process (and so the pod) instead of hanging the job;
        # the operator then restarts it and training resumes from the last checkpoint.
        "TORCH_NCCL_ASYNC_ERROR_HANDLING": "1",
        "NCCL_DEBUG": "WARN",
        # The base model is downloaded once to the shared volume, not once per pod.
        "HF_HOME": f"{spec.pvc_mount}/hf-cache",
        "PYTHONUNBUFFERED": "1",
        **spec.env,
    }
    return [V1EnvVar(name=key, value=value) for key, value in env.items()]


def _pod_template(spec: TrainingJobSpec):
    from kubernetes import client as k8s

    container = k8s.V1Container(
        name=CONTAINER_NAME,
        image=spec.image,
        command=worker_command(spec),
        env=_environment(spec),
        env_from=(
            [k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name=spec.secret_name, optional=True))]
            if spec.secret_name
            else None
        ),
        resources=resources(spec.cpu, spec.memory, spec.gpus_per_node),
        volume_mounts=[
            k8s.V1VolumeMount(name="dshm", mount_path="/dev/shm"),
            k8s.V1VolumeMount(name="shared", mount_path=spec.pvc_mount),
        ],
    )
    pod = k8s.V1PodSpec(
        containers=[container],
        volumes=[
            k8s.V1Volume(
                name="dshm",
                empty_dir=k8s.V1EmptyDirVolumeSource(medium="Memory", size_limit=spec.shm_size),
            ),
            k8s.V1Volume(
                name="shared",
                persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(claim_name=spec.pvc_name),
            ),
        ],
        node_selector=dict(spec.node_selector) or None,
        tolerations=tolerations(spec.tolerations),
        service_account_name=spec.service_account,
    )
    labels = {"app.kubernetes.io/name": "s1-train", "app.kubernetes.io/part-of": "s1"}
    return k8s.V1PodTemplateSpec(metadata=k8s.V1ObjectMeta(labels=labels), spec=pod)


def build_pytorchjob(spec: TrainingJobSpec) -> dict:
    """The PyTorchJob as a plain dict with the API's camelCase keys, ready to submit or dump."""
    from kubernetes.client import ApiClient, V1ObjectMeta

    def replica(count: int) -> dict:
        # A fresh template per replica type: no shared objects (and no YAML anchors when dumped).
        template = ApiClient().sanitize_for_serialization(_pod_template(spec))
        return {"replicas": count, "restartPolicy": "OnFailure", "template": template}

    replicas = {"Master": replica(1)}
    if spec.num_nodes > 1:
        replicas["Worker"] = replica(spec.num_nodes - 1)
    metadata = V1ObjectMeta(
        name=spec.name,
        namespace=spec.namespace,
        labels={"app.kubernetes.io/name": "s1-train", "app.kubernetes.io/part-of": "s1"},
        annotations={"s1.kubeflow/recipe": spec.recipe},
    )
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": ApiClient().sanitize_for_serialization(metadata),
        "spec": {
            "nprocPerNode": str(max(spec.gpus_per_node, 1)),
            "pytorchReplicaSpecs": replicas,
            "runPolicy": {
                "backoffLimit": spec.backoff_limit,
                # Remove pods still running once the job is decided; finished pods stay for logs.
                "cleanPodPolicy": "Running",
                "ttlSecondsAfterFinished": spec.ttl_seconds_after_finished,
            },
        },
    }
