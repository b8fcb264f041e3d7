"""Whole-curation benchmark: a 59K-question pool, every model output already cached.

Usage: python benchmarks/curation.py [--pool-size 59029] [--eval-size 1200] [--workdir DIR]

Builds (untimed) a synthetic pool the size of s1's (with planted duplicates, contaminated
questions, defective rows, questions without traces or domains), an eval set of 1,200
questions, and a call cache holding the teacher traces, two attempt models' answers and the
grader's domain labels. Then times `curate()` end to end (dedupe, decontamination, quality,
featurisation: trace length, difficulty grading, domains; selection of 1,000) on at most 2 cores.
The endpoints point at a closed port: a cache miss would fail, and the benchmark checks none did.
Prints the per-stage breakdown; the last line is one JSON object with `seconds`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import tempfile
import time
from pathlib import Path

from s1.curation.cache import CallCache, call_key
from s1.curation.client import ChatResult
from s1.curation.config import CurationConfig, EndpointConfig
from s1.curation.domains import CLASSIFY_SYSTEM_PROMPT, classification_prompt
from s1.curation.run import curate
from s1.pool.defects import defective_rows
from s1.pool.synth import synthesize_pool

CLOSED = "http://127.0.0.1:9/v1"  # nothing listens: every output must come from the cache
TEACHER = EndpointConfig(model="deepseek-r1", base_url=CLOSED, max_retries=0)
ATTEMPTS = (EndpointConfig(model="qwen2.5-7b-instruct", base_url=CLOSED, max_retries=0),
            EndpointConfig(model="qwen2.5-32b-instruct", base_url=CLOSED, max_retries=0))
GRADER = EndpointConfig(model="grader", base_url=CLOSED, max_retries=0)


def settings(endpoint: EndpointConfig) -> dict:
    return {"max_tokens": endpoint.max_tokens, "temperature": endpoint.temperature}


def build_inputs(folder: Path, pool_size: int, eval_size: int, seed: int) -> tuple[Path, Path, Path]:
    """Write pool.jsonl, eval.jsonl and cache/calls.jsonl; returns their paths."""
    rng = random.Random(seed)
    evals = synthesize_pool(eval_size, seed=seed + 1)
    pool = synthesize_pool(pool_size - 600 - len(defective_rows(seed)), seed=seed)
    pool += [{**rng.choice(pool), "id": f"dup-{i}"} for i in range(300)]  # exact duplicates
    pool += [{**row, "id": f"contaminated-{i}"} for i, row in enumerate(rng.sample(evals, 300))]
    pool += defective_rows(seed)
    entries = []
    for row in pool:
        roll = rng.random()
        if roll < 0.25 and isinstance(row.get("question"), str):  # the teacher writes this trace
            entries.append((call_key(TEACHER.model, settings(TEACHER), row["question"]), TEACHER.model,
                            ChatResult(content=f"Answer: {row['answer']}", reasoning=row.pop("thinking"))))
        if 0.2 < roll < 0.6:  # no domain in the pool: the grader classifies it
            row["domain"] = None
            if isinstance(row.get("question"), str):
                prompt = classification_prompt(row["question"])
                code = rng.choice(["05", "11", "60", "51", "97", "12"])
                entries.append((call_key(GRADER.model, settings(GRADER), prompt, CLASSIFY_SYSTEM_PROMPT),
                                GRADER.model,
                                ChatResult(content=f"This concerns ... so the code is\n{code}")))
        if not isinstance(row.get("question"), str):
            continue
        for endpoint, skill in zip(ATTEMPTS, (0.3, 0.5)):  # share of questions each model solves
            answer = row["answer"] if rng.random() < skill else f"{row['answer']}1"
            entries.append((call_key(endpoint.model, settings(endpoint), row["question"]), endpoint.model,
                            ChatResult(content=f"Let me work it out.\nAnswer: {answer}")))
    pool_path, eval_path = folder / "pool.jsonl", folder / "eval.jsonl"
    pool_path.write_text("".join(json.dumps(row) + "\n" for row in pool))
    eval_path.write_text("".join(json.dumps({"id": r["id"], "question": r["question"]}) + "\n"
                                 for r in evals))
    with CallCache(folder / "cache" / "calls.jsonl") as cache:
        cache.put_many(entries)
    return pool_path, eval_path, folder / "cache"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[2])
    parser.add_argument("--pool-size", type=int, default=59_029)
    parser.add_argument("--eval-size", type=int, default=1200)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--workdir", type=Path, help="keep inputs and outputs here")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) > 2:
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:2])
    logging.basicConfig(level=logging.WARNING)
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        run(args, args.workdir)
        return
    with tempfile.TemporaryDirectory(prefix="s1-curation-bench-") as folder:
        run(args, Path(folder))


def run(args: argparse.Namespace, folder: Path) -> None:
    start = time.perf_counter()
    pool_path, eval_path, cache_dir = build_inputs(folder, args.pool_size, args.eval_size, seed=0)
    print(f"inputs built in {time.perf_counter() - start:.1f}s (not timed) under {folder}")
    config = CurationConfig(
        pool=(str(pool_path),), eval_sets=(str(eval_path),), n=args.n, out=folder / "out", seed=0,
        cache_dir=cache_dir, teacher=TEACHER, attempt_models=ATTEMPTS, grader=GRADER,
    )
    start = time.perf_counter()
    report = curate(config)
    seconds = time.perf_counter() - start
    errors = sum(stats["call_errors"] for stats in report["models"]["attempts"].values())
    teacher_errors = report["drop_reasons"].get("quality", {}).get("teacher API error", 0)
    if errors or teacher_errors:
        raise SystemExit(f"cache misses: {errors} attempt calls and {teacher_errors} teacher calls "
                         "went to the (closed) endpoint")
    print(f"{'stage':>16} {'in':>7} {'out':>7} {'seconds':>8}")
    for stage in report["stages"]:
        print(f"{stage['stage']:>16} {stage['in']:>7} {stage['out']:>7} {stage['seconds']:>8.2f}")
    other = seconds - sum(stage["seconds"] for stage in report["stages"])
    print(f"{'other':>16} {'':>7} {'':>7} {other:>8.2f}  (eval set, cache load, outputs, plots)")
    print(f"total {seconds:.1f}s on {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()} cores")
    print(json.dumps({
        "seconds": round(seconds, 2),
        "pool_rows": report["pool_rows"],
        "eval_questions": report["eval_questions"],
        "selected": report["selected"],
        "contaminated": len(report["contamination"]),
        "stages": {stage["stage"]: stage["seconds"] for stage in report["stages"]},
        "other_seconds": round(other, 2),
    }))


if __name__ == "__main__":
    main()
