"""Per-step training metrics: loss, lr, grad-norm (from the Trainer), tokens/s and MFU.

MFU = model FLOPs per second / (world size x peak dense FLOPs of one device). Model FLOPs follow
the PaLM convention: 6·N per token for the matmuls plus 12·layers·hidden·L per token of an
example of length L for attention (no causal discount, recomputation not counted).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from transformers import TrainerCallback

log = logging.getLogger(__name__)

# Peak dense FLOP/s per device by precision (vendor datasheets, no sparsity).
PEAK_FLOPS = {
    ("H100", "bf16"): 989e12,  # H100 SXM
    ("H200", "bf16"): 989e12,  # same compute as H100 SXM, more memory
    ("A100", "bf16"): 312e12,
    ("H100", "fp32"): 67e12,
    ("H200", "fp32"): 67e12,
    ("A100", "fp32"): 19.5e12,
    # Assumption, per torch thread: one core at 2 AVX-512/AVX2 FMA units x 16 fp32 lanes x 2 FLOPs
    # x ~3 GHz ~ 100 GFLOP/s; peak_flops scales it by the process's torch threads.
    ("CPU", "fp32"): 100e9,
}


def device_kind() -> str:
    """The PEAK_FLOPS key of this process's accelerator ("CPU" without CUDA)."""
    import torch

    if not torch.cuda.is_available():
        return "CPU"
    name = torch.cuda.get_device_name()
    for kind in ("H200", "H100", "A100"):
        if kind in name:
            return kind
    return name


def peak_flops(kind: str, precision: str) -> float | None:
    """Peak FLOP/s of this process's device; on CPU, of the cores its torch threads use."""
    peak = PEAK_FLOPS.get((kind, precision))
    if peak is not None and kind == "CPU":
        import torch

        peak *= torch.get_num_threads()
    return peak


def parameter_count(model) -> int:
    """All parameters, also once ZeRO-3 has partitioned them (``numel()`` is then 0; ``ds_numel``
    is the full size), so MFU means the same under DDP and ZeRO-3."""
    return sum(getattr(param, "ds_numel", param.numel()) for param in model.parameters())


def model_flops(num_params: int, num_layers: int, hidden_size: int, seq_lengths: list[int]) -> float:
    """Training FLOPs (forward + backward) for examples of the given lengths."""
    tokens = sum(seq_lengths)
    attention = 12 * num_layers * hidden_size * sum(length * length for length in seq_lengths)
    return 6.0 * num_params * tokens + attention


class StepCounter:
    """Tokens and FLOPs of the micro-batches of the current optimizer step on this rank."""

    def __init__(self) -> None:
        self.tokens = 0
        self.seq_lengths: list[int] = []

    def add(self, seq_lengths: list[int]) -> None:
        self.tokens += sum(seq_lengths)
        self.seq_lengths += seq_lengths

    def take(self) -> tuple[int, list[int]]:
        taken = (self.tokens, self.seq_lengths)
        self.tokens, self.seq_lengths = 0, []
        return taken


class StepMetricsCallback(TrainerCallback):
    """Adds tokens/s and MFU to every step's log and appends the log to ``metrics.jsonl``."""

    def __init__(self, counter: StepCounter, model_config, num_params: int, precision: str, path: Path):
        self.counter = counter
        self.num_params = num_params
        self.num_layers = model_config.num_hidden_layers
        self.hidden_size = model_config.hidden_size
        self.kind = device_kind()
        self.peak = peak_flops(self.kind, precision)
        self.path = path
        self.step_start = time.perf_counter()
        self.pending: dict = {}
        self.total_tokens = 0

    def on_step_begin(self, args, state, control, **kwargs):
        self.step_start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        import torch
        import torch.distributed as dist

        seconds = time.perf_counter() - self.step_start
        tokens, lengths = self.counter.take()
        flops = model_flops(self.num_params, self.num_layers, self.hidden_size, lengths)
        totals = torch.tensor([float(tokens), flops], dtype=torch.float64)
        world = 1
        if dist.is_available() and dist.is_initialized():
            world = dist.get_world_size()
            if dist.get_backend() == "nccl":
                totals = totals.cuda()
            dist.all_reduce(totals)
        tokens_all, flops_all = totals.tolist()
        self.total_tokens += int(tokens_all)
        self.pending = {
            "tokens": int(tokens_all),
            "tokens_per_s": tokens_all / seconds,
            "step_seconds": seconds,
            "mfu": flops_all / seconds / (world * self.peak) if self.peak else None,
        }

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs is None or "loss" not in logs:
            return
        record = {"step": state.global_step, "epoch": state.epoch, **logs, **self.pending}
        self.pending = {}
        if state.is_world_process_zero:
            log.info(
                "step %d/%d loss %.4f lr %.3g grad_norm %.3g tokens/s %.0f mfu %s",
                state.global_step, state.max_steps, record["loss"], record.get("learning_rate", 0.0),
                record.get("grad_norm") or 0.0, record.get("tokens_per_s", 0.0),
                f"{record['mfu']:.1%}" if record.get("mfu") is not None else "n/a",
            )
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")
