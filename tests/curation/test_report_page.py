"""The curation report as people see it: rendered by headless Chromium, and its plots' layout."""

from __future__ import annotations

import io
import json
from collections import Counter

import pytest

from s1.curation.config import CurationConfig
from s1.curation.report import domain_figure
from s1.curation.report_page import markdown
from s1.curation.run import curate
from s1.pool.synth import synthesize_pool
from tests.browser import HeadlessChromium

SECTIONS = ["Stages", "Drop reasons", "Difficulty", "Model calls", "Sources", "Decontamination",
            "Domains", "Trace length (thinking tokens)"]
# What reading the page must never show: Markdown markup, Python reprs.
LITERAL_MARKUP = ["**", "`", "| ---", "{'", "': ", "![", "None"]


@pytest.fixture(scope="module")
def curated(tmp_path_factory, tiny_qwen_dir):
    """A curation with every section filled: drops at several stages, an attempt model behind an
    endpoint (the judge reading what math-verify cannot decide), contamination."""
    from tests.curation.conftest import ChatServer

    folder = tmp_path_factory.mktemp("report")
    pool = synthesize_pool(120, seed=0)
    evals = synthesize_pool(20, seed=9)
    pool += [{**row, "id": f"copied-{i}"} for i, row in enumerate(evals[:2])]
    pool += [{**pool[0], "id": "dup"}]
    (folder / "pool.jsonl").write_text("".join(json.dumps(r) + "\n" for r in pool) + "{broken\n")
    (folder / "eval.jsonl").write_text("".join(json.dumps(r) + "\n" for r in evals))
    answers = {row["question"]: row["answer"] for row in pool}
    server = ChatServer()
    base_url = server.start()
    # The attempt model answers a third right and gives up on the rest (no expression for
    # math-verify: the judge reads those and says No).
    server.respond = lambda model, prompt: (
        {"content": "Explained.\nNo"} if model == "judge" else
        {"content": f"Answer: {answers[prompt]}" if len(prompt) % 3 == 0 else "I could not solve it."})
    try:
        report = curate(CurationConfig.from_dict({
            "pool": [str(folder / "pool.jsonl")], "eval_sets": [str(folder / "eval.jsonl")], "n": 40,
            "out": str(folder / "out"), "tokenizer": str(tiny_qwen_dir),
            "attempt_models": [{"model": "attempter", "base_url": base_url}],
            "grader": {"model": "judge", "base_url": base_url}}))
    finally:
        server.stop()
    return folder / "out", report


def test_report_reads_as_a_page_in_chromium(curated, tmp_path):
    out, report = curated
    assert report["drop_reasons"]["difficulty"] and report["models"]["judge"]["judged"] > 0
    with HeadlessChromium() as browser:
        browser.open(out / "report.html")
        text = browser.evaluate("document.body.innerText")
        assert browser.evaluate("[...document.querySelectorAll('h2')].map(h => h.textContent)") == SECTIONS
        for markup in LITERAL_MARKUP:
            assert markup not in text, f"the page shows {markup!r}"
        # Every table has rows; the drop reasons list each stage's reasons with their counts.
        assert browser.evaluate("[...document.querySelectorAll('table')].every(t => t.tBodies[0].rows.length > 0)")
        drops = browser.evaluate("[...document.querySelectorAll('h2')].find(h => h.textContent == 'Drop reasons')"
                                 ".nextElementSibling.innerText")
        for stage, reasons in report["drop_reasons"].items():
            for reason, count in reasons.items():
                assert f"{stage}\t{reason}\t{count}" in drops
        assert f"{report['models']['judge']['judged']} of {report['models']['judge']['attempts']}" in text
        # The plots load, fit the page, and nothing overflows sideways.
        images = browser.evaluate("[...document.images].map(i => [i.complete, i.naturalWidth, "
                                  "i.getBoundingClientRect().right])")
        assert len(images) == 2 and all(done and width > 300 and right <= 1280 for done, width, right in images)
        assert browser.evaluate("document.documentElement.scrollWidth") <= 1280
        png = browser.screenshot()
    from PIL import Image, ImageStat

    (tmp_path / "report.png").write_bytes(png)  # kept with the test's files for a look
    image = Image.open(io.BytesIO(png))
    assert image.width == 1280 and image.height > 1500
    assert max(ImageStat.Stat(image.convert("L")).stddev) > 20  # text, tables and plots, not blank


def test_markdown_has_the_same_sections_and_no_reprs(curated):
    out, report = curated
    text = (out / "report.md").read_text()
    assert text == markdown(report)
    assert [line[3:] for line in text.splitlines() if line.startswith("## ")] == SECTIONS
    assert "{'" not in text and "**" not in text


@pytest.mark.parametrize("candidates, selected", [
    # the local run's pool: one domain, bars across the whole axes
    (Counter(counting=80), Counter(counting=64)),
    (Counter({f"{code:02d}": 200 - 3 * code for code in range(11, 41)}),
     Counter({f"{code:02d}": 60 - code for code in range(11, 41)})),
])
def test_the_domain_legend_never_covers_a_bar(candidates, selected):
    figure = domain_figure(candidates, selected)
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    (axis,) = figure.axes
    legend = axis.get_legend().get_window_extent(renderer)
    bars = [patch.get_window_extent(renderer) for patch in axis.patches]
    assert len(bars) == 2 * len(candidates) and not any(legend.overlaps(bar) for bar in bars)
    assert not legend.overlaps(axis.title.get_window_extent(renderer))
