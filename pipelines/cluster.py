"""What the code assumes about the cluster, stated once: object names, mounts, GPU nodes, identity.

The builders (PyTorchJob, TrainJob, InferenceService, the base manifests) and the pipeline read
these; `manifests/base/` is rendered from the same builders, so a name changed here changes
everywhere at once. Network profiles (RDMA/InfiniBand resources and NCCL settings) are data in
`networks.yaml` beside this file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

GPU_RESOURCE = "nvidia.com/gpu"
# NVIDIA GPU feature discovery's product label: s1-32B needs 80 GB H100s to train and serve.
GPU_NODE_SELECTOR = {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}
# GPU node pools are usually tainted so that only GPU work lands there.
GPU_TOLERATIONS = ((GPU_RESOURCE, "NoSchedule"),)
# CPU and memory of a pipeline step on a GPU node (evaluate; curate with local models): vLLM
# stages up to 32B weights through host memory.
GPU_STEP_RESOURCES = ("32", "256Gi")
# The shared ReadWriteMany volume (data, checkpoints, models) and where every pod mounts it.
PVC_NAME = "s1-data"
SHARED_MOUNT = "/mnt/s1"
# Object-store credentials (AWS_ACCESS_KEY_ID, ...) and HF_TOKEN for training pods; optional.
STORAGE_SECRET = "s1-storage"
# OPENAI_API_KEY (teacher/grader endpoints) and HF_TOKEN (gated datasets such as GPQA); optional.
ENDPOINTS_SECRET = "s1-endpoints"
ENDPOINTS_ENV = {"OPENAI_API_KEY": "OPENAI_API_KEY", "HF_TOKEN": "HF_TOKEN"}
# The identity pipeline runs use (`s1 pipeline submit`), bound to the least-privilege Role.
SERVICE_ACCOUNT = "s1-runner"
# Every image runs as uid 1000, gid 0 (images/*/Dockerfile). fsGroup makes the kubelet give a
# volume's files that group, so a root-owned RWX volume is writable by the pods.
RUN_AS_USER = 1000
FS_GROUP = 1000
# Kubeflow profile namespaces inject an Istio sidecar; torchrun's rendezvous and NCCL do not pass
# through it and the job never starts (kubeflow/trainer v1.9.4 examples/pytorch/README.md).
NO_ISTIO_SIDECAR = {"sidecar.istio.io/inject": "false"}
PART_OF = {"app.kubernetes.io/part-of": "s1"}

NETWORKS_FILE = Path(__file__).resolve().parent / "networks.yaml"


def toleration_objects(tolerations) -> list[dict]:
    """Pod tolerations for (taint key, effect) pairs such as GPU_TOLERATIONS: any value of the key."""
    return [{"key": key, "operator": "Exists", "effect": effect} for key, effect in tolerations]


@dataclass(frozen=True)
class Network:
    """How the training pods reach each other: device resources per pod and NCCL's settings."""

    name: str
    # Extra extended resources per pod, e.g. RDMA HCAs exposed by a device plugin.
    resources: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    # RDMA registers (pins) memory: the container needs IPC_LOCK for an unlimited memlock.
    ipc_lock: bool = False


def load_network(name: str) -> Network:
    """A network profile from networks.yaml by name; a clear error names the known ones."""
    profiles = yaml.safe_load(NETWORKS_FILE.read_text())
    if name not in profiles:
        raise ValueError(f"unknown network {name!r}; known: {', '.join(profiles)} ({NETWORKS_FILE.name})")
    raw = profiles[name] or {}
    unknown = sorted(set(raw) - {"resources", "env", "ipc_lock"})
    if unknown:
        raise ValueError(f"{NETWORKS_FILE.name}: network {name!r} has unknown keys {unknown}")
    return Network(
        name=name,
        resources={str(k): str(v) for k, v in (raw.get("resources") or {}).items()},
        env={str(k): str(v) for k, v in (raw.get("env") or {}).items()},
        ipc_lock=bool(raw.get("ipc_lock", False)),
    )


def network_names() -> list[str]:
    return list(yaml.safe_load(NETWORKS_FILE.read_text()))
