"""Benchmarks from the real public files (`$S1_DATA_DIR`): one benchmark, any format, the same
questions; typed answers (TheoremQA's booleans and lists) become gold text."""

from __future__ import annotations

import csv
import json

import pytest

from s1.evaluation.benchmarks import load_questions, resolve_benchmark


def test_aime_reads_identically_from_csv_jsonl_parquet_and_arrow(data_dir, tmp_path):
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    with (data_dir / "aime_1983_2024.csv").open(encoding="utf-8") as handle:
        rows = [{**row, "Year": int(row["Year"])} for row in csv.DictReader(handle)]
    # JSON holds the answers as numbers (a few are text); Parquet and Arrow columns are strings.
    typed = [{**row, "Answer": int(row["Answer"]) if row["Answer"].isdigit() else row["Answer"]}
             for row in rows]
    assert sum(isinstance(row["Answer"], int) for row in typed) > 900
    (tmp_path / "aime.jsonl").write_text("".join(json.dumps(row) + "\n" for row in typed))
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "aime.parquet")
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "saved"))
    copies = [data_dir / "aime_1983_2024.csv", tmp_path / "aime.jsonl", tmp_path / "aime.parquet",
              tmp_path / "saved"]
    loaded = [load_questions(resolve_benchmark(f"aime={path}")) for path in copies]
    assert len(loaded[0]) == 933
    assert all(questions == loaded[0] for questions in loaded[1:])
    assert loaded[0][0].id == "1983-1" and loaded[0][0].answer == "60"


def test_theoremqa_typed_answers_become_gold_text(data_dir):
    questions = load_questions(resolve_benchmark(f"theoremqa={data_dir / 'theoremqa_test.json'}"))
    raw = json.loads((data_dir / "theoremqa_test.json").read_text())
    assert len(questions) == len(raw) == 800 and all(q.answer for q in questions)
    by_id = {q.id: q.answer for q in questions}
    booleans = [row for row in raw if isinstance(row["Answer"], bool)]
    lists = [row for row in raw if isinstance(row["Answer"], list)]
    assert len(booleans) == 115 and len(lists) == 73
    assert {by_id[row["id"]] for row in booleans} == {"True", "False"}
    assert all(by_id[row["id"]].startswith("(") for row in lists if len(row["Answer"]) > 1)


def test_olympiadbench_answer_lists_become_one_answer(data_dir):
    questions = load_questions(resolve_benchmark(
        f"olympiadbench={data_dir / 'olympiadbench_math_en.jsonl'}"))
    assert len(questions) == 675 and all(q.answer and not q.answer.startswith("[") for q in questions)


@pytest.mark.slow
def test_s1_evaluate_runs_the_same_questions_from_csv_jsonl_and_parquet(data_dir, tmp_path, tiny_qwen_dir):
    """The command itself: three copies of AIME, three sweeps, the same prompts and golds."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from s1.cli import main

    with (data_dir / "aime_1983_2024.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))[:3]
    (tmp_path / "aime.jsonl").write_text("".join(
        json.dumps({**row, "Answer": int(row["Answer"])}) + "\n" for row in rows))
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "aime.parquet")
    seen = []
    for path in (data_dir / "aime_1983_2024.csv", tmp_path / "aime.jsonl", tmp_path / "aime.parquet"):
        out = tmp_path / path.suffix.lstrip(".")
        assert main(["evaluate", "--model", str(tiny_qwen_dir), "--benchmark", f"aime={path}",
                     "--limit", "3", "--budgets", "4", "--max-answer-tokens", "4",
                     "--out", str(out)]) == 0
        samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
        seen.append([(s["id"], s["prompt"], s["gold"]) for s in samples])
    assert len(seen[0]) == 3 and seen[0] == seen[1] == seen[2]
    assert seen[0][0][0] == "1983-1" and seen[0][0][2] == "60"
