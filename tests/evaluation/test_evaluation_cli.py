"""`s1 evaluate --predictions`: grading outputs of any system, bad rows included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from s1.cli import main
from s1.evaluation.config import EvaluationConfig, parse_budgets
from s1.format import assistant_text

ROWS = [
    {"id": "a", "gold": "25", "prediction": assistant_text("thinking", "\\boxed{025}")},
    {"id": "b", "gold": "\\frac{1}{2}", "prediction": "<think>x</think>Answer: 0.5"},
    {"id": "c", "gold": "7", "prediction": assistant_text("t", "8")},
    {"id": "d", "gold": "7", "prediction": "<|im_start|>think\nstill thinking about 7"},
    {"id": "e", "prediction": assistant_text("t", "3")},
    {"id": "f", "gold": "3"},
]


def test_predictions_summary_and_per_row_results(tmp_path: Path, capsys):
    path = tmp_path / "preds.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in ROWS) + "not json\n\n")
    out = tmp_path / "graded"
    assert main(["evaluate", "--predictions", str(path), "--kind", "math", "--json",
                 "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["n"], summary["correct"]) == (7, 2)
    assert summary["accuracy"] == pytest.approx(2 / 7)
    reasons = {k: v for k, v in summary["reasons"].items() if v}
    assert reasons == {"correct": 2, "wrong_answer": 1, "thinking_not_closed": 1,
                       "missing_gold": 1, "missing_prediction": 1, "invalid_row": 1}
    results = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["id"] for r in results] == ["a", "b", "c", "d", "e", "f", "line-7"]
    assert [r["correct"] for r in results] == [True, True] + [False] * 5
    assert json.loads((out / "summary.json").read_text()) == summary


def test_choice_predictions_use_the_row_kind(tmp_path: Path, capsys):
    path = tmp_path / "mc.jsonl"
    rows = [{"id": "1", "kind": "choice", "gold": "C", "prediction": "Answer: (C)"},
            {"id": "2", "kind": "choice", "gold": "A", "prediction": "Answer: B"},
            {"id": "3", "kind": "essay", "gold": "A", "prediction": "Answer: A"}]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert main(["evaluate", "--predictions", str(path)]) == 0
    assert capsys.readouterr().out.startswith("1/3 correct (33.3%)")


def test_missing_predictions_file_is_a_clear_error(tmp_path: Path, capsys):
    assert main(["evaluate", "--predictions", str(tmp_path / "none.jsonl")]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "message"), [
    (["--budgets", "64,x"], "budget 'x'"),
    (["--budgets", "-1"], "budgets must be >= 0"),
    (["--num-ignore", "1,1"], "budget points repeat"),
    (["--samples", "4"], "needs temperature > 0"),
])
def test_bad_sweep_settings_fail_before_loading_anything(tmp_path, capsys, argv, message):
    code = main(["evaluate", "--model", str(tmp_path / "no-model"), "--benchmark", "aime24",
                 "--out", str(tmp_path / "out"), *argv])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_budget_points_cross_budgets_and_ignores():
    config = EvaluationConfig(model=Path("m"), benchmarks=("aime24",), out=Path("o"),
                              budgets=parse_budgets("0, 512,auto"), num_ignore=(0, 2))
    assert [p.label for p in config.points()] == [
        "max0", "max0-ignore2", "max512", "max512-ignore2", "auto", "auto-ignore2"]
    budget = config.budget(config.points()[3])
    assert (budget.max_thinking_tokens, budget.num_ignore) == (512, 2)
