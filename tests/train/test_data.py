import json
from pathlib import Path

import pytest

from s1.format import IGNORE_INDEX, IM_END, assistant_text
from s1.train.data import TrainingDataError, read_examples, tokenize_examples
from tests.train.conftest import training_rows, write_rows


def test_loss_covers_exactly_thinking_answer_and_im_end(qwen_tokenizer):
    row = training_rows(1)[0]
    [example] = tokenize_examples(qwen_tokenizer, [row], block_size=4096, overlong="drop").examples
    targets = [token for token, label in zip(example.input_ids, example.labels) if label != IGNORE_INDEX]
    assert qwen_tokenizer.decode(targets) == assistant_text(row["thinking"], row["answer"])
    assert qwen_tokenizer.decode(targets[-1:]) == IM_END
    first = example.labels.index(targets[0])
    assert all(label == IGNORE_INDEX for label in example.labels[:first])


def test_overlong_examples_are_truncated_or_dropped_and_counted(qwen_tokenizer):
    rows = training_rows(6)
    rows[2]["thinking"] = "long " * 400
    rows[4]["thinking"] = "long " * 400
    cut = tokenize_examples(qwen_tokenizer, rows, block_size=256, overlong="truncate")
    assert (cut.truncated, cut.dropped, len(cut.examples)) == (2, 0, 6)
    assert max(len(example.input_ids) for example in cut.examples) == 256
    dropped = tokenize_examples(qwen_tokenizer, rows, block_size=256, overlong="drop")
    assert (dropped.truncated, dropped.dropped, len(dropped.examples)) == (0, 2, 4)
    assert "q2" not in dropped.ids and dropped.report()["dropped_overlong"] == 2


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "no training examples"),
        ('{"id": "a", "question": "q", "thinking": "t", "answer": "1"}\n{not json\n', r"selected.jsonl:2: not valid JSON"),
        ('{"id": "a", "question": "q", "thinking": "t"}\n', r":1: field 'answer' must be a string, got NoneType"),
        ('{"id": "a", "question": "q", "thinking": "  ", "answer": "1"}\n', r":1: field 'thinking' is empty"),
        ('[1, 2]\n', "expected a JSON object"),
        ('{"id": "a", "question": "q", "thinking": "t", "answer": "1"}\n' * 2, r":2: duplicate id 'a' \(first on line 1\)"),
    ],
)
def test_bad_datasets_name_the_row_and_reason(tmp_path: Path, content: str, message: str):
    (tmp_path / "selected.jsonl").write_text(content)
    with pytest.raises(TrainingDataError, match=message):
        read_examples(tmp_path)


def test_missing_data_and_nothing_usable(tmp_path: Path, qwen_tokenizer):
    with pytest.raises(TrainingDataError, match="not found"):
        read_examples(tmp_path / "absent")
    rows = read_examples(write_rows(tmp_path / "x.jsonl", training_rows(3)))
    with pytest.raises(TrainingDataError, match="no usable examples: 3 read, 3 longer"):
        tokenize_examples(qwen_tokenizer, rows, block_size=16, overlong="drop")


def test_cli_rejects_bad_data_before_any_process_starts(tmp_path: Path, tiny_qwen_dir: Path, capsys):
    from s1.cli import main

    (tmp_path / "selected.jsonl").write_text(json.dumps({"id": "a", "question": "q"}) + "\n")
    code = main(["train", "--recipe", "tiny-qwen", "--data", str(tmp_path), "--out", str(tmp_path / "out"),
                 "--launcher", "local", "--nproc-per-node", "2", "--set", f"model={tiny_qwen_dir}"])
    assert code == 2
    assert "selected.jsonl:1: field 'thinking'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
