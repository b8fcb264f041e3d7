"""`s1 generate` end to end on the tiny model."""

from __future__ import annotations

import json

import pytest

from s1.cli import main


def test_json_prints_one_object_per_prompt(tiny_qwen_dir, capsys):
    code = main(["generate", "--model", str(tiny_qwen_dir), "--max-thinking-tokens", "7",
                 "--max-answer-tokens", "3", "--json", "What is 2+2?", "Name a prime."])
    assert code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["question"] for r in records] == ["What is 2+2?", "Name a prime."]
    for record in records:
        assert record["thinking_tokens"] == 7 and record["hit_cap"] is True
        assert record["num_waits"] == 0 and record["answer"].startswith("Final Answer:")
        assert {"thinking", "answer", "text", "answer_tokens", "closed"} <= set(record)


def test_stream_with_json_streams_to_stderr(tiny_qwen_dir, capsys):
    code = main(["generate", "--model", str(tiny_qwen_dir), "--max-thinking-tokens", "6",
                 "--max-answer-tokens", "2", "--stream", "--json", "hi"])
    assert code == 0
    captured = capsys.readouterr()
    record = json.loads(captured.out)
    assert "<|im_start|>answer" in captured.err
    assert record["text"] in captured.err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--max-thinking-tokens", "5", "--min-thinking-tokens", "6"], "exceeds max_thinking"),
        (["--max-thinking-tokens", "-3"], "max_thinking_tokens must be >= 0"),
        (["--max-thinking-tokens", "99999"], "does not fit the 32768-token context"),
    ],
)
def test_bad_budgets_exit_2_with_a_clear_message(tiny_qwen_dir, capsys, flags, message):
    assert main(["generate", "--model", str(tiny_qwen_dir), *flags, "hi"]) == 2
    assert message in capsys.readouterr().err
