"""Ingestion: registered datasets map sources onto the schema; every bad row is named and counted;
a source or eval set that yields nothing is an error naming it."""

from __future__ import annotations

import pytest

from s1.curation.ingest import SourceError, ingest, read_eval_questions
from s1.data.registry import registry

GOOD = {"id": "g1", "source": "s", "question": "What is 2 + 2?", "answer": "4", "thinking": "2+2=4"}


def test_bad_rows_are_dropped_with_row_and_reason(tmp_path, write_jsonl):
    path = write_jsonl(tmp_path / "pool.jsonl", [
        GOOD,
        {**GOOD, "id": "g2", "question": 7},
        {**GOOD, "id": "g3", "question": "   "},
        {k: v for k, v in GOOD.items() if k != "question"} | {"id": "g4"},
        {**GOOD, "id": "g5", "answer": None},  # no answer and no solution
        {**GOOD, "id": "g7", "answer": None, "solution": "Proof: by induction on n."},
        {**GOOD, "id": "g1", "question": "A different question with a reused id?"},
        {**GOOD, "id": "g6", "thinking": ["not", "a", "string"]},
        {**GOOD, "id": 17},
        "{not json",
        "[1, 2]",
    ])
    result = ingest([str(path)])
    assert [q.id for q in result.questions] == ["g1", "g7", "17"]
    proof = result.questions[1]
    assert proof.answer == "" and proof.training_example()["answer"] == "Proof: by induction on n."
    details = {d.id: (d.reason, d.detail) for d in result.drops}
    assert details["g2"][0] == "field 'question' is int, not a string"
    assert details["g3"][0] == "empty question"
    assert details["g4"][0] == "missing field 'question'"
    assert details["g5"][0] == "no reference answer or solution"
    assert details["g6"][0] == "field 'thinking' is list, not a string"
    assert [d for d in result.drops if d.reason == "duplicate id"][0].detail == (
        f"{path}:7: id 'g1' already read at {path}:1")
    assert details[f"{path}:10"][0] == "invalid JSON"
    assert details[f"{path}:11"] == ("row is a list, not an object", f"{path}:11: row is a list, not an object")
    assert f"{path}:3" in details["g3"][1]  # the message names the file and line
    report = result.sources[0]
    assert report.rows == 11 and report.kept == 3
    assert sum(report.reasons.values()) == 8 and report.reasons["duplicate id"] == 1
    assert len(result.questions) + len(result.drops) == 11  # nothing silently lost


def test_sources_that_yield_nothing_are_errors_naming_each(tmp_path, write_jsonl):
    good = write_jsonl(tmp_path / "good.jsonl", [GOOD])
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    empty = write_jsonl(tmp_path / "empty.jsonl", [])
    other_schema = write_jsonl(tmp_path / "other.jsonl", [{"problem": "q?", "solution": "1"}])
    refs = [str(tmp_path / "missing.jsonl"), str(binary), str(good), f"nosuchdataset={good}",
            f"numinamath={tmp_path / 'missing.parquet'}", str(empty), str(other_schema)]
    with pytest.raises(SourceError) as raised:
        ingest(refs)
    message = str(raised.value)
    assert f"{tmp_path / 'missing.jsonl'}: cannot read it (FileNotFoundError" in message
    assert f"{binary}: cannot read it (UnicodeDecodeError" in message
    assert "unknown dataset 'nosuchdataset'" in message
    assert "no such file" in message and f"{empty}: no rows" in message
    assert f"{other_schema}: none of its 1 rows is usable (missing field 'question' x1)" in message
    assert f"{good}:" not in message.replace(f"nosuchdataset={good}", "")


def test_adapter_maps_columns_parquet_and_boxed_answers(tmp_path, write_jsonl):
    import pandas as pd

    frame = pd.DataFrame({
        "problem": ["Find x if 2x = 6.", "Compute 3 * 4."],
        "solution": ["So $x = \\boxed{3}$.", "It is \\boxed{\\frac{24}{2}}"],
        "source": ["amc_aime", "olympiads"],
        "messages": [[], []],
    })
    frame.to_parquet(tmp_path / "numina.parquet")
    result = ingest([f"numinamath={tmp_path / 'numina.parquet'}"])
    assert result.sources[0].dataset == "numinamath"
    assert [(q.id, q.answer, q.source, q.metadata) for q in result.questions] == [
        ("numinamath-0", "3", "numinamath", {"source": "amc_aime"}),
        ("numinamath-1", "\\frac{24}{2}", "numinamath", {"source": "olympiads"}),
    ]


def test_s1_59k_adapter_reads_trace_lists_and_numeric_answers(tmp_path, write_jsonl):
    path = write_jsonl(tmp_path / "s1.jsonl", [{
        "question": "Q?", "solution": "42", "cot_type": "math", "source_type": "qq8933/AIME_1983_2024",
        "metadata": "{}", "thinking_trajectories": ["think hard"], "attempt": "The answer is 42.",
    }])
    (question,) = ingest([f"s1_59k={path}"]).questions
    assert (question.thinking, question.answer, question.source) == ("think hard", "42", "qq8933/AIME_1983_2024")
    assert question.attempt == "The answer is 42."


def test_registry_holds_pool_sources_and_benchmarks():
    names = registry()
    assert {"pool", "s1_59k", "numinamath", "math", "gpqa", "aime", "aime24", "math500",
            "gpqa_diamond", "aime25", "theoremqa", "olympiadbench", "omnimath"} <= set(names)
    assert all(spec.fields.question for spec in names.values())


def test_eval_sets_that_cannot_be_read_or_yield_nothing_stop_the_run(tmp_path, write_jsonl):
    with pytest.raises(SourceError, match="cannot read eval set .*missing.jsonl"):
        read_eval_questions([str(tmp_path / "missing.jsonl")])
    empty = write_jsonl(tmp_path / "empty.jsonl", [])
    with pytest.raises(SourceError, match=f"eval set math500={empty} yields no questions: no rows"):
        read_eval_questions([f"math500={empty}"])
    wrong = write_jsonl(tmp_path / "wrong.jsonl", [{"question": "What is 1 + 1?"}])
    with pytest.raises(SourceError, match=r"aime24=.*wrong.jsonl yields no questions: none of "
                       r"its 1 rows is usable \(no question text in column 'problem' x1\)"):
        read_eval_questions([f"aime24={wrong}"])


def test_saved_dataset_folders_are_read(tmp_path):
    import datasets

    datasets.DatasetDict({"train": datasets.Dataset.from_list([GOOD])}).save_to_disk(str(tmp_path / "saved"))
    assert [q.id for q in ingest([str(tmp_path / "saved")]).questions] == ["g1"]
