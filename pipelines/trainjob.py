"""The s1 SFT run as a Kubeflow Trainer v2 TrainJob (trainer.kubeflow.org/v1alpha1, v2.3).

Usage: s1 train --launcher trainjob --dry-run --recipe s1-32b --data /mnt/s1/data --out /mnt/s1/train

The job names a runtime (`torch-distributed`, the ClusterTrainingRuntime Trainer ships) and
overrides what s1 needs: image, torchrun command, env, nodes, processes and resources per node
(`spec.trainer`). Pod settings the trainer section has no field for (volumes, node selector,
tolerations, security context, the Istio annotation) go in a `runtimePatches` entry owned by
`PATCH_MANAGER`. Trainer's torch plugin injects the same PET_* variables the training operator
does, so the pods run exactly the PyTorchJob's command.

What Trainer v2 does not offer per job: envFrom (the storage Secret's keys are mapped one by
one, `STORAGE_SECRET_KEYS`), a restart budget (the runtime's JobSet has no failurePolicy, so the
launcher resubmits a Failed job instead) and gang scheduling (a runtime's `podGroupPolicy`: name
such a runtime with `runtime`).
"""

from __future__ import annotations

from pipelines.training_job import (
    LABELS,
    RECIPE_ANNOTATION,
    TrainingJobSpec,
    container_security_context,
    environment,
    pod_metadata,
    pod_security_context,
    tolerations,
    volume_mounts,
    volumes,
)

API_VERSION = "trainer.kubeflow.org/v1alpha1"
KIND = "TrainJob"
PLURAL = "trainjobs"
DEFAULT_RUNTIME = "torch-distributed"
# The runtime's replicated job and its trainer container (trainer v2.3.0 constants.Node).
NODE = "node"
# runtimePatches entries are keyed by a domain-prefixed manager name.
PATCH_MANAGER = "s1.kubeflow.org/launcher"
# The storage Secret's keys the pods read (s3fs for checkpoint_uri, the Hub for gated models).
STORAGE_SECRET_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
                       "HF_TOKEN")  # fmt: skip
# Trainer's torch plugin sets these; the webhook rejects a TrainJob that sets them itself.
RESERVED_ENV = ("PET_NNODES", "PET_NPROC_PER_NODE", "PET_NODE_RANK", "PET_MASTER_ADDR", "PET_MASTER_PORT")


def master_pod_selector(job_name: str) -> str:
    """Label selector of rank 0's pod: JobSet's labels, and the Indexed Job's completion index 0
    (the pod PET_MASTER_ADDR names, `<job>-node-0-0`)."""
    return (f"jobset.sigs.k8s.io/jobset-name={job_name},jobset.sigs.k8s.io/replicatedjob-name={NODE},"
            "jobset.sigs.k8s.io/job-index=0,batch.kubernetes.io/job-completion-index=0")  # fmt: skip


def _secret_env(spec: TrainingJobSpec) -> list[dict]:
    if not spec.secret_name:
        return []
    return [
        {"name": key, "valueFrom": {"secretKeyRef": {"name": spec.secret_name, "key": key, "optional": True}}}
        for key in STORAGE_SECRET_KEYS
    ]


def build_trainjob(spec: TrainingJobSpec, runtime: str = DEFAULT_RUNTIME) -> dict:
    """The TrainJob as a plain dict with the API's camelCase keys, ready to submit or dump."""
    if spec.gang_scheduling:
        raise ValueError(
            "a TrainJob is gang-scheduled by its runtime's podGroupPolicy, not per job: "
            f"name a ClusterTrainingRuntime that sets it (runtime={runtime!r}) and leave gang_scheduling off"
        )
    pod = {
        "securityContext": pod_security_context(),
        "volumes": volumes(spec),
        "tolerations": tolerations(spec),
        # The container's env belongs in spec.trainer.env: the webhook refuses env here.
        "containers": [{"name": NODE, "volumeMounts": volume_mounts(spec),
                        "securityContext": container_security_context(spec)}],  # fmt: skip
    }
    if spec.node_selector:
        pod["nodeSelector"] = dict(spec.node_selector)
    if spec.service_account:
        pod["serviceAccountName"] = spec.service_account
    patch = {
        "manager": PATCH_MANAGER,
        "trainingRuntimeSpec": {"template": {"spec": {"replicatedJobs": [
            {"name": NODE, "template": {"spec": {"template": {"metadata": pod_metadata(), "spec": pod}}}}
        ]}}},
    }  # fmt: skip
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": spec.name, "namespace": spec.namespace, "labels": dict(LABELS),
                     "annotations": {RECIPE_ANNOTATION: spec.recipe}},  # fmt: skip
        "spec": {
            "runtimeRef": {"apiGroup": API_VERSION.split("/")[0], "kind": "ClusterTrainingRuntime", "name": runtime},
            "trainer": {
                "image": spec.image,
                "command": spec.command(),
                "env": environment(spec) + _secret_env(spec),
                "numNodes": spec.num_nodes,
                "numProcPerNode": spec.processes_per_node,
                "resourcesPerNode": {"requests": spec.limits(), "limits": spec.limits()},
            },
            "runtimePatches": [patch],
        },
    }
