"""How the launchers read a job's conditions and rank 0's log (the pure halves), and pick a launcher."""

from __future__ import annotations

import pytest

from pipelines import pytorchjob, trainjob
from pipelines.launchers import JobStatus, LocalLauncher, LogCursor, follow_log, job_status, launcher_for


def _job(*conditions) -> dict:
    return {"status": {"conditions": [dict(zip(("type", "status", "lastTransitionTime", "reason", "message"), c))
                                      for c in conditions]}}  # fmt: skip


def test_no_status_is_pending():
    assert job_status({}) == JobStatus("Pending")
    assert not job_status({"status": {}}).finished


def test_latest_true_condition_is_the_phase():
    job = _job(("Created", "True", "2026-01-01T00:00:00Z", "PyTorchJobCreated", ""),
               ("Running", "False", "2026-01-01T00:05:00Z", "", ""),
               ("Restarting", "True", "2026-01-01T00:05:00Z", "PyTorchJobRestarting", "pod master-0 exited 137"))  # fmt: skip
    status = job_status(job)
    assert status.phase == "Restarting" and not status.finished
    assert status.describe() == "Restarting (PyTorchJobRestarting: pod master-0 exited 137)"


def test_running():
    job = _job(("Created", "True", "2026-01-01T00:00:00Z"), ("Running", "True", "2026-01-01T00:01:00Z"))
    assert job_status(job).phase == "Running"


def test_succeeded_is_terminal():
    job = _job(("Created", "True", "t0"), ("Running", "False", "t2"), ("Succeeded", "True", "t2", "PyTorchJobSucceeded"))
    assert job_status(job).finished and job_status(job).phase == "Succeeded"


def test_failed_wins_and_carries_the_reason():
    job = _job(("Running", "True", "t3"), ("Failed", "True", "t2", "BackoffLimitExceeded", "Job has reached the specified backoff limit"))  # fmt: skip
    status = job_status(job)
    assert status.phase == "Failed" and status.finished
    assert "BackoffLimitExceeded" in status.describe() and "backoff limit" in status.describe()


def test_log_lines_are_printed_once_and_partial_lines_wait():
    lines, cursor = follow_log(LogCursor(), "uid/0", "step 1\nstep 2\nste")
    assert lines == ["step 1", "step 2"]
    lines, cursor = follow_log(cursor, "uid/0", "step 1\nstep 2\nstep 3\n")
    assert lines == ["step 3"]
    lines, cursor = follow_log(cursor, "uid/0", "step 1\nstep 2\nstep 3\n")
    assert lines == []


def test_a_restarted_container_starts_a_new_log():
    _, cursor = follow_log(LogCursor(), "uid/0", "a\nb\nc\n")
    lines, cursor = follow_log(cursor, "uid/1", "resuming from checkpoint-20\n")
    assert lines == ["resuming from checkpoint-20"] and cursor == LogCursor("uid/1", 1)


def test_final_read_flushes_the_last_partial_line():
    _, cursor = follow_log(LogCursor(), "uid/0", "a\nTraceback: boom")
    assert follow_log(cursor, "uid/0", "a\nTraceback: boom", final=True)[0] == ["Traceback: boom"]
    assert follow_log(LogCursor(), "uid/0", "a\n", final=True)[0] == ["a"]


def test_trainjob_complete_is_success_and_suspended_is_not_terminal():
    complete = _job(("Suspended", "False", "t1"), ("Complete", "True", "t2", "JobSetCompleted", "jobset completed"))
    assert job_status(complete) == JobStatus("Succeeded", "JobSetCompleted", "jobset completed")
    suspended = _job(("Suspended", "True", "t1", "Suspended"))
    assert job_status(suspended).phase == "Suspended" and not job_status(suspended).finished


def test_rank_zero_pod_selectors():
    assert pytorchjob.master_pod_selector("s1-train-x") == (
        "training.kubeflow.org/job-name=s1-train-x,training.kubeflow.org/job-role=master"
    )
    assert trainjob.master_pod_selector("s1-train-x") == (
        "jobset.sigs.k8s.io/jobset-name=s1-train-x,jobset.sigs.k8s.io/replicatedjob-name=node,"
        "jobset.sigs.k8s.io/job-index=0,batch.kubernetes.io/job-completion-index=0"
    )


def test_launcher_names():
    assert launcher_for("pytorchjob").kind.kind == "PyTorchJob"
    assert launcher_for("trainjob", "my-runtime").kind.build is not None
    assert isinstance(launcher_for("local"), LocalLauncher)
    with pytest.raises(ValueError, match="unknown launcher 'mpijob'"):
        launcher_for("mpijob")


def test_local_launcher_rejects_empty_topology():
    with pytest.raises(ValueError):
        LocalLauncher(nproc_per_node=0)
