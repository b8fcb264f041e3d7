"""CPU training throughput with the tiny Qwen2: packed rows vs unpacked padded batches, one run.

Usage: OMP_NUM_THREADS=1 python benchmarks/training.py [--model DIR] [--examples 48] [--batch-size 4]

Both modes take one pass over the same examples (forward, backward, AdamW step) with the same
model and loss code; tokens/s counts real tokens only. Unpacked = batches of --batch-size
examples padded to the longest (what a padding collator does).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import torch

from s1.format import IGNORE_INDEX
from s1.train.data import tokenize_examples
from s1.train.loss import chunked_cross_entropy_sum
from s1.train.packing import PackedCollator, pack_examples


def rows(n: int, seed: int) -> list[dict]:
    """Long-tailed trace lengths (~30 to ~600 words), like s1K scaled down ~50x."""
    rng = random.Random(seed)
    out = []
    for index in range(n):
        words = min(600, int(rng.lognormvariate(4.3, 0.8)))
        out.append({"id": str(index), "question": f"Question {index}: what is {index} squared?",
                    "thinking": " ".join(f"step{k}" for k in range(words)), "answer": str(index * index)})
    return out


def train_pass(model, batches, step) -> tuple[int, float]:
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    tokens, start = 0, time.perf_counter()
    for batch in batches:
        loss, real = step(model, batch)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        tokens += real
    return tokens, time.perf_counter() - start


def packed_step(model, batch):
    out = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], logits_to_keep=1,
                output_hidden_states=True, use_cache=False)
    targets = batch["shift_labels"]
    loss = chunked_cross_entropy_sum(out.hidden_states[-1], model.get_output_embeddings(), targets, 1024)
    return loss / (targets != IGNORE_INDEX).sum(), batch["input_ids"].numel()


def padded_step(model, batch):
    out = model(**batch, use_cache=False)
    return out.loss, int(batch["attention_mask"].sum())


def padded_batches(examples, batch_size: int, pad_id: int) -> list[dict]:
    batches = []
    for start in range(0, len(examples), batch_size):
        group = examples[start:start + batch_size]
        width = max(len(e.input_ids) for e in group)
        pad = [width - len(e.input_ids) for e in group]
        batches.append({
            "input_ids": torch.tensor([e.input_ids + [pad_id] * p for e, p in zip(group, pad)]),
            "labels": torch.tensor([e.labels + [IGNORE_INDEX] * p for e, p in zip(group, pad)]),
            "attention_mask": torch.tensor([[1] * len(e.input_ids) + [0] * p for e, p in zip(group, pad)]),
        })  # fmt: skip
    return batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="tiny-qwen folder (built into a temp dir if absent)")
    parser.add_argument("--examples", type=int, default=48)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--block-size", type=int, default=2048)
    args = parser.parse_args()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model_dir = args.model or Path(tempfile.mkdtemp()) / "tiny-qwen"
    if not args.model:
        from s1.models.build import build_model

        build_model("tiny-qwen", model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    examples = tokenize_examples(tokenizer, rows(args.examples, 0), args.block_size, "truncate").examples
    collate = PackedCollator()
    packed = [collate([vars(row)]) for row in pack_examples(examples, args.block_size)]
    padded = padded_batches(examples, args.batch_size, tokenizer.pad_token_id)
    padded_tokens = sum(batch["input_ids"].numel() for batch in padded)

    results = {}
    for name, batches, step in (("unpacked", padded, padded_step), ("packed", packed, packed_step)):
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_pretrained(model_dir, attn_implementation="sdpa").train()
        train_pass(model, batches[:1], step)  # warm-up
        tokens, seconds = train_pass(model, batches, step)
        results[name] = {"tokens": tokens, "seconds": round(seconds, 2), "tokens_per_s": round(tokens / seconds, 1),
                         "steps": len(batches)}  # fmt: skip
        print(f"{name}: {tokens} real tokens in {len(batches)} steps, {seconds:.1f} s, {tokens / seconds:,.0f} tokens/s")
    print(json.dumps({
        "device": "cpu", "threads": torch.get_num_threads(), "examples": len(examples), **results,
        "unpacked_useful_token_fraction": round(results["unpacked"]["tokens"] / padded_tokens, 4),
        "speedup": round(results["packed"]["tokens_per_s"] / results["unpacked"]["tokens_per_s"], 3),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
