"""The synthetic pool: deterministic, verifiable, schema-conformant, distinct questions."""

from __future__ import annotations

import json
import re
from fractions import Fraction

import pytest

from s1.cli import main
from s1.pool.defects import DEFECTS, defective_rows
from s1.pool.synth import DOMAIN_WEIGHTS, synthesize_pool

POOL_FIELDS = {"id", "source", "question", "solution", "answer", "domain", "metadata", "thinking"}


def test_same_seed_same_pool_and_different_seed_differs():
    assert synthesize_pool(300, seed=3) == synthesize_pool(300, seed=3)
    assert synthesize_pool(300, seed=3) != synthesize_pool(300, seed=4)
    # A longer pool extends the shorter one (the row stream is a function of the seed only).
    assert synthesize_pool(400, seed=3)[:300] == synthesize_pool(300, seed=3)


def test_rows_follow_the_pool_schema_and_are_distinct():
    rows = synthesize_pool(2000, seed=0)
    assert all(set(row) == POOL_FIELDS for row in rows)
    assert len({row["id"] for row in rows}) == len(rows)
    assert len({row["question"] for row in rows}) == len(rows)
    assert {row["domain"] for row in rows} == set(DOMAIN_WEIGHTS)
    for row in rows:
        assert all(isinstance(row[k], str) and row[k] for k in ("question", "answer", "thinking"))
        assert row["solution"].endswith(f"The answer is {row['answer']}.")


def test_arithmetic_answers_are_correct_and_traces_compute_each_step():
    rows = [r for r in synthesize_pool(1000, seed=1) if r["domain"] == "arithmetic"]
    assert len(rows) > 200
    for row in rows:
        expression = re.fullmatch(r"Compute (.+)\.", row["question"]).group(1)
        assert str(eval(expression)) == row["answer"]  # noqa: S307 - digits and +/- only
        lines = row["thinking"].split("\n")
        assert len(lines) == row["metadata"]["steps"]
        for line in lines:
            left, right = line.split(" = ")
            assert eval(left) == int(right)  # noqa: S307
        assert lines[-1].endswith(f"= {row['answer']}")
    # Difficulty varies: steps 1..6, so trace lengths vary too.
    assert {r["metadata"]["steps"] for r in rows} == {1, 2, 3, 4, 5, 6}


def test_other_domains_have_checkable_answers():
    rows = synthesize_pool(3000, seed=2)
    for row in rows:
        if row["domain"] == "probability":
            assert 0 <= Fraction(row["answer"]) <= 1
        elif row["domain"] == "algebra":
            match = re.fullmatch(r"Solve for x: (-?\d+)x \+ (\d+) = (-?\d+)\.", row["question"])
            if match:
                a, b, c = map(int, match.groups())
                assert a * int(row["answer"]) + b == c
        else:
            assert re.fullmatch(r"-?\d+", row["answer"]), row


def test_defective_rows_name_their_defect():
    rows = defective_rows(seed=5)
    assert len(rows) == len(DEFECTS)
    assert [r["metadata"]["defect"] for r in rows] == [d[0] for d in DEFECTS]


def test_cli_writes_jsonl(tmp_path, capsys):
    out = tmp_path / "pool.jsonl"
    assert main(["pool", "synth", "--n", "25", "--seed", "7", "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows == synthesize_pool(25, seed=7)
    assert summary["rows"] == 25 and sum(summary["domains"].values()) == 25


def test_negative_n_is_rejected():
    with pytest.raises(ValueError, match="n must be >= 0"):
        synthesize_pool(-1, seed=0)


def test_counting_traces_enumerate_the_words():
    rows = synthesize_pool(300, seed=4, domains={"counting": 1})
    assert {row["domain"] for row in rows} == {"counting"}
    for row in rows:
        words = row["question"].removeprefix("Count the words: ").removesuffix(".").split()
        assert row["thinking"].split("\n") == [f"{i} {w}" for i, w in enumerate(words, start=1)]
        assert row["answer"] == str(len(words)) == str(row["metadata"]["steps"])
    assert len({row["answer"] for row in rows}) >= 8  # lengths vary: 2..14 words


def test_cli_domain_selection(tmp_path, capsys):
    out = tmp_path / "pool.jsonl"
    assert main(["pool", "synth", "--n", "40", "--out", str(out), "--json",
                 "--domains", "counting=3,geometry=1"]) == 0
    domains = json.loads(capsys.readouterr().out)["domains"]
    assert set(domains) == {"counting", "geometry"} and domains["counting"] > domains["geometry"]
