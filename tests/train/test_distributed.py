"""Real multi-process CPU training under torchrun (gloo): loss falls; a killed rank resumes."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from s1.train.checkpoints import MARKER, checkpoint_dirs
from s1.train.launch import free_port, launch_local, torchrun_commands, validate, wait_all

pytestmark = pytest.mark.slow

# 16 examples in 4 packed rows, 2 rows per step over 2 ranks: 2 steps per epoch, 6 steps.
RUN = {"epochs": 3, "block_size": 512, "save_steps": 1}


def per_step_losses(out: Path) -> dict[int, float]:
    """Loss per step; a step logged twice (before a kill and after resume) keeps its last record."""
    losses = {}
    for line in (out / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        losses[record["step"]] = record["loss"]
    return losses


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory, tiny_qwen_dir):
    """An uninterrupted 2-process run, as two torchrun agents (node ranks 0 and 1) on 127.0.0.1."""
    from tests.train.conftest import training_rows, write_rows

    root = tmp_path_factory.mktemp("reference")
    data = write_rows(root / "data" / "selected.jsonl", training_rows(16)).parent
    summary = launch_local("tiny-qwen", data, root / "out", {**RUN, "model": str(tiny_qwen_dir)},
                           nproc_per_node=1, nnodes=2)
    return data, root / "out", summary


def test_two_node_run_loss_falls_and_saves_a_loadable_model(reference_run):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _, out, summary = reference_run
    assert summary["world_size"] == 2 and summary["steps"] == 6
    losses = per_step_losses(out)
    assert sorted(losses) == list(range(1, 7))
    assert losses[6] < losses[1] - 0.5, losses
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert all(r["tokens_per_s"] > 0 and 0 < r["mfu"] < 1 and r["grad_norm"] > 0 for r in records)
    assert (out / "model" / "model.safetensors").is_file()
    model = AutoModelForCausalLM.from_pretrained(out / "model")
    assert AutoTokenizer.from_pretrained(out / "model").convert_tokens_to_ids("<|im_end|>") == 151645
    assert model.num_parameters() > 0


def test_killed_rank_resumes_with_same_data_order_and_no_lost_step(reference_run, tmp_path, tiny_qwen_dir):
    data, reference_out, _ = reference_run
    out = tmp_path / "out"
    overrides = validate("tiny-qwen", data, {**RUN, "model": str(tiny_qwen_dir),
                                             "topology.processes_per_node": 2})
    [command] = torchrun_commands("tiny-qwen", data, out, overrides, 2, 1, free_port())
    agent = subprocess.Popen(command, env={**__import__("os").environ, "OMP_NUM_THREADS": "1"},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not (out / "checkpoint-2" / MARKER).is_file():
            assert agent.poll() is None and time.monotonic() < deadline, "no checkpoint-2 before the deadline"
            time.sleep(0.2)
        workers = psutil.Process(agent.pid).children()
        assert len(workers) == 2
        workers[1].kill()  # one training process dies mid-run
        [code] = wait_all([agent])
        assert code != 0
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()
    completed_before = max(step for step, path in checkpoint_dirs(out) if (path / MARKER).is_file())
    assert 2 <= completed_before < 6

    summary = launch_local("tiny-qwen", data, out, {**RUN, "model": str(tiny_qwen_dir)}, nproc_per_node=2)
    assert summary["resumed_from"].endswith(f"checkpoint-{completed_before}")
    assert summary["steps"] == 6
    resumed, reference = per_step_losses(out), per_step_losses(reference_out)
    assert sorted(resumed) == list(range(1, 7))
    # Same data order and restored optimizer/scheduler state: every step's loss matches the
    # uninterrupted run, before and after the kill.
    for step in range(1, 7):
        assert resumed[step] == pytest.approx(reference[step], rel=1e-4), (step, resumed, reference)
    assert all((path / MARKER).is_file() for _, path in checkpoint_dirs(out))
