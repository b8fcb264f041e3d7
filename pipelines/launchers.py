"""Run a training job somewhere and wait for it: on the cluster (PyTorchJob or TrainJob) or here.

Every launcher takes the same `TrainingJobSpec` and runs the same entry point (`s1.train.worker`
under torchrun, or in-process for one local process), so the train step only chooses which.
The Kubernetes calls are kept thin and few (`API_CALLS` lists them for the Role); what they
return is interpreted by the pure functions `job_status` and `follow_log`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

from pipelines import pytorchjob, trainjob
from pipelines.kube import load_config
from pipelines.training_job import TrainingJobSpec

Log = Callable[[str], None]


class TrainingJobFailed(RuntimeError):
    """The job ended in Failed (or its local process exited non-zero); the message says why."""


class Launcher(Protocol):
    def run(self, spec: TrainingJobSpec, log: Log = print) -> dict:
        """Run the job to completion; return a summary; raise TrainingJobFailed on failure."""


# ---------------------------------------------------------------- pure: conditions and logs


@dataclass(frozen=True)
class JobStatus:
    """Where a training job stands, read from its `status.conditions`."""

    phase: str  # Pending | Created | Running | Restarting | Suspended | Succeeded | Failed
    reason: str = ""
    message: str = ""

    @property
    def finished(self) -> bool:
        return self.phase in ("Succeeded", "Failed")

    def describe(self) -> str:
        detail = ": ".join(part for part in (self.reason, self.message) if part)
        return f"{self.phase} ({detail})" if detail else self.phase


def job_status(job: dict) -> JobStatus:
    """Interpret a PyTorchJob's or TrainJob's conditions.

    Failed, then Succeeded (a TrainJob says Complete) are terminal, whatever came after them;
    otherwise the most recent condition whose status is "True" is the phase. No conditions yet
    means the operator has not seen the job.
    """
    conditions = (job.get("status") or {}).get("conditions") or []
    active = [c for c in conditions if str(c.get("status")) == "True"]
    for phase, types in (("Failed", ("Failed",)), ("Succeeded", ("Succeeded", "Complete"))):
        hit = [c for c in active if c.get("type") in types]
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


# ---------------------------------------------------------------- on the cluster


@dataclass(frozen=True)
class JobKind:
    """What differs between the cluster job kinds: API coordinates, builder, rank-0 pod."""

    api_version: str
    kind: str
    plural: str
    container: str
    build: Callable[[TrainingJobSpec], dict]
    master_selector: Callable[[str], str]
    # Resubmissions of a Failed job by the launcher: TrainJob has no per-job restart budget;
    # the training operator restarts PyTorchJob pods itself (runPolicy.backoffLimit).
    resubmits: Callable[[TrainingJobSpec], int]


PYTORCHJOB = JobKind(pytorchjob.API_VERSION, pytorchjob.KIND, pytorchjob.PLURAL, pytorchjob.CONTAINER_NAME,
                     pytorchjob.build_pytorchjob, pytorchjob.master_pod_selector, lambda spec: 0)  # fmt: skip


def trainjob_kind(runtime: str = trainjob.DEFAULT_RUNTIME) -> JobKind:
    return JobKind(trainjob.API_VERSION, trainjob.KIND, trainjob.PLURAL, trainjob.NODE,
                   lambda spec: trainjob.build_trainjob(spec, runtime), trainjob.master_pod_selector,
                   lambda spec: spec.backoff_limit)  # fmt: skip


# Every Kubernetes API call the cluster launchers make, as (API group, resource, verb): the
# Role (pipelines.rbac) is built from it, and a test checks it against the calls really made.
API_CALLS = [
    *((kind.api_version.split("/")[0], kind.plural, verb)
      for kind in (PYTORCHJOB, trainjob_kind()) for verb in ("create", "get", "delete")),
    ("", "pods", "list"),
    ("", "pods/log", "get"),
]  # fmt: skip


class ClusterJobLauncher:
    """Submit the job, stream rank 0's log, and wait for Succeeded or Failed.

    A job of the same name that is running or succeeded is attached to, so a retried pipeline
    step never starts a second training run. One that Failed is deleted and submitted again: the
    new pods resume from the last complete checkpoint under the same `out`.
    """

    def __init__(self, kind: JobKind = PYTORCHJOB, poll_seconds: float = 15.0, timeout_seconds: float | None = None):
        self.kind, self.poll_seconds, self.timeout_seconds = kind, poll_seconds, timeout_seconds

    def run(self, spec: TrainingJobSpec, log: Log = print) -> dict:
        from kubernetes import client

        load_config()
        jobs, core = client.CustomObjectsApi(), client.CoreV1Api()
        started, resubmits = time.monotonic(), self.kind.resubmits(spec)
        status = self._submit(jobs, spec, log)
        cursor = LogCursor()
        while True:
            new = job_status(self._get(jobs, spec))
            if new != status:
                log(f"[{spec.name}] {new.describe()}")
                status = new
            cursor = self._print_master_log(core, spec, cursor, status.finished, log)
            if status.phase == "Failed" and resubmits > 0:
                resubmits -= 1
                log(f"[{spec.name}] resubmitting ({resubmits} left); training resumes from the last checkpoint")
                self._delete(jobs, spec, log)
                status, cursor = self._submit(jobs, spec, log), LogCursor()
                continue
            if status.finished:
                break
            if self.timeout_seconds and time.monotonic() - started > self.timeout_seconds:
                raise TimeoutError(f"{self.kind.kind} {spec.name} not finished after {self.timeout_seconds:.0f} s")
            time.sleep(self.poll_seconds)
        if status.phase == "Failed":
            raise TrainingJobFailed(f"{self.kind.kind} {spec.namespace}/{spec.name} failed: {status.describe()}")
        return {"job": spec.name, "namespace": spec.namespace, "status": status.phase, "seconds": time.monotonic() - started}

    def _coordinates(self) -> tuple[str, str, str]:
        group, version = self.kind.api_version.split("/")
        return group, version, self.kind.plural

    def _get(self, jobs, spec: TrainingJobSpec) -> dict:
        group, version, plural = self._coordinates()
        return jobs.get_namespaced_custom_object(group, version, spec.namespace, plural, spec.name)

    def _submit(self, jobs, spec: TrainingJobSpec, log: Log) -> JobStatus:
        """Create the job; if one of that name exists, attach to it, or replace it if it Failed."""
        from kubernetes.client.exceptions import ApiException

        group, version, plural = self._coordinates()
        body = self.kind.build(spec)
        try:
            jobs.create_namespaced_custom_object(group, version, spec.namespace, plural, body)
        except ApiException as error:
            if error.status != 409:
                raise
            existing = job_status(self._get(jobs, spec))
            if existing.phase != "Failed":
                log(f"{self.kind.kind} {spec.namespace}/{spec.name} exists ({existing.describe()}); attaching")
                return existing
            log(f"{self.kind.kind} {spec.namespace}/{spec.name} failed before ({existing.describe()}); recreating it")
            self._delete(jobs, spec, log)
            jobs.create_namespaced_custom_object(group, version, spec.namespace, plural, body)
        log(f"submitted {self.kind.kind} {spec.namespace}/{spec.name} ({spec.num_nodes} x {spec.gpus_per_node} GPUs)")
        return JobStatus("Pending")

    def _delete(self, jobs, spec: TrainingJobSpec, log: Log, timeout_seconds: float = 600) -> None:
        """Delete the job and wait until it is gone (its pods go with it: foreground deletion)."""
        from kubernetes.client.exceptions import ApiException

        group, version, plural = self._coordinates()
        jobs.delete_namespaced_custom_object(group, version, spec.namespace, plural, spec.name,
                                             propagation_policy="Foreground")  # fmt: skip
        deadline = time.monotonic() + timeout_seconds
        while True:
            try:
                self._get(jobs, spec)
            except ApiException as error:
                if error.status == 404:
                    log(f"deleted {self.kind.kind} {spec.namespace}/{spec.name}")
                    return
                raise
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.kind.kind} {spec.name} still exists {timeout_seconds:.0f} s after deletion")
            time.sleep(min(self.poll_seconds, 5))

    def _print_master_log(self, core, spec: TrainingJobSpec, cursor: LogCursor, final: bool, log: Log) -> LogCursor:
        from kubernetes.client.exceptions import ApiException

        pods = core.list_namespaced_pod(spec.namespace, label_selector=self.kind.master_selector(spec.name)).items
        if not pods:
            return cursor
        pod = pods[0]
        statuses = [s for s in (pod.status.container_statuses or []) if s.name == self.kind.container]
        if not statuses or (statuses[0].state and statuses[0].state.waiting):
            return cursor
        key = f"{pod.metadata.uid}/{statuses[0].restart_count}"
        try:
            text = core.read_namespaced_pod_log(pod.metadata.name, spec.namespace, container=self.kind.container)
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

    `s1.train.launch.train_here` decides: in-process for one process, else `nnodes` torchrun
    agents on 127.0.0.1 running `s1.train.worker`, the multi-node path without a cluster.
    """

    def __init__(self, nproc_per_node: int = 1, nnodes: int = 1, master_port: int | None = None):
        if nproc_per_node < 1 or nnodes < 1:
            raise ValueError("nproc_per_node and nnodes must be ≥ 1")
        self.nproc_per_node, self.nnodes, self.master_port = nproc_per_node, nnodes, master_port

    def run(self, spec: TrainingJobSpec, log: Log = print) -> dict:
        from s1.train.launch import LaunchError, train_here

        started = time.monotonic()
        try:
            summary = train_here(spec.recipe, Path(spec.data), Path(spec.out), dict(spec.overrides),
                                 self.nproc_per_node, self.nnodes, self.master_port)  # fmt: skip
        except LaunchError as error:
            raise TrainingJobFailed(f"local training {spec.name} failed: {error}") from error
        return {"job": spec.name, "status": "Succeeded", "seconds": time.monotonic() - started, **summary}


LAUNCHER_NAMES = ("pytorchjob", "trainjob", "local")


def launcher_for(name: str, runtime: str = trainjob.DEFAULT_RUNTIME) -> Launcher:
    """The launcher called `name`: one of LAUNCHER_NAMES."""
    if name == "pytorchjob":
        return ClusterJobLauncher(PYTORCHJOB)
    if name == "trainjob":
        return ClusterJobLauncher(trainjob_kind(runtime))
    if name == "local":
        return LocalLauncher()
    raise ValueError(f"unknown launcher {name!r}; expected one of {', '.join(LAUNCHER_NAMES)}")
