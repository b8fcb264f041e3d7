"""Real multi-process CPU training under torchrun (gloo): DDP and DeepSpeed ZeRO-3 agree step by
step, a killed rank resumes, and the final model is a plain safetensors folder.

Four launches in all (DeepSpeed start-up is slow on 2 cores): DDP on one agent with 2 ranks,
ZeRO-3 with activation checkpointing on two agents (node ranks 0 and 1) with one rank each, and
a ZeRO-3 run killed after a checkpoint plus its resume.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from s1.train.checkpoints import MARKER, checkpoint_dirs
from s1.train.config import load_recipe
from s1.train.launch import free_port, launch_local, torchrun_commands, validate, wait_all

pytestmark = pytest.mark.slow

# s1's setup scaled down: unpacked rows (one example per micro-batch), 4 examples per step over
# 2 ranks (gradient accumulation 2), length-grouped steps; 16 examples = 4 steps per epoch.
# Chunks of 16 target tokens: the ranks' examples need different chunk counts (asserted below).
RUN = {"epochs": 2, "packing": False, "global_batch_size": 4, "length_group_steps": 2,
       "loss_chunk_size": 16, "save_steps": 1}
STEPS = 8
# ZeRO-3 runs recompute activations in backward (as 2x8-h100-zero3 does), DDP does not: the
# recompute repeats every all-gather and LM-head call, and must not change a number.
ZERO3 = {"topology": "cpu-zero3", "topology.gradient_checkpointing": True}


def records(out: Path) -> dict[int, dict]:
    """Metrics per step; a step logged twice (before a kill and after resume) keeps its last record."""
    return {r["step"]: r for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines())}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    from tests.train.conftest import training_rows, write_rows

    return write_rows(tmp_path_factory.mktemp("data") / "selected.jsonl", training_rows(16)).parent


def launched(tmp_path_factory, data, model: Path, topology: dict, nproc_per_node: int, nnodes: int):
    out = tmp_path_factory.mktemp(topology["topology"]) / "out"
    summary = launch_local("tiny-qwen", data, out, {**RUN, "model": str(model), **topology},
                           nproc_per_node=nproc_per_node, nnodes=nnodes)
    return out, summary


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory, data, tiny_qwen_dir):
    return launched(tmp_path_factory, data, tiny_qwen_dir, {"topology": "cpu"}, nproc_per_node=2, nnodes=1)


@pytest.fixture(scope="module")
def zero3_run(tmp_path_factory, data, tiny_qwen_dir):
    """ZeRO-3 as two torchrun agents on 127.0.0.1, the static rendezvous PyTorchJob pods use."""
    return launched(tmp_path_factory, data, tiny_qwen_dir, ZERO3, nproc_per_node=1, nnodes=2)


def first_epoch(data: Path, tokenizer):
    """The tokenized examples and the epoch-0 order the runs train in (4 per step)."""
    from s1.train.data import read_examples, tokenize_examples
    from s1.train.sampling import step_order

    recipe = load_recipe("tiny-qwen", {**RUN, "topology.processes_per_node": 2})
    examples = tokenize_examples(tokenizer, read_examples(data), recipe.block_size, recipe.overlong).examples
    return examples, step_order([len(e.input_ids) for e in examples], 4, RUN["length_group_steps"], recipe.seed, 0)


def test_ranks_need_different_chunk_counts(data, qwen_tokenizer):
    """Without rank-consistent chunking this data desynchronises ZeRO-3's all-gathers."""
    examples, order = first_epoch(data, qwen_tokenizer)
    chunks = [-(-examples[i].num_loss_tokens // RUN["loss_chunk_size"]) for i in order]
    assert any(chunks[i] != chunks[i + 1] for i in range(0, len(chunks), 2)), chunks


def test_zero3_matches_ddp_step_by_step(ddp_run, zero3_run):
    (ddp_out, ddp), (z3_out, z3) = ddp_run, zero3_run
    assert ddp["world_size"] == z3["world_size"] == 2 and ddp["steps"] == z3["steps"] == STEPS
    ddp_steps, z3_steps = records(ddp_out), records(z3_out)
    assert sorted(ddp_steps) == sorted(z3_steps) == list(range(1, STEPS + 1))
    for step in range(1, STEPS + 1):
        a, b = ddp_steps[step], z3_steps[step]
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-4), (step, a, b)
        assert b["grad_norm"] == pytest.approx(a["grad_norm"], rel=1e-4), (step, a, b)
        assert a["tokens"] == b["tokens"]
        # MFU x seconds = the step's FLOPs / (world x peak): the same parameter count under both.
        assert 0 < a["mfu"] < 1 and 0 < b["mfu"] < 1
        assert b["mfu"] * b["step_seconds"] == pytest.approx(a["mfu"] * a["step_seconds"], rel=1e-6)
    assert ddp_steps[STEPS]["loss"] < ddp_steps[1]["loss"] - 0.5, ddp_steps


def test_zero3_checkpoints_keep_shards_and_the_final_model_matches_ddp(ddp_run, zero3_run):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    (ddp_out, _), (z3_out, _) = ddp_run, zero3_run
    for _, checkpoint in checkpoint_dirs(z3_out):
        assert (checkpoint / MARKER).is_file() and list(checkpoint.glob("global_step*/*optim_states.pt"))
        assert not list(checkpoint.glob("*.safetensors")), "intermediate checkpoints keep ZeRO shards only"
    tokenizer = AutoTokenizer.from_pretrained(z3_out / "model")
    prompt = tokenizer("What is 12 + 30?", return_tensors="pt")
    generated = []
    for out in (ddp_out, z3_out):
        assert (out / "model" / "model.safetensors").is_file()
        model = AutoModelForCausalLM.from_pretrained(out / "model").eval()
        assert model.num_parameters() > 0
        with torch.no_grad():
            generated.append(model.generate(**prompt, max_new_tokens=12, do_sample=False)[0].tolist())
    assert generated[0] == generated[1]
    assert tokenizer.convert_tokens_to_ids("<|im_end|>") == 151645


def test_killed_zero3_rank_resumes_with_same_data_order_and_no_lost_step(data, zero3_run, tmp_path, tiny_qwen_dir):
    reference_out, _ = zero3_run
    out = tmp_path / "out"
    overrides = validate("tiny-qwen", data, {**RUN, "model": str(tiny_qwen_dir), **ZERO3,
                                             "topology.processes_per_node": 2})
    [command] = torchrun_commands("tiny-qwen", data, out, overrides, 2, 1, free_port())
    env = {**os.environ, **load_recipe("tiny-qwen", overrides).topology.env}
    agent = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
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
    assert 2 <= completed_before < STEPS

    summary = launch_local("tiny-qwen", data, out, {**RUN, "model": str(tiny_qwen_dir), **ZERO3}, nproc_per_node=2)
    assert summary["resumed_from"].endswith(f"checkpoint-{completed_before}")
    assert summary["steps"] == STEPS
    resumed, reference = records(out), records(reference_out)
    assert sorted(resumed) == list(range(1, STEPS + 1))
    # Same data order and restored ZeRO optimizer/scheduler state: every step's loss matches the
    # uninterrupted run, before and after the kill.
    for step in range(1, STEPS + 1):
        assert resumed[step]["loss"] == pytest.approx(reference[step]["loss"], rel=1e-4), (step, resumed, reference)
    assert all((path / MARKER).is_file() for _, path in checkpoint_dirs(out))
