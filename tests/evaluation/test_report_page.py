"""The evaluation report as people see it in the KFP UI: rendered by headless Chromium."""

from __future__ import annotations

from pathlib import Path

from s1.evaluation.config import EvaluationConfig
from s1.evaluation.run import evaluate
from tests.browser import HeadlessChromium


def test_report_title_names_the_model_not_a_path_and_the_page_renders(
        tiny_qwen_dir: Path, math500_file: Path, tmp_path: Path):
    out = tmp_path / "eval"
    evaluate(EvaluationConfig(model=tiny_qwen_dir, benchmarks=(f"math500={math500_file}",), out=out,
                              budgets=(0, 4), limit=2, batch_size=2, max_answer_tokens=4))
    named = tmp_path / "named"
    evaluate(EvaluationConfig(model=tiny_qwen_dir, benchmarks=(f"math500={math500_file}",), out=named,
                              budgets=(0, 4), limit=2, batch_size=2, max_answer_tokens=4,
                              model_name="tiny-qwen fine-tune"))
    with HeadlessChromium() as browser:
        browser.open(out / "report.html")
        title, heading = browser.evaluate("[document.title, document.querySelector('h1').textContent]")
        assert title == heading == f"s1 evaluation: {tiny_qwen_dir.name}"
        assert str(tiny_qwen_dir.parent) not in browser.evaluate("document.body.innerText")
        assert browser.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
        assert browser.evaluate("document.documentElement.scrollWidth") <= 1280
        browser.open(named / "report.html")
        assert browser.evaluate("document.title") == "s1 evaluation: tiny-qwen fine-tune"
