"""How many GPU-seconds s1's optimisation wastes waiting on long examples, and what the recipe's
modes cost: s1's unpacked batch-of-one, the faithful default (length-grouped steps) and packing.

Usage: python benchmarks/packing.py [--examples 1000] [--gpus 16] [--trials 5] [--mfu 0.4]

Every step's ranks wait for the slowest one (ZeRO-3 synchronises every micro-step), so a step
costs gpus x its slowest rank's FLOPs. useful_token_fraction = real tokens / (gpus x the longest
rank's tokens, summed over steps); flops_balance is the same ratio in FLOPs (attention grows
with the square of each example's length). The projection divides the run's model FLOPs by
(gpus x H100 bf16 peak x the assumed MFU x flops_balance). Each trial draws a new s1K-like
length set and order (seeded); figures are medians with [min, max] over the trials.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics

from trials import median_spread  # benchmarks/trials.py

from s1.train.config import load_recipe
from s1.train.packing import first_fit_decreasing
from s1.train.sampling import step_order

QWEN25_32B = {"params": 32.8e9, "layers": 64, "hidden": 5120}
H100_BF16_PEAK = 989e12
S1_REPORTED_MINUTES = 26


def s1k_like_lengths(n: int, block_size: int, seed: int) -> list[int]:
    """Long-tailed token counts, mean ~5K, a few at the 32K cap (s1K: ~4.7M tokens in 1,000)."""
    rng = random.Random(seed)
    return [min(block_size, max(400, int(rng.lognormvariate(8.2, 0.75)))) for _ in range(n)]


def row_flops(example_lengths: list[int]) -> float:
    m = QWEN25_32B
    return 6 * m["params"] * sum(example_lengths) + 12 * m["layers"] * m["hidden"] * sum(n * n for n in example_lengths)


def run_cost(rows: list[list[int]], epochs: int, rows_per_step: int, group_steps: int, gpus: int, seed: int) -> dict:
    """Steps, useful-token fraction, FLOPs balance and model FLOPs of ``epochs`` over ``rows``
    (each row: the lengths of the examples it holds), ordered as the trainer orders them."""
    tokens = [sum(row) for row in rows]
    flops = [row_flops(row) for row in rows]
    steps = useful = processed = real_flops = step_flops = 0.0
    micro = rows_per_step // gpus
    for epoch in range(epochs):
        order = step_order(tokens, rows_per_step, group_steps, seed, epoch)
        for start in range(0, len(order), rows_per_step):
            step = order[start:start + rows_per_step]
            steps += 1
            for m in range(micro):  # micro-step m: positions m*gpus .. m*gpus+gpus-1, one per rank
                ranks = step[m * gpus:(m + 1) * gpus]
                if not ranks:
                    continue
                useful += sum(tokens[i] for i in ranks)
                real_flops += sum(flops[i] for i in ranks)
                processed += gpus * max(tokens[i] for i in ranks)
                step_flops += gpus * max(flops[i] for i in ranks)
    return {"steps": int(steps), "useful_token_fraction": useful / processed,
            "flops_balance": real_flops / step_flops, "model_flops": real_flops}


def minutes(cost: dict, gpus: int, mfu: float) -> float:
    return cost["model_flops"] / (gpus * H100_BF16_PEAK * mfu * cost["flops_balance"]) / 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--gpus", type=int, default=16)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--mfu", type=float, default=0.40, help="assumed MFU for the projection")
    args = parser.parse_args()

    faithful = load_recipe("s1-32b")  # the shipped default: unpacked, length-grouped steps
    packed_recipe = load_recipe("s1-32b", {"packing": True, "length_group_steps": 1})
    block, epochs, batch = faithful.block_size, int(faithful.epochs), faithful.global_batch_size
    modes = {
        "s1_unpacked_batch_of_one": ("unpacked", 1),
        "faithful_default": ("unpacked", faithful.length_group_steps),
        "packed": ("packed", 1),
    }
    results: dict[str, dict[str, list[float]]] = {name: {} for name in modes}
    for trial in range(args.trials):
        lengths = s1k_like_lengths(args.examples, block, seed=trial)
        unpacked_rows = [[n] for n in lengths]
        packed_rows = [[lengths[i] for i in items] for items in first_fit_decreasing(lengths, block)]
        for name, (kind, group) in modes.items():  # interleaved: every mode on every trial's data
            rows = unpacked_rows if kind == "unpacked" else packed_rows
            cost = run_cost(rows, epochs, batch, group, args.gpus, seed=trial)
            cost["minutes"] = minutes(cost, args.gpus, args.mfu)
            cost["warmup_steps"] = math.ceil(cost["steps"] * faithful.warmup_ratio)
            cost["rows"] = len(rows)
            for key, value in cost.items():
                results[name].setdefault(key, []).append(value)

    report = {}
    for name, values in results.items():
        report[name] = {
            "steps": median_spread(values["steps"], 0), "warmup_steps": median_spread(values["warmup_steps"], 0),
            "examples_per_step": round(args.examples / (values["steps"][0] / epochs), 1),
            "useful_token_fraction": median_spread(values["useful_token_fraction"], 4),
            "flops_balance": median_spread(values["flops_balance"], 4),
            "minutes_16xH100": median_spread(values["minutes"], 1),
        }  # fmt: skip
    report["faithful_default"]["length_group_steps"] = faithful.length_group_steps
    report["packed"]["learning_rate"] = packed_recipe.learning_rate
    base = statistics.median(results["s1_unpacked_batch_of_one"]["minutes"])
    for name in modes:
        ratios = [b / m for b, m in zip(results["s1_unpacked_batch_of_one"]["minutes"], results[name]["minutes"])]
        report[name]["speedup_vs_s1"] = median_spread(ratios, 3)
        row = report[name]
        print(f"{name:26s} steps {row['steps']['median']:>4.0f} (warmup {row['warmup_steps']['median']:.0f}), "
              f"{row['examples_per_step']:>5.1f} examples/step, useful tokens {row['useful_token_fraction']['median']:.3f}, "
              f"FLOPs balance {row['flops_balance']['median']:.3f}, {row['minutes_16xH100']['median']:.1f} min "
              f"on {args.gpus} H100 at {args.mfu:.0%} MFU ({base / row['minutes_16xH100']['median']:.2f}x s1)")
    print(json.dumps({"examples": args.examples, "gpus": args.gpus, "epochs": epochs, "global_batch_size": batch,
                      "block_size": block, "trials": args.trials, "assumed_mfu": args.mfu,
                      "s1_reported_minutes": S1_REPORTED_MINUTES, **report}))  # fmt: skip


if __name__ == "__main__":
    main()
