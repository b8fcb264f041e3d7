"""Run a training job somewhere and wait for it: on the cluster as a PyTorchJob, or on this machine.

Both launchers take the same `TrainingJobSpec` and run the same entry point
(`s1.train.worker` under torchrun, or `s1.train.run.train` in-process), so the pipeline's train
component only chooses which one. A Trainer v2 `TrainJob` launcher fits the same `Launcher`
protocol. The Kubernetes calls are kept thin; what they return is interpreted by the pure
functions `job_status` and `follow_log`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

from pipelines.kube import create_custom_object, load_config
from pipelines.pytorchjob import API_VERSION, CONTAINER_NAME, PLURAL, TrainingJobSpec, build_pytorchjob

Log = Callable[[str], None]
TERMINAL = ("Succeeded", "Failed")


class TrainingJobFailed(RuntimeError):
    """The job ended in Failed (or its local process exited non-zero); the message says why."""


class Launcher(Protocol):
    def run(self, spec: TrainingJobSpec, log: Log = print) -> dict:
        """Run the job to completion; return a summary; raise TrainingJobFailed on failure."""


# ---------------------------------------------------------------- pure: conditions and logs


@dataclass(frozen=True)
class JobStatus:
    """Where a training-operator job stands, read from its `status.conditions`."""

    phase: str  # Pending | Created | Running | Restarting | Suspended | Succeeded | Failed
    reason: str = ""
    message: str = ""

    @property
    def finished(self) -> bool:
        return self.phase in TERMINAL

    def describe(self) -> str:
        detail = ": ".join(part for part in (self.reason, self.message) if part)
        return f"{self.phase} ({detail})" if detail else self.phase


def job_status(job: dict) -> JobStatus:
    """Interpret a PyTorchJob (or any kubeflow.org/v1 job) object's conditions.

    Succeeded/Failed are terminal, whatever came after them; otherwise the most recent condition
    whose status is "True" is the phase. No conditions yet means the operator has not seen it.
    """
    conditions = (job.get("status") or {}).get("conditions") or []
    active = [c for c in conditions if str(c.get("status")) == "True"]
    for phase in ("Failed", "Succeeded"):  # Failed first: a job that failed did not succeed
        hit = [c for c in active if c.get("type") == phase]
        if hit:
            return JobStatus(phase, hit[-1].get("reason", ""), hit[-1].get("message", ""))
    if not active:
        return JobStatus("Pending")
    latest = max(
        enumerate(active),
        key=lambda item: (item[1].get("lastTransitionTime") or item[1].get("lastUpdateTime") or "", item[0]),
    )[1]
    return JobStatus(latest.get("type", "Unknown"), latest.get("reason", ""), latest.get("message", ""))


@dataclass(frozen=True)
class LogCursor:
    """How much of which container's log has been printed: a restart starts a new log."""

    container: str | None = None  # "<pod uid>/<restart count>"
    lines: int = 0


def follow_log(cursor: LogCursor, container: str, text: str, final: bool = False) -> tuple[list[str], LogCursor]:
    """The lines of `text` (the container's whole log so far) not printed yet, and the new cursor.

    A partial last line waits for the next poll unless `final` (the container has stopped).
    A different `container` (new pod or restart) starts again from its first line.
    """
    if container != cursor.container:
        cursor = LogCursor(container, 0)
    lines = text.split("\n")
    complete = lines if final else lines[:-1]
    if final and complete and complete[-1] == "":
        complete = complete[:-1]
    fresh = complete[cursor.lines :]
    return fresh, LogCursor(container, cursor.lines + len(fresh))


def master_pod_selector(job_name: str) -> str:
    """Label selector of a training-operator job's master pod."""
    return f"training.kubeflow.org/job-name={job_name},training.kubeflow.org/job-role=master"


# ---------------------------------------------------------------- on the cluster


class PyTorchJobLauncher:
    """Submit the PyTorchJob, stream the master's log, and wait for Succeeded or Failed.

    Re-running with the same job name attaches to the existing job instead of failing, so a
    retried pipeline step does not start a second training run.
    """

    def __init__(self, poll_seconds: float = 15.0, timeout_seconds: float | None = None):
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds

    def run(self, spec: TrainingJobSpec, log: Log = print) -> dict:
        from kubernetes import client

        load_config()
        jobs, core = client.CustomObjectsApi(), client.CoreV1Api()
        group, version = API_VERSION.split("/")
        if create_custom_object(jobs, API_VERSION, spec.namespace, PLURAL, build_pytorchjob(spec)):
            log(f"submitted PyTorchJob {spec.namespace}/{spec.name} ({spec.num_nodes} x {spec.gpus_per_node} GPUs)")
        else:
            log(f"PyTorchJob {spec.namespace}/{spec.name} exists; waiting on it")

        started, cursor, status = time.monotonic(), LogCursor(), JobStatus("Pending")
        while True:
            job = jobs.get_namespaced_custom_object(group, version, spec.namespace, PLURAL, spec.name)
            new = job_status(job)
            if new != status:
                log(f"[{spec.name}] {new.describe()}")
                status = new
            cursor = self._print_master_log(core, spec, cursor, status.finished, log)
            if status.finished:
                break
            if self.timeout_seconds and time.monotonic() - started > self.timeout_seconds:
                raise TimeoutError(f"PyTorchJob {spec.name} not finished after {self.timeout_seconds:.0f} s")
            time.sleep(self.poll_seconds)
        if status.phase == "Failed":
            raise TrainingJobFailed(f"PyTorchJob {spec.namespace}/{spec.name} failed: {status.describe()}")
        return {"job": spec.name, "namespace": spec.namespace, "status": status.phase, "seconds": time.monotonic() - started}

    @staticmethod
    def _print_master_log(core, spec: TrainingJobSpec, cursor: LogCursor, final: bool, log: Log) -> LogCursor:
        from kubernetes.client.exceptions import ApiException

        pods = core.list_namespaced_pod(spec.namespace, label_selector=master_pod_selector(spec.name)).items
        if not pods:
            return cursor
        pod = pods[0]
        statuses = [s for s in (pod.status.container_statuses or []) if s.name == CONTAINER_NAME]
        if not statuses or (statuses[0].state and statuses[0].state.waiting):
            return cursor
        key = f"{pod.metadata.uid}/{statuses[0].restart_count}"
        try:
            text = core.read_namespaced_pod_log(pod.metadata.name, spec.namespace, container=CONTAINER_NAME)
        except ApiException:  # the container went away between the two calls; next poll retries
            return cursor
        stopped = final or bool(statuses[0].state and statuses[0].state.terminated)
        if key != cursor.container:
            log(f"--- log of {pod.metadata.name} (restart {statuses[0].restart_count}) ---")
        lines, cursor = follow_log(cursor, key, text, final=stopped)
        for line in lines:
            log(line)
        return cursor


# ---------------------------------------------------------------- on this machine


class LocalLauncher:
    """Run the training entry point on this machine (CPU, gloo): the local pipeline and tests.

    One process calls `s1.train.run.train` in-process (no start-up cost); more go through
    `s1.train.launch.launch_local`: `nnodes` torchrun agents on 127.0.0.1 running
    `s1.train.worker`, the multi-node path without a cluster.
    """

    def __init__(self, nproc_per_node: int = 1, nnodes: int = 1, master_port: int | None = None):
        if nproc_per_node < 1 or nnodes < 1:
            raise ValueError("nproc_per_node and nnodes must be ≥ 1")
        self.nproc_per_node, self.nnodes, self.master_port = nproc_per_node, nnodes, master_port

    def run(self, spec: TrainingJobSpec, log: Log = print) -> dict:
        started = time.monotonic()
        if self.nproc_per_node * self.nnodes == 1:
            from s1.train.run import train

            summary = train(spec.recipe, Path(spec.data), Path(spec.out), overrides=dict(spec.overrides) or None)
            return {"job": spec.name, "status": "Succeeded", "seconds": time.monotonic() - started, **summary}
        from s1.train.launch import LaunchError, launch_local

        try:
            summary = launch_local(spec.recipe, Path(spec.data), Path(spec.out), dict(spec.overrides),
                                   self.nproc_per_node, self.nnodes, self.master_port)  # fmt: skip
        except LaunchError as error:
            raise TrainingJobFailed(f"local training {spec.name} failed: {error}") from error
        return {"job": spec.name, "status": "Succeeded", "seconds": time.monotonic() - started, **summary}
