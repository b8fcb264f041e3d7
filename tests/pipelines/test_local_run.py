"""The README's main job: the whole pipeline through kfp.local, and what it leaves behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.local_run import LocalRunConfig, pipeline_arguments, write_inputs


def test_local_arguments_are_pipeline_parameters(tmp_path):
    from pipelines.cli import known_parameters

    config = LocalRunConfig.for_model(tmp_path, "tiny-qwen", n=8)
    arguments = pipeline_arguments(config, tmp_path / "pool.jsonl", tmp_path / "bench.jsonl")
    assert set(arguments) <= set(known_parameters())
    assert arguments["train_launcher"] == "local" and arguments["deploy_model"] is False
    assert arguments["n"] == 8 and arguments["recipe"] == "tiny-qwen"
    assert arguments["benchmarks"] == [str(tmp_path / "bench.jsonl")]
    assert arguments["attempt_models"] == [{"model": "local:tiny-qwen", "max_tokens": 8}]
    assert (arguments["curation_engine"], arguments["curation_gpus"]) == ("transformers", 0)
    assert "eval_sets" not in arguments  # curation decontaminates against the benchmarks


def test_smollm2_inputs_are_counting_lists_the_budgets_separate(tmp_path):
    """The demo's pool and held-out benchmark are the profile's slice, with disjoint questions,
    and hold lists the smallest budget cannot enumerate (3 trace tokens a word) as well as ones
    the largest can."""
    config = LocalRunConfig.for_model(tmp_path, "smollm2")
    pool, benchmark = write_inputs(config)
    rows = {path: [json.loads(line) for line in path.read_text().splitlines()] for path in (pool, benchmark)}
    assert len(rows[pool]) == config.pool_size and len(rows[benchmark]) == config.eval_size
    assert {row["domain"] for rows_ in rows.values() for row in rows_} == {"counting"}
    assert not {row["question"] for row in rows[pool]} & {row["question"] for row in rows[benchmark]}
    words = [int(row["answer"]) for row in rows[benchmark]]
    assert max(words) * 3 <= max(config.budgets) and min(config.budgets) < 3 * max(words)


@pytest.mark.parametrize(
    "given, message",
    [({"model": "llama"}, "--model"), ({"n": 50, "pool_size": 10}, "cannot exceed"), ({"budgets": (0, 8)}, "positive")],
)
def test_bad_arguments_fail_before_running(tmp_path, given, message):
    with pytest.raises(ValueError, match=message):
        LocalRunConfig.for_model(tmp_path, **given)


@pytest.mark.slow
def test_run_local_tiny_qwen(tmp_path, capsys):
    """`s1 pipeline run-local --model tiny-qwen`: every artifact exists and holds real content."""
    from s1.cli import main

    out = tmp_path / "run"
    assert main(["pipeline", "run-local", "--out", str(out), "--model", "tiny-qwen", "--json"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    # With --json, stdout is the summary alone (kfp.local's task logs go to stderr).
    assert json.loads(capsys.readouterr().out) == summary

    selected = [json.loads(line) for line in (out / "dataset" / "selected.jsonl").read_text().splitlines()]
    assert len(selected) == 16
    assert all(row["question"] and row["thinking"] and row["answer"] for row in selected)

    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(out / "model")
    tokenizer = AutoTokenizer.from_pretrained(out / "model")
    assert model.num_parameters() > 1_000_000 and tokenizer.convert_tokens_to_ids("<|im_start|>") == 151644

    plot = out / "accuracy_vs_thinking_budget.png"
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and plot.stat().st_size > 5_000
    html = (out / "evaluation_report.html").read_text()
    assert "data:image/png;base64," in html  # the plot is inside the one file the KFP UI shows
    samples = (out / "evaluation" / "samples.jsonl").read_text().splitlines()
    assert len(samples) == 4 * 3  # 4 held-out questions x 3 budgets
    assert "# " in (out / "curation_report.md").read_text()
    assert "<h2>Difficulty</h2>" in (out / "curation_report.html").read_text()

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["curate"]["selected"] == 16
    # s1's difficulty filter ran with the local attempt model on every question (tiny-qwen's
    # random replies never end within 8 tokens: cut off, unsolved, nothing dropped).
    attempts = {k.split("/")[-1]: v for k, v in metrics["curate"].items() if k.startswith("models/attempts/")}
    assert attempts["unsolved"] == 64 and attempts["call_errors"] == 0
    assert metrics["train"]["steps"] >= 1 and metrics["train"]["final_loss"] > 0
    accuracies = [k for k in metrics["evaluate"] if k.endswith(".accuracy")]
    assert len(accuracies) == 3 and all(0 <= metrics["evaluate"][k] <= 1 for k in accuracies)
    assert Path(summary["paths"]["plot"]) == plot
