"""Benchmark registry and loaders, on files generated in the real benchmarks' formats."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from s1.evaluation.benchmarks import (
    FieldMap,
    load_questions,
    parse_field_map,
    registry,
    resolve_benchmark,
)

from .conftest import AIME_ROWS, GPQA_ROWS, write_jsonl
from .math500_like import math500_rows


def test_registry_declares_the_s1_benchmarks_by_their_hub_ids():
    specs = registry()
    assert {name: specs[name].location for name in ("aime24", "math500", "gpqa_diamond", "aime25")} == {
        "aime24": "simplescaling/aime24_nofigures",
        "math500": "HuggingFaceH4/MATH-500",
        "gpqa_diamond": "Idavidrein/gpqa",
        "aime25": "TIGER-Lab/AIME25",
    }
    assert specs["gpqa_diamond"].config == "gpqa_diamond"
    assert specs["gpqa_diamond"].kind == "choice"
    assert {specs[name].kind for name in ("aime24", "math500", "aime25")} == {"math"}


def test_registered_mapping_reads_a_mirrored_math500_file(math500_file: Path):
    spec = resolve_benchmark(f"math500={math500_file}")
    questions = load_questions(spec)
    rows = math500_rows()
    assert len(questions) == len(rows)
    first = questions[0]
    assert (first.id, first.question, first.answer, first.kind, first.benchmark) == (
        rows[0]["unique_id"], rows[0]["problem"], rows[0]["answer"], "math", "math500")
    assert [q.id for q in load_questions(spec, limit=5)] == [r["unique_id"] for r in rows[:5]]


def test_aime_ids_and_answers_keep_their_source_form(aime_file: Path):
    questions = load_questions(resolve_benchmark(f"aime24={aime_file}"))
    assert [(q.id, q.answer) for q in questions] == [("60", "016"), ("61", "401"), ("62", "24")]


def test_gpqa_parquet_options_are_shuffled_into_letters_with_a_fixed_seed(gpqa_file: Path):
    spec = resolve_benchmark(f"gpqa_diamond={gpqa_file}")
    questions = load_questions(spec)
    assert [q.kind for q in questions] == ["choice"] * 3
    for question, row in zip(questions, GPQA_ROWS):
        options = dict(line.split(") ", 1) for line in question.question.splitlines()
                       if line[:3] in ("A) ", "B) ", "C) ", "D) "))
        assert sorted(options.values()) == sorted(v for k, v in row.items()
                                                  if k.endswith("Answer") or "Answer " in k)
        assert options[question.answer] == row["Correct Answer"]
        assert row["Question"] in question.question
    # Same seed: same letters, whatever subset is loaded; the letters are not all "A".
    again = load_questions(spec, limit=1)
    assert again[0] == questions[0]
    reseeded = load_questions(replace(spec, choice_seed=1))
    assert len({q.answer for q in questions + reseeded}) > 1


def test_user_dataset_with_field_mapping(tmp_path: Path):
    rows = [{"uid": "u1", "prompt": "What is 2+2?", "target": 4},
            {"uid": "u2", "prompt": "What is 3+3?", "target": None}]
    path = write_jsonl(tmp_path / "mine.jsonl", rows)
    spec = resolve_benchmark(str(path), fields=parse_field_map("id=uid,question=prompt,answer=target"))
    questions = load_questions(spec)
    assert [(q.id, q.question, q.answer) for q in questions] == [
        ("u1", "What is 2+2?", "4"), ("u2", "What is 3+3?", "")]  # empty gold kept, graded later


def test_rows_are_numbered_when_no_id_is_mapped(tmp_path: Path):
    path = write_jsonl(tmp_path / "plain.jsonl", [{"question": "q1", "answer": "1"},
                                                  {"question": "q2", "answer": "2"}])
    assert [q.id for q in load_questions(resolve_benchmark(str(path)))] == ["plain-0", "plain-1"]


def test_wrong_field_mapping_fails_fast_naming_the_field(tmp_path: Path, gpqa_file: Path):
    path = write_jsonl(tmp_path / "mine.jsonl", [{"problem": "q", "answer": "1"}])
    with pytest.raises(ValueError, match=r"mine.jsonl:1: .*question to field 'question'"):
        load_questions(resolve_benchmark(str(path)))
    broken = replace(registry()["gpqa_diamond"], location=str(gpqa_file),
                     fields=FieldMap(question="Question", answer="Correct Answer",
                                     incorrect=("Incorrect Answer 1", "Incorrect Answer 9")))
    with pytest.raises(ValueError, match=r"incorrect\[1\] to field 'Incorrect Answer 9'"):
        load_questions(broken)


def test_a_bad_row_is_reported_with_file_and_line(tmp_path: Path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"question": "q", "answer": "1"}) + "\n{not json\n")
    with pytest.raises(ValueError, match=r"bad.jsonl:2: invalid JSON"):
        load_questions(resolve_benchmark(str(path)))


@pytest.mark.parametrize(("ref", "message"), [
    ("aime2099", "unknown benchmark 'aime2099'"),
    ("nope=x.jsonl", "unknown dataset 'nope'"),
    ("math500=missing.jsonl", "no such file: missing.jsonl"),
])
def test_unknown_benchmarks_are_rejected(ref: str, message: str):
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        load_questions(resolve_benchmark(ref))


def test_choice_user_dataset_needs_incorrect_columns(tmp_path: Path):
    path = write_jsonl(tmp_path / "mc.jsonl", GPQA_ROWS)
    with pytest.raises(ValueError, match="incorrect"):
        resolve_benchmark(str(path), kind="choice")
    spec = resolve_benchmark(str(path), kind="choice", fields=parse_field_map(
        "question=Question,answer=Correct Answer,"
        "incorrect=Incorrect Answer 1|Incorrect Answer 2|Incorrect Answer 3"))
    assert all(q.answer in "ABCD" for q in load_questions(spec))


def test_hub_branch_reads_through_datasets_load_dataset(tmp_path: Path):
    """A dataset folder goes through `datasets.load_dataset`, as a hub id does (no network)."""
    folder = tmp_path / "aime25_mirror"
    folder.mkdir()
    write_jsonl(folder / "train.jsonl", [{"id": r["id"], "question": r["problem"],
                                          "answer": r["answer"]} for r in AIME_ROWS])
    spec = replace(registry()["aime25"], location=str(folder))
    assert [(q.id, q.answer) for q in load_questions(spec, limit=2)] == [("60", "016"),
                                                                          ("61", "401")]
    with pytest.raises(ValueError, match=r"aime25_mirror\[0\]: .*question to field 'problem'"):
        load_questions(replace(spec, fields=FieldMap(question="problem")))


def test_the_same_benchmark_reads_identically_from_csv_jsonl_json_and_parquet(tmp_path: Path):
    """CSV cells are all strings, JSON and Parquet are typed: the questions are the same."""
    import csv

    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"id": r["id"], "problem": r["problem"], "answer": int(r["answer"])} for r in AIME_ROWS]
    write_jsonl(tmp_path / "aime.jsonl", rows)
    (tmp_path / "aime.json").write_text(json.dumps(rows))
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "aime.parquet")
    with (tmp_path / "aime.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    loaded = {suffix: load_questions(resolve_benchmark(f"aime24={tmp_path / ('aime' + suffix)}"))
              for suffix in (".csv", ".jsonl", ".json", ".parquet")}
    assert loaded[".csv"] == loaded[".jsonl"] == loaded[".json"] == loaded[".parquet"]
    assert [(q.id, q.answer) for q in loaded[".csv"]] == [("60", "16"), ("61", "401"), ("62", "24")]
