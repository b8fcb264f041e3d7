"""Packing efficiency on an s1K-like length distribution, and a Qwen2.5-32B time projection.

Usage: python benchmarks/packing.py [--examples 1000] [--block-size 32768] [--gpus 16] [--mfu 0.4]

useful_token_fraction = real tokens / tokens processed, where a packed row costs its full block
(the token budget), s1's unpacked batch-of-one costs GPUs x the longest example of each step (the
other GPUs wait on it), and a padded batch costs batch size x its longest example.
step_balance_fraction adds the packed run's idle GPUs in a last, partial step.
"""

from __future__ import annotations

import argparse
import json
import random

from s1.train.packing import first_fit_decreasing

QWEN25_32B = {"params": 32.8e9, "layers": 64, "hidden": 5120}
H100_BF16_PEAK = 989e12
S1_REPORTED_MINUTES = 26


def s1k_like_lengths(n: int, block_size: int, seed: int) -> list[int]:
    """Long-tailed token counts, mean ~5K, a few at the 32K cap (s1K: ~4.7M tokens in 1,000)."""
    rng = random.Random(seed)
    return [min(block_size, max(400, int(rng.lognormvariate(8.2, 0.75)))) for _ in range(n)]


def step_fraction(rows: list[int], per_step: int) -> float:
    """Real tokens / (rows per step x longest row of each step)."""
    processed = sum(max(rows[i:i + per_step]) * per_step for i in range(0, len(rows), per_step))
    return sum(rows) / processed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--block-size", type=int, default=32768)
    parser.add_argument("--gpus", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--mfu", type=float, default=0.40, help="assumed MFU for the projection")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    lengths = s1k_like_lengths(args.examples, args.block_size, args.seed)
    rng = random.Random(args.seed)
    bins = first_fit_decreasing(lengths, args.block_size)
    rows = [sum(lengths[i] for i in items) for items in bins]
    rng.shuffle(rows)  # the trainer's seeded sampler shuffles rows
    shuffled = lengths[:]
    rng.shuffle(shuffled)
    tokens = sum(lengths)

    packed = tokens / (len(rows) * args.block_size)
    balance = step_fraction(rows + [0] * (-len(rows) % args.gpus), args.gpus)
    unpacked = step_fraction(shuffled, args.gpus)  # s1: one example per GPU per step
    padded = step_fraction(shuffled, 4)  # 4 examples per device, padded to the longest

    m = QWEN25_32B
    flops = args.epochs * (6 * m["params"] * tokens + 12 * m["layers"] * m["hidden"] * sum(n * n for n in lengths))
    seconds = flops / (args.gpus * H100_BF16_PEAK * args.mfu) / balance
    print(f"{args.examples} examples, {tokens:,} tokens (mean {tokens / len(lengths):,.0f}, max {max(lengths):,}); "
          f"{len(bins)} packed rows of {args.block_size:,}")
    print(f"useful token fraction: packed {packed:.4f} (with idle GPUs in the last step {balance:.4f}) | "
          f"unpacked batch-of-one {unpacked:.4f} | padded batch of 4 {padded:.4f}")
    print(f"Qwen2.5-32B, {args.epochs} epochs on {args.gpus} H100 at {args.mfu:.0%} MFU: "
          f"{seconds / 60:.1f} min (s1 reports {S1_REPORTED_MINUTES} min)")
    print(json.dumps({
        "examples": args.examples, "tokens": tokens, "mean_tokens": tokens / len(lengths), "max_tokens": max(lengths),
        "block_size": args.block_size, "packed_rows": len(bins), "gpus": args.gpus,
        "useful_token_fraction": round(packed, 4), "step_balance_fraction": round(balance, 4),
        "unpacked_batch_of_one_fraction": round(unpacked, 4), "padded_batch_fraction": round(padded, 4),
        "projection": {"model": "Qwen2.5-32B", "epochs": args.epochs, "training_flops": flops, "assumed_mfu": args.mfu,
                       "minutes": round(seconds / 60, 1), "s1_reported_minutes": S1_REPORTED_MINUTES},
    }))  # fmt: skip


if __name__ == "__main__":
    main()
