"""`curate()` and `s1 curate` end to end on a synthetic pool (no model endpoints)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from s1.cli import main
from s1.curation.config import CurationConfig
from s1.curation.report import metrics
from s1.curation.run import curate
from s1.pool.defects import defective_rows
from s1.pool.synth import synthesize_pool

TRAINING_FIELDS = {"id", "source", "question", "thinking", "answer", "domain", "thinking_tokens"}


@pytest.fixture
def pool_and_eval(tmp_path, write_jsonl):
    pool = synthesize_pool(300, seed=0) + defective_rows(seed=0)
    evals = synthesize_pool(40, seed=123)
    planted = evals[:3]  # contaminated: eval questions copied into the pool
    pool += [{**row, "id": f"planted-{i}"} for i, row in enumerate(planted)]
    pool_path = write_jsonl(tmp_path / "pool.jsonl", pool + ["{broken"])
    eval_path = write_jsonl(tmp_path / "eval.jsonl",
                            [{"id": r["id"], "question": r["question"], "answer": r["answer"]} for r in evals])
    return pool_path, eval_path, len(pool) + 1


def test_curate_writes_selection_drops_report_and_plots(tmp_path, pool_and_eval, tokenizer_dir):
    pool_path, eval_path, rows = pool_and_eval
    out = tmp_path / "out"
    report = curate(CurationConfig(pool=(str(pool_path),), eval_sets=(str(eval_path),), n=60,
                                   out=out, seed=1, tokenizer=tokenizer_dir))
    selected = [json.loads(line) for line in (out / "selected.jsonl").read_text().splitlines()]
    dropped = [json.loads(line) for line in (out / "dropped.jsonl").read_text().splitlines()]
    assert len(selected) == report["selected"] == 60
    assert all(set(row) == TRAINING_FIELDS for row in selected)
    assert all(row["thinking_tokens"] > 0 and row["thinking"] for row in selected)
    # Every row is accounted for: selected + dropped + not chosen by the sampling.
    candidates = report["stages"][-1]["in"]
    assert report["pool_rows"] == rows == candidates + len(dropped)
    by_id = {row["id"]: row for row in dropped}
    for index in range(3):
        assert by_id[f"planted-{index}"]["stage"] == "decontaminate"
    for row in defective_rows(seed=0):
        assert by_id[row["id"]]["stage"] == row["metadata"]["expected_drop"], row
    assert not {row["id"] for row in selected} & set(by_id)
    assert report["drop_reasons"]["ingest"]["invalid JSON"] == 1
    assert report["domains"]["selected"] == dict(Counter(r["domain"] for r in selected).most_common())
    on_disk = json.loads((out / "report.json").read_text())
    assert on_disk["stages"] == report["stages"]
    assert (out / "report.md").read_text().startswith("# Curation report")
    for plot in report["plots"]:
        assert (out / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 2 and "<td>decontaminate</td>" in page
    figures = metrics(report)
    assert figures["selected"] == 60 and figures["after_decontaminate"] < figures["after_dedupe"]


def test_same_seed_same_selection(tmp_path, pool_and_eval, tokenizer_dir):
    pool_path, eval_path, _ = pool_and_eval

    def ids(seed: int, name: str) -> list[str]:
        curate(CurationConfig(pool=(str(pool_path),), eval_sets=(str(eval_path),), n=40,
                              out=tmp_path / name, seed=seed, tokenizer=tokenizer_dir))
        return [json.loads(x)["id"] for x in (tmp_path / name / "selected.jsonl").read_text().splitlines()]

    assert ids(5, "a") == ids(5, "b")
    assert ids(5, "a") != ids(6, "c")


def test_cli_with_yaml_config_and_flag_overrides(tmp_path, pool_and_eval, tokenizer_dir, capsys):
    pool_path, eval_path, _ = pool_and_eval
    config = tmp_path / "curation.yaml"
    config.write_text(f"pool: [{pool_path}]\neval_sets: [{eval_path}]\nn: 500\nseed: 3\n"
                      f"tokenizer: {tokenizer_dir}\n")
    code = main(["curate", "--config", str(config), "--n", "25", "--out", str(tmp_path / "o"), "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["selected"] == 25 and report["config"]["seed"] == 3


def test_config_errors_are_clear(tmp_path):
    with pytest.raises(ValueError, match="n must be >= 1"):
        CurationConfig(pool=("p.jsonl",), n=0)
    with pytest.raises(ValueError, match="unknown curation config keys \\['nn'\\]"):
        CurationConfig.from_dict({"pool": ["p.jsonl"], "nn": 3})
    with pytest.raises(ValueError, match="teacher: .*unexpected keyword argument 'modle'"):
        CurationConfig.from_dict({"pool": ["p.jsonl"], "teacher": {"modle": "x"}})
    assert main(["curate", "--pool", str(tmp_path / "nothing.jsonl"), "--out", str(tmp_path / "o"),
                 "--n", "5"]) == 2


def test_shipped_s1k_config_is_valid():
    from importlib import resources

    path = resources.files("s1.curation") / "configs" / "s1k.yaml"
    config = CurationConfig.from_yaml(path, {"out": "curated"})
    assert config.n == 1000 and len(config.attempt_models) == 2
    assert config.preselect.long_trace_sources == {"math": 5600}
    # s1's attempt models and a judge run locally; the judge shares the 32B attempt model's engine.
    from s1.curation.config import LocalModelConfig
    from s1.curation.local_models import _load_settings

    assert [m.path for m in config.attempt_models] == ["Qwen/Qwen2.5-7B-Instruct", "Qwen/Qwen2.5-32B-Instruct"]
    assert all((m.temperature, m.max_tokens) == (0.05, 32_768) for m in config.attempt_models)
    assert isinstance(config.grader, LocalModelConfig) and config.grader.temperature == 0.0
    assert _load_settings(config.grader) == _load_settings(config.attempt_models[1])
