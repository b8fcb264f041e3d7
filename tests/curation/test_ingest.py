"""Ingestion: adapters map sources onto the schema; every bad row is named, counted, never fatal."""

from __future__ import annotations

import pytest

from s1.curation.ingest import available_adapters, ingest, last_boxed, load_adapter, read_eval_questions

GOOD = {"id": "g1", "source": "s", "question": "What is 2 + 2?", "answer": "4", "thinking": "2+2=4"}


def test_bad_rows_are_dropped_with_row_and_reason(tmp_path, write_jsonl):
    path = write_jsonl(tmp_path / "pool.jsonl", [
        GOOD,
        {**GOOD, "id": "g2", "question": 7},
        {**GOOD, "id": "g3", "question": "   "},
        {k: v for k, v in GOOD.items() if k != "question"} | {"id": "g4"},
        {**GOOD, "id": "g5", "answer": None},
        {**GOOD, "id": "g1", "question": "A different question with a reused id?"},
        {**GOOD, "id": "g6", "thinking": ["not", "a", "string"]},
        {**GOOD, "id": 17},
        "{not json",
        "[1, 2]",
    ])
    result = ingest([str(path)])
    assert [q.id for q in result.questions] == ["g1", "17"]
    details = {d.id: (d.reason, d.detail) for d in result.drops}
    assert details["g2"][0] == "field 'question' is int, not a string"
    assert details["g3"][0] == "empty question"
    assert details["g4"][0] == "missing field 'question'"
    assert details["g5"][0] == "missing reference answer"
    assert details["g6"][0] == "field 'thinking' is list, not a string"
    assert [d for d in result.drops if d.reason == "duplicate id"][0].detail == (
        f"{path}:6: id 'g1' already read at {path}:1")
    assert details[f"{path}:9"][0] == "invalid JSON"
    assert details[f"{path}:10"] == ("row is a list, not an object", f"{path}:10: row is a list, not an object")
    assert f"{path}:3" in details["g3"][1]  # the message names the file and line
    assert result.sources[0].rows == 10 and result.sources[0].kept == 2
    assert len(result.questions) + len(result.drops) == 10  # nothing silently lost


def test_unreadable_sources_are_reported_and_others_still_load(tmp_path, write_jsonl):
    good = write_jsonl(tmp_path / "good.jsonl", [GOOD])
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    result = ingest([str(tmp_path / "missing.jsonl"), str(binary), str(good),
                     f"nosuchadapter={good}", f"numinamath={tmp_path / 'missing.parquet'}"])
    assert [q.id for q in result.questions] == ["g1"]
    errors = {s.spec: s.error for s in result.sources}
    assert "FileNotFoundError" in errors[str(tmp_path / "missing.jsonl")]
    assert "UnicodeDecodeError" in errors[str(binary)]
    assert "unknown source adapter 'nosuchadapter'" in errors[f"nosuchadapter={good}"]
    assert "no such file" in errors[f"numinamath={tmp_path / 'missing.parquet'}"]
    assert sum(d.reason == "unreadable source" for d in result.drops) == 4


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


def test_shipped_adapters_all_load():
    names = available_adapters()
    assert {"pool", "s1_59k", "numinamath", "math", "gpqa", "aime", "aime24", "math500"} <= set(names)
    for name in names:
        assert load_adapter(name).fields["question"]


def test_last_boxed_handles_nested_braces():
    assert last_boxed("a \\boxed{1} b \\boxed{\\frac{1}{2}}") == "\\frac{1}{2}"
    assert last_boxed("no box") is None


def test_unreadable_eval_set_stops_the_run(tmp_path, write_jsonl):
    with pytest.raises(ValueError, match="cannot read eval set"):
        read_eval_questions([str(tmp_path / "missing.jsonl")])


def test_saved_dataset_folders_are_read(tmp_path):
    import datasets

    datasets.DatasetDict({"train": datasets.Dataset.from_list([GOOD])}).save_to_disk(str(tmp_path / "saved"))
    assert [q.id for q in ingest([str(tmp_path / "saved")]).questions] == ["g1"]
