"""The s1 format on the real Qwen2.5 tokenizer."""

from __future__ import annotations

import pytest

from s1 import format as fmt


def test_chat_prompt_equals_qwen25_chat_template(qwen_tokenizer):
    messages = [{"role": "user", "content": "What is 2+2?"}]
    rendered = qwen_tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert fmt.chat_prompt("What is 2+2?") == rendered


def test_training_text_is_s1_layout():
    text = fmt.training_text("Q?", "  step 1\nstep 2 ", "42")
    assert text.endswith(
        "<|im_start|>assistant\n<|im_start|>think\nstep 1\nstep 2\n<|im_start|>answer\nAnswer: 42<|im_end|>"
    )
    # "Answer: " is added only when missing.
    assert fmt.assistant_text("t", "Answer: 7").count("Answer:") == 1


@pytest.mark.parametrize(
    ("thinking", "answer"),
    [("Let x = 3.\nThen 2x = 6.", "6"), ("", "\\frac{1}{2}"), ("multi\n\nline", "Answer: (B)")],
)
def test_split_completion_round_trips_decoded_generation(qwen_tokenizer, thinking, answer):
    completion_text = fmt.assistant_text(thinking, answer)
    ids = qwen_tokenizer.encode(completion_text, add_special_tokens=False)
    decoded = qwen_tokenizer.decode(ids, skip_special_tokens=False)
    parts = fmt.split_completion(decoded)
    assert parts.closed
    assert parts.thinking == thinking.strip()
    assert parts.answer == fmt.with_answer_prefix(answer)


def test_split_completion_without_answer_delimiter_is_unclosed():
    parts = fmt.split_completion("\nI keep thinking and never stop<|im_end|>")
    assert not parts.closed
    assert parts.thinking == "I keep thinking and never stop"
    assert parts.answer == ""


def test_delimiter_ids_on_qwen(qwen_tokenizer):
    ids = fmt.delimiter_ids(qwen_tokenizer)
    assert ids.im_start == 151644 and ids.im_end == 151645
    assert ids.end_of_thinking == 151644
    assert ids.think[0] == 151644 and ids.answer[0] == 151644
    assert qwen_tokenizer.decode(list(ids.answer)) == "<|im_start|>answer"
    assert set(ids.stop) == {151645, 151643}


def test_delimiter_ids_rejects_non_chatml_tokenizer(qwen_tokenizer):
    class NoChatML:
        def convert_tokens_to_ids(self, token):
            return None

        def encode(self, text, add_special_tokens=False):
            return [1, 2, 3]

    with pytest.raises(ValueError, match="ChatML"):
        fmt.delimiter_ids(NoChatML())


def test_loss_mask_covers_exactly_thinking_and_answer(qwen_tokenizer):
    question, thinking, answer = "Compute 17*3.", "17*3 = 51.", "51"
    example = fmt.tokenize_sft_example(qwen_tokenizer, question, thinking, answer)
    whole = qwen_tokenizer.encode(fmt.training_text(question, thinking, answer), add_special_tokens=False)
    assert example.input_ids == whole
    supervised = [t for t, label in zip(example.input_ids, example.labels) if label != fmt.IGNORE_INDEX]
    assert qwen_tokenizer.decode(supervised) == fmt.assistant_text(thinking, answer)
    prompt = [t for t, label in zip(example.input_ids, example.labels) if label == fmt.IGNORE_INDEX]
    assert qwen_tokenizer.decode(prompt) == fmt.chat_prompt(question)
    # The supervised span is one contiguous suffix that ends with <|im_end|>.
    first = example.labels.index(next(l for l in example.labels if l != fmt.IGNORE_INDEX))
    assert all(label != fmt.IGNORE_INDEX for label in example.labels[first:])
    assert example.labels[-1] == 151645


def test_conversation_prompt_extends_the_single_question_prompt(qwen_tokenizer):
    assert fmt.conversation_prompt([("user", "Q?")]) == fmt.generation_prompt("Q?")
    assert fmt.conversation_prompt([("system", "Be brief."), ("user", "Q?")]) == fmt.generation_prompt(
        "Q?", system="Be brief."
    )
    turns = [("system", "Be brief."), ("user", "2+2?"), ("assistant", "Answer: 4"), ("user", "And 3+3?")]
    messages = [{"role": role, "content": content} for role, content in turns]
    rendered = qwen_tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert fmt.conversation_prompt(turns) == rendered + fmt.THINK_DELIMITER


@pytest.mark.parametrize(
    ("turns", "message"),
    [
        ([], "end with a 'user'"),
        ([("user", "a"), ("assistant", "b")], "end with a 'user'"),
        ([("user", "a"), ("system", "b"), ("user", "c")], "'system'"),
        ([("tool", "a"), ("user", "b")], "'tool'"),
    ],
)
def test_conversation_prompt_rejects_bad_turns(turns, message):
    with pytest.raises(ValueError, match=message):
        fmt.conversation_prompt(turns)
