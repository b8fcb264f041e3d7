"""The s1 SFT run as a Kubeflow PyTorchJob (kubeflow.org/v1, training operator v1.9).

Usage: s1 train --launcher pytorchjob --dry-run --recipe s1-32b --data /mnt/s1/data --out /mnt/s1/train

One Master plus `num_nodes - 1` Workers, each pod running
``torchrun -m s1.train.worker --recipe R --data D --out O [--set k=v ...]``; the training
operator injects PET_NNODES, PET_NPROC_PER_NODE, PET_NODE_RANK, PET_MASTER_ADDR and
PET_MASTER_PORT, which torchrun reads as its defaults, so the command carries no topology.
Data and checkpoints live on a shared ReadWriteMany PVC, so a restarted pod resumes from the
latest complete checkpoint under `out`.
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

API_VERSION = "kubeflow.org/v1"
KIND = "PyTorchJob"
PLURAL = "pytorchjobs"
# The training operator's webhook rejects a PyTorchJob whose training container has another name.
CONTAINER_NAME = "pytorch"


def master_pod_selector(job_name: str) -> str:
    """Label selector of the job's master pod (labels the v1 training operator sets)."""
    return f"training.kubeflow.org/job-name={job_name},training.kubeflow.org/job-role=master"


def _pod_template(spec: TrainingJobSpec) -> dict:
    container = {
        "name": CONTAINER_NAME,
        "image": spec.image,
        "command": spec.command(),
        "env": environment(spec),
        "resources": {"requests": spec.limits(), "limits": spec.limits()},
        "securityContext": container_security_context(spec),
        "volumeMounts": volume_mounts(spec),
    }
    if spec.secret_name:
        container["envFrom"] = [{"secretRef": {"name": spec.secret_name, "optional": True}}]
    pod = {
        "containers": [container],
        "securityContext": pod_security_context(),
        "volumes": volumes(spec),
        "tolerations": tolerations(spec),
    }
    if spec.node_selector:
        pod["nodeSelector"] = dict(spec.node_selector)
    if spec.service_account:
        pod["serviceAccountName"] = spec.service_account
    return {"metadata": pod_metadata(), "spec": pod}


def build_pytorchjob(spec: TrainingJobSpec) -> dict:
    """The PyTorchJob as a plain dict with the API's camelCase keys, ready to submit or dump."""

    def replica(count: int) -> dict:
        # A fresh template per replica type: no shared objects (and no YAML anchors when dumped).
        return {"replicas": count, "restartPolicy": "OnFailure", "template": _pod_template(spec)}

    replicas = {"Master": replica(1)}
    if spec.num_nodes > 1:
        replicas["Worker"] = replica(spec.num_nodes - 1)
    run_policy = {
        "backoffLimit": spec.backoff_limit,
        # Remove pods still running once the job is decided; finished pods stay for logs.
        "cleanPodPolicy": "Running",
        "ttlSecondsAfterFinished": spec.ttl_seconds_after_finished,
    }
    if spec.gang_scheduling:
        # Read when the operator runs with --gang-scheduler-name (volcano or scheduler-plugins):
        # it creates a PodGroup of minAvailable pods and sets the pods' schedulerName itself.
        policy = {"minAvailable": spec.num_nodes, "scheduleTimeoutSeconds": spec.schedule_timeout_seconds}
        if spec.queue:
            policy["queue"] = spec.queue
        if spec.priority_class:
            policy["priorityClass"] = spec.priority_class
        run_policy["schedulingPolicy"] = policy
    metadata = {"name": spec.name, "namespace": spec.namespace, "labels": dict(LABELS),
                "annotations": {RECIPE_ANNOTATION: spec.recipe}}  # fmt: skip
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": metadata,
        "spec": {
            "nprocPerNode": str(spec.processes_per_node),
            "pytorchReplicaSpecs": replicas,
            "runPolicy": run_policy,
        },
    }
