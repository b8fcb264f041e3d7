"""One training run on the cluster, whatever runs it: the spec both job builders take.

`job_spec` is the one place a recipe becomes a job: nodes and GPUs default to the recipe's
topology, its `env` reaches the pods, overrides are serialised by `s1.train.launch`. The
PyTorchJob (`pipelines.pytorchjob`) and the Trainer v2 TrainJob (`pipelines.trainjob`) build
their objects from it with the pod pieces below, so both run the same pods.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pipelines.cluster import (
    FS_GROUP,
    GPU_NODE_SELECTOR,
    GPU_RESOURCE,
    GPU_TOLERATIONS,
    NO_ISTIO_SIDECAR,
    PART_OF,
    PVC_NAME,
    RUN_AS_USER,
    SHARED_MOUNT,
    STORAGE_SECRET,
    Network,
    toleration_objects,
)
from pipelines.images import image_for
from pipelines.kube import DNS_LABEL

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
LABELS = {"app.kubernetes.io/name": "s1-train", **PART_OF}
RECIPE_ANNOTATION = "s1.kubeflow/recipe"


@dataclass(frozen=True)
class TrainingJobSpec:
    """What to train and where; defaults are the s1-32B run on 2 nodes x 8 H100.

    data/out are paths inside the pods (on the shared PVC mounted at `pvc_mount`).
    """

    name: str
    recipe: str = "s1-32b"
    data: str = f"{SHARED_MOUNT}/data"
    out: str = f"{SHARED_MOUNT}/train"
    overrides: dict[str, str] = field(default_factory=dict)
    # Extra container env, normally the recipe topology's `env` (PYTORCH_CUDA_ALLOC_CONF, NCCL
    # settings); it wins over the network's and the defaults, as it does in the local launcher.
    env: dict[str, str] = field(default_factory=dict)
    namespace: str = "kubeflow-user"
    image: str = field(default_factory=lambda: image_for("train"))
    num_nodes: int = 2
    gpus_per_node: int = 8
    # Processes (torchrun workers) per node; 0: one per GPU, one on a CPU node.
    processes: int = 0
    # Per node; 32B ZeRO-3 with CPU-side optimizer buffers and the data loader needs real RAM.
    cpu: str = "64"
    memory: str = "900Gi"
    # NCCL and the data loader workers share tensors through /dev/shm; Docker's 64 MiB default
    # makes NCCL fail at start-up on multi-GPU pods.
    shm_size: str = "64Gi"
    pvc_name: str = PVC_NAME
    pvc_mount: str = SHARED_MOUNT
    # Object-store credentials and HF_TOKEN, as env; optional so a PVC-only cluster needs none.
    secret_name: str | None = STORAGE_SECRET
    node_selector: dict[str, str] = field(default_factory=lambda: dict(GPU_NODE_SELECTOR))
    tolerations: tuple[tuple[str, str], ...] = GPU_TOLERATIONS
    network: Network = field(default_factory=lambda: Network("pod"))
    # Pod restarts (PyTorchJob: OnFailure) or resubmissions (TrainJob) before giving up; each
    # resumes training from the last complete checkpoint under `out`.
    backoff_limit: int = 3
    ttl_seconds_after_finished: int = 7 * 24 * 3600
    service_account: str | None = None
    # Gang scheduling: all nodes' pods are placed together or not at all, so a half-scheduled
    # job does not hold 8 GPUs while torchrun waits out its rendezvous timeout.
    gang_scheduling: bool = False
    queue: str | None = None
    priority_class: str | None = None
    schedule_timeout_seconds: int = 600

    def __post_init__(self) -> None:
        if not DNS_LABEL.match(self.name) or not self.name[0].isalpha() or len(self.name) > 63:
            # TrainJob asks for an RFC 1035 label (a letter first); PyTorchJob for RFC 1123.
            raise ValueError(f"job name {self.name!r} is not a DNS label (a-z first, then a-z, 0-9, '-'; ≤ 63)")
        if self.num_nodes < 1:
            raise ValueError(f"num_nodes must be ≥ 1, got {self.num_nodes}")
        if self.gpus_per_node < 0 or self.processes < 0:
            raise ValueError(f"gpus_per_node and processes must be ≥ 0, got {self.gpus_per_node}, {self.processes}")
        if self.backoff_limit < 0:
            raise ValueError(f"backoff_limit must be ≥ 0, got {self.backoff_limit}")
        if not self.pvc_mount.startswith("/"):
            raise ValueError(f"pvc_mount {self.pvc_mount!r} must be an absolute path")
        for key in self.overrides:
            if not key or "=" in key:
                raise ValueError(f"override key {key!r} must be a non-empty name without '='")
        for key, value in {**self.network.env, **self.env}.items():
            if not ENV_NAME.match(key) or not isinstance(value, str):
                raise ValueError(f"env {key}={value!r}: expected a C identifier mapped to a string")

    @property
    def processes_per_node(self) -> int:
        return self.processes or max(self.gpus_per_node, 1)

    def command(self) -> list[str]:
        """The per-pod command: torchrun takes nodes, ranks and the master from the PET_* env."""
        from s1.train.launch import worker_arguments

        return ["torchrun", *worker_arguments(self.recipe, self.data, self.out, self.overrides)]

    def environment(self) -> dict[str, str]:
        """Container env: defaults, then the network's NCCL settings, then the recipe's env."""
        return {
            # Collective timeouts abort the process (and so the pod) instead of hanging the job;
            # it is then restarted and training resumes from the last checkpoint.
            "TORCH_NCCL_ASYNC_ERROR_HANDLING": "1",
            "NCCL_DEBUG": "WARN",
            # The base model is downloaded once to the shared volume, not once per pod.
            "HF_HOME": f"{self.pvc_mount}/hf-cache",
            "PYTHONUNBUFFERED": "1",
            **self.network.env,
            **self.env,
        }

    def limits(self) -> dict[str, str]:
        """Per-pod resources: CPU, memory, GPUs and the network's devices (requests = limits)."""
        limits = {"cpu": self.cpu, "memory": self.memory, **self.network.resources}
        if self.gpus_per_node:
            limits[GPU_RESOURCE] = str(self.gpus_per_node)
        return limits


def job_shape(recipe: str, overrides: dict[str, Any] | None = None, num_nodes: int = 0,
              processes_per_node: int = 0) -> tuple[int, int, int]:  # fmt: skip
    """(nodes, processes per node, GPUs per node): the recipe topology's unless given (0 or None).

    A GPU topology runs one process per GPU; a CPU topology asks for no GPUs.
    """
    from s1.train.config import load_recipe

    topology = load_recipe(recipe, overrides).topology
    processes = processes_per_node or topology.processes_per_node
    return num_nodes or topology.nodes, processes, processes if topology.device == "cuda" else 0


def job_spec(recipe: str, data: str, out: str, overrides: dict[str, Any] | None = None, *,
             num_nodes: int = 0, processes_per_node: int = 0, **settings: Any) -> TrainingJobSpec:  # fmt: skip
    """The job for `recipe` with `overrides`: nodes, processes, GPUs and env from its topology
    unless given.

    When nodes or processes differ from the topology, the pods get the matching `topology.*`
    overrides, so every rank computes the same world size the job really has.
    """
    from s1.train.config import load_recipe
    from s1.train.launch import override_text

    values = dict(overrides or {})
    topology = load_recipe(recipe, values).topology
    nodes, processes, gpus = job_shape(recipe, values, num_nodes, processes_per_node)
    if nodes != topology.nodes:
        values["topology.nodes"] = nodes
    if processes != topology.processes_per_node:
        values["topology.processes_per_node"] = processes
    load_recipe(recipe, values)  # the pods will load exactly this: fail here, not in 16 pods
    if not gpus:  # a CPU run has no business on (or tolerating) the GPU nodes
        settings = {"node_selector": {}, "tolerations": (), **settings}
    return TrainingJobSpec(
        recipe=recipe,
        data=data,
        out=out,
        overrides={key: override_text(value) for key, value in values.items()},
        env={**topology.env, **settings.pop("env", {})},
        num_nodes=nodes,
        gpus_per_node=gpus,
        processes=processes,
        **settings,
    )


# ---------------------------------------------------------------- pod pieces both kinds share


def pod_metadata() -> dict:
    return {"labels": dict(LABELS), "annotations": dict(NO_ISTIO_SIDECAR)}


def pod_security_context() -> dict:
    """The images' uid; fsGroup makes a root-owned RWX volume writable for it."""
    return {"runAsNonRoot": True, "runAsUser": RUN_AS_USER, "fsGroup": FS_GROUP}


def container_security_context(spec: TrainingJobSpec) -> dict:
    capabilities = {"drop": ["ALL"]}
    if spec.network.ipc_lock:
        capabilities["add"] = ["IPC_LOCK"]
    return {"allowPrivilegeEscalation": False, "capabilities": capabilities}


def volumes(spec: TrainingJobSpec) -> list[dict]:
    return [
        {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": spec.shm_size}},
        {"name": "shared", "persistentVolumeClaim": {"claimName": spec.pvc_name}},
    ]


def volume_mounts(spec: TrainingJobSpec) -> list[dict]:
    return [{"name": "dshm", "mountPath": "/dev/shm"}, {"name": "shared", "mountPath": spec.pvc_mount}]


def tolerations(spec: TrainingJobSpec) -> list[dict]:
    return toleration_objects(spec.tolerations)


def environment(spec: TrainingJobSpec) -> list[dict]:
    return [{"name": key, "value": value} for key, value in spec.environment().items()]
