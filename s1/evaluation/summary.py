"""Aggregating graded sample records into the figures a report shows.

Everything is computed from the records themselves (what ``samples.jsonl`` holds), so the
metrics always agree with the samples, including after a resumed run.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterable, Sequence

from s1.evaluation.grading import REASONS
from s1.evaluation.metrics import accuracy, control, mean_pass_at_k, performance, scaling


def grade_summary(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """``n``, ``correct``, ``accuracy`` and a count for every grading reason."""
    counts = Counter(record["reason"] for record in records)
    correct = sum(bool(record["correct"]) for record in records)
    return {
        "n": len(records),
        "correct": correct,
        "accuracy": accuracy([bool(record["correct"]) for record in records]),
        "reasons": {reason: counts.get(reason, 0) for reason in REASONS},
    }


def point_summary(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One budget point of one benchmark: accuracy, pass@1, thinking length, control."""
    tokens = [record["thinking_tokens"] for record in records]
    first = records[0]
    return {
        "budget": first["budget"],
        "max_thinking_tokens": first["max_thinking_tokens"],
        "num_ignore": first["num_ignore"],
        **grade_summary(records),
        "pass@1": mean_pass_at_k((record["id"], record["correct"]) for record in records),
        "mean_thinking_tokens": sum(tokens) / len(tokens),
        "max_thinking_tokens_used": max(tokens),
        "control": control(_runs(records)),
    }


def benchmark_summary(records: Sequence[dict[str, Any]], budgets: Sequence[str]) -> dict[str, Any]:
    """Every budget point of one benchmark (in ``budgets`` order) and s1's three figures."""
    points = [point_summary(group) for label in budgets
              if (group := [r for r in records if r["budget"] == label])]
    return {
        "kind": records[0]["kind"],
        "questions": len({record["id"] for record in records}),
        "points": points,
        "control": control(_runs(records)),
        "scaling": scaling([(p["mean_thinking_tokens"], p["accuracy"]) for p in points]),
        "performance": performance([p["accuracy"] for p in points]),
    }


def _runs(records: Iterable[dict[str, Any]]) -> list[tuple[int, int, int | None]]:
    return [(r["thinking_tokens"], r["min_thinking_tokens"], r["max_thinking_tokens"])
            for r in records]


def kfp_metrics(benchmarks: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Flat ``name -> value`` pairs for KFP's ``Metrics.log_metric`` (the Kubeflow UI's table)."""
    flat: dict[str, float] = {}
    for name, summary in benchmarks.items():
        for key in ("performance", "control", "scaling"):
            if summary[key] is not None:
                flat[f"{name}.{key}"] = round(float(summary[key]), 6)
        for point in summary["points"]:
            flat[f"{name}.{point['budget']}.accuracy"] = round(point["accuracy"], 6)
            flat[f"{name}.{point['budget']}.mean_thinking_tokens"] = round(
                point["mean_thinking_tokens"], 2)
    return flat
