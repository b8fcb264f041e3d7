"""The test-time-scaling sweep on the tiny random model: structure, budgets respected, metrics
consistent with the samples, resuming (accuracy levels of a random model are noise)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from s1.cli import main
from s1.evaluation.config import EvaluationConfig
from s1.evaluation.grading import grade_output
from s1.evaluation.run import evaluate
from s1.format import THINK_DELIMITER

pytestmark = pytest.mark.slow


def read_samples(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]


def sample_key(sample: dict) -> tuple:
    return sample["benchmark"], sample["budget"], sample["id"], sample["sample"]


def test_sweep_writes_consistent_samples_metrics_and_reports(
        tiny_qwen_dir: Path, math500_file: Path, gpqa_file: Path, tmp_path: Path, capsys):
    out = tmp_path / "eval"
    argv = ["evaluate", "--model", str(tiny_qwen_dir), "--benchmark", f"math500={math500_file}",
            f"gpqa_diamond={gpqa_file}", "--budgets", "0,6", "--limit", "2", "--batch-size", "2",
            "--max-answer-tokens", "6", "--out", str(out), "--json"]
    assert main(argv) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics == json.loads((out / "metrics.json").read_text())

    samples = read_samples(out)
    assert len(samples) == 2 * 2 * 2  # benchmarks x questions x budgets
    assert {(s["benchmark"], s["budget"]) for s in samples} == {
        (b, p) for b in ("math500", "gpqa_diamond") for p in ("max0", "max6")}
    for sample in samples:
        assert sample["thinking_tokens"] <= sample["max_thinking_tokens"]
        assert sample["prompt"].endswith("<|im_start|>think")
        # Every record's grade is what grading its own output gives (the output follows the
        # prompt's think delimiter, which a predictions row carries at its start).
        regraded = grade_output(sample["kind"], sample["gold"], THINK_DELIMITER + sample["output"])
        assert (regraded.correct, regraded.reason) == (sample["correct"], sample["reason"])
    assert all(s["gold"] in "ABCD" for s in samples if s["benchmark"] == "gpqa_diamond")

    for name, summary in metrics["benchmarks"].items():
        assert summary["questions"] == 2
        for point in summary["points"]:
            own = [s for s in samples if s["benchmark"] == name and s["budget"] == point["budget"]]
            assert point["n"] == len(own) == 2
            assert point["correct"] == sum(s["correct"] for s in own)
            assert point["mean_thinking_tokens"] == pytest.approx(
                sum(s["thinking_tokens"] for s in own) / 2)
            assert sum(point["reasons"].values()) == 2
            assert point["control"] == 1.0
        assert summary["performance"] == max(p["accuracy"] for p in summary["points"])
        assert metrics["kfp_metrics"][f"{name}.max6.accuracy"] == pytest.approx(
            summary["points"][1]["accuracy"])

    assert (out / "scaling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (out / "report.md").read_text()
    assert "| s1-32B (budget forcing) | 93.0 | 59.6 | 56.7 |" in report
    assert "| Qwen2.5-32B-Instruct | 84.0 | 49.0 | 26.7 |" in report
    assert "data:image/png;base64," in (out / "report.html").read_text()

    # Same settings again: nothing is regenerated and the metrics are the same.
    config = EvaluationConfig(model=tiny_qwen_dir, out=out, budgets=(0, 6), limit=2,
                              benchmarks=(f"math500={math500_file}", f"gpqa_diamond={gpqa_file}"),
                              batch_size=2, max_answer_tokens=6)
    assert evaluate(config) == metrics
    assert len(read_samples(out)) == 8
    # An interrupted run: only the missing samples are generated.
    lines = (out / "samples.jsonl").read_text().splitlines(keepends=True)
    (out / "samples.jsonl").write_text("".join(lines[:5]))
    evaluate(config)
    resumed = read_samples(out)
    assert resumed[:5] == samples[:5]
    assert sorted(map(sample_key, resumed)) == sorted(map(sample_key, samples))
    with pytest.raises(ValueError, match="other settings"):
        evaluate(replace(config, budgets=(0, 8)))


def test_sampled_runs_report_pass_at_1_over_k_samples(
        tiny_qwen_dir: Path, aime_file: Path, tmp_path: Path):
    config = EvaluationConfig(model=tiny_qwen_dir, benchmarks=(f"aime24={aime_file}",),
                              out=tmp_path / "eval", budgets=(4,), num_ignore=(0,), limit=2,
                              samples=2, temperature=1.0, max_answer_tokens=4)
    point = evaluate(config)["benchmarks"]["aime24"]["points"][0]
    samples = read_samples(config.out)
    assert sorted((s["id"], s["sample"]) for s in samples) == [
        ("60", 0), ("60", 1), ("61", 0), ("61", 1)]
    per_question = {qid: [s["correct"] for s in samples if s["id"] == qid] for qid in ("60", "61")}
    assert point["pass@1"] == pytest.approx(sum(sum(c) / 2 for c in per_question.values()) / 2)
    # Different seeds per sample index: the two samples of a question are drawn independently.
    assert any(a["output"] != b["output"] for a in samples for b in samples
               if a["id"] == b["id"] and a["sample"] != b["sample"])
