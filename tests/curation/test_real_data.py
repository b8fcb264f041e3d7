"""Curation on the real public files (`$S1_DATA_DIR`): every source read whole, repeated flags
accumulate, an eval set that yields nothing stops the run, respaced eval copies are caught."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from s1.cli import main

SOURCES = {"theoremqa": "theoremqa_test.json", "aime": "aime_1983_2024.csv",
           "omnimath": "omnimath_rule.jsonl", "olympiadbench": "olympiadbench_math_en.jsonl"}


def _pools(data_dir: Path) -> list[str]:
    args = []
    for name, file in SOURCES.items():
        args += ["--pool", f"{name}={data_dir / file}"]  # repeated: every one must be read
    return args


def test_four_real_sources_are_read_whole(data_dir, tmp_path):
    assert main(["curate", *_pools(data_dir), "--n", "10", "--out", str(tmp_path / "out")]) == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    sources = {source["dataset"]: source for source in report["sources"]}
    assert set(sources) == set(SOURCES)
    for source in sources.values():
        assert source["rows"] > 600 and source["kept"] >= 0.99 * source["rows"], source
    assert sources["theoremqa"]["rows"] == 800  # 115 boolean and 73 list answers included


@pytest.mark.parametrize("content", ["", json.dumps({"question": "What is 1 + 1?"}) + "\n"])
def test_an_eval_set_that_yields_nothing_exits_non_zero_naming_it(data_dir, tmp_path, capsys, content):
    bad = tmp_path / "math500.jsonl"
    bad.write_text(content)
    code = main(["curate", "--pool", f"aime={data_dir / SOURCES['aime']}",
                 "--eval-set", f"math500={bad}", "--n", "10", "--out", str(tmp_path / "out")])
    assert code != 0
    assert f"eval set math500={bad} yields no questions" in capsys.readouterr().err
    assert not (tmp_path / "out" / "report.json").exists()


def _respaced(text: str) -> str:
    """As another source writes it: commas inside the math, no spaces in formulas, \\dfrac."""
    text = re.sub(r"\$\s*,", ",$", text)
    return re.sub(r"\$[^$]+\$", lambda m: m.group(0).replace(" ", "").replace("\\frac", "\\dfrac"), text)


def test_respaced_copies_of_the_eval_set_are_dropped(data_dir, tmp_path):
    """AIME 2022-2024 as the eval set; a pool of AIME 1983-2021 and OlympiadBench with every
    eval question planted once, respaced."""
    with (data_dir / SOURCES["aime"]).open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    evals = [row for row in rows if int(row["Year"]) >= 2022]
    (tmp_path / "aime24.jsonl").write_text("".join(
        json.dumps({"id": row["ID"], "problem": row["Question"], "answer": row["Answer"]}) + "\n"
        for row in evals))
    with (tmp_path / "aime_train.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(row for row in rows if int(row["Year"]) <= 2021)
    planted = [{"id": f"copy-{row['ID']}", "source": "planted", "question": _respaced(row["Question"]),
                "answer": row["Answer"]} for row in evals]
    assert sum(p["question"] != row["Question"] for p, row in zip(planted, evals)) > 50
    (tmp_path / "planted.jsonl").write_text("".join(json.dumps(row) + "\n" for row in planted))
    out = tmp_path / "out"
    assert main(["curate", "--pool", f"aime={tmp_path / 'aime_train.csv'}",
                 f"olympiadbench={data_dir / SOURCES['olympiadbench']}", str(tmp_path / "planted.jsonl"),
                 "--eval-set", f"aime24={tmp_path / 'aime24.jsonl'}", "--n", "10", "--out", str(out)]) == 0
    dropped = [json.loads(line) for line in (out / "dropped.jsonl").read_text().splitlines()]
    contaminated = {row["id"] for row in dropped if row["stage"] == "decontaminate"}
    assert {row["id"] for row in planted} <= contaminated
    figures = json.loads((out / "report.json").read_text())["decontamination"]
    assert figures["dropped"] == len(contaminated) and figures["s1_whitespace_dropped"] > 0
    assert "s1's rule (whitespace words) would drop" in (out / "report.md").read_text()
