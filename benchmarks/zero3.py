"""DeepSpeed ZeRO-3 against DDP on CPU (2 ranks, gloo, the tiny Qwen2): loss and grad-norm gaps,
step time and MFU, from interleaved repeated runs on the same data and seed.

Usage: python benchmarks/zero3.py [--trials 2] [--steps 6] [--examples 32]

Each trial launches both topologies (`cpu`, `cpu-zero3`) through `s1 train`'s local launcher,
alternating which goes first; step times leave out step 1 (start-up). Unpacked rows with
gradient accumulation 2 and 16-token loss chunks, so ranks need different LM-head call counts.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from training import rows  # benchmarks/training.py: long-tailed synthetic examples
from trials import median_spread

from s1.train.launch import launch_local

RUN = {"packing": False, "global_batch_size": 4, "loss_chunk_size": 16, "save_steps": 1000}
TOPOLOGIES = ("cpu", "cpu-zero3")


def run_once(topology: str, data: Path, out: Path, steps: int) -> dict[int, dict]:
    launch_local("tiny-qwen", data, out, {**RUN, "topology": topology, "max_steps": steps}, nproc_per_node=2)
    return {r["step"]: r for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--examples", type=int, default=32)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="s1-zero3-bench-"))
    data = root / "selected.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows(args.examples, seed=0)))
    step_s = {t: [] for t in TOPOLOGIES}
    mfu = {t: [] for t in TOPOLOGIES}
    ratios, loss_gaps, grad_gaps = [], [], []
    for trial in range(args.trials):
        order = TOPOLOGIES if trial % 2 == 0 else TOPOLOGIES[::-1]
        runs = {t: run_once(t, data, root / f"{t}-{trial}", args.steps) for t in order}
        ddp, zero3 = runs["cpu"], runs["cpu-zero3"]
        for step in ddp:
            loss_gaps.append(abs(zero3[step]["loss"] - ddp[step]["loss"]) / ddp[step]["loss"])
            grad_gaps.append(abs(zero3[step]["grad_norm"] - ddp[step]["grad_norm"]) / ddp[step]["grad_norm"])
        medians = {}
        for topology, records in runs.items():
            later = [records[s] for s in sorted(records) if s > 1]
            medians[topology] = statistics.median(r["step_seconds"] for r in later)
            step_s[topology].append(medians[topology])
            mfu[topology].append(statistics.median(r["mfu"] for r in later))
        ratios.append(medians["cpu-zero3"] / medians["cpu"])
        print(f"trial {trial}: step s DDP {medians['cpu']:.2f}, ZeRO-3 {medians['cpu-zero3']:.2f} "
              f"({ratios[-1]:.2f}x); max loss gap {max(loss_gaps):.1e}, grad-norm gap {max(grad_gaps):.1e}")
    print(json.dumps({
        "trials": args.trials, "steps": args.steps, "ranks": 2,
        "step_seconds": {t: median_spread(v, 3) for t, v in step_s.items()},
        "mfu": {t: median_spread(v, 4) for t, v in mfu.items()},
        "zero3_over_ddp_step_time": median_spread(ratios, 3),
        "max_rel_loss_gap": max(loss_gaps), "max_rel_grad_norm_gap": max(grad_gaps),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
