"""s1's think/answer format as a vLLM reasoning parser (registered as `s1.vllm_plugin.REASONING_PARSER`).

Usage: vllm serve MODEL --reasoning-parser-plugin s1.vllm_plugin.reasoning --reasoning-parser s1

A chat prompt in s1's format ends with the think marker (`s1.format.chat_template()`), so the
model's output is `{thinking}` + answer delimiter + `{answer}`:

    \\n{thinking}\\n<|im_start|>answer\\n{answer}

The parser splits it as `s1.format.split_completion` does: the thinking, without the newlines
that belong to the delimiters, goes to `message.reasoning` (`delta.reasoning` when streaming),
the answer (after the delimiter's newline) to `content`; an output that never reaches the answer
delimiter is all thinking.
Because `<|im_start|>` is a special token, the parser asks vLLM to keep special tokens in the
text (`adjust_request`). Streaming gives exactly the non-streaming split: each delta is what
the split of the text so far adds to the split of the text before it, holding back a tail that
may still turn out to be part of the delimiter.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from vllm.entrypoints.generate.base.protocol import DeltaMessage
from vllm.reasoning import ReasoningParser, ReasoningParserManager

from s1.format import ANSWER_DELIMITER, delimiter_ids
from s1.vllm_plugin import REASONING_PARSER

# Tails of the thinking that may still become the answer delimiter (its leading newline is the
# delimiter's, not the thinking's).
_DELIMITER_STARTS = ("\n" + ANSWER_DELIMITER + "\n", ANSWER_DELIMITER + "\n")


def split(text: str) -> tuple[str, str]:
    """(thinking, answer) of the output so far; each only grows as the text grows."""
    start = text.find(ANSWER_DELIMITER)
    if start < 0:
        return _strip_leading_newline(_without_partial_delimiter(text)), ""
    thinking = _strip_leading_newline(text[:start])
    thinking = thinking[:-1] if thinking.endswith("\n") else thinking
    return thinking, _strip_leading_newline(text[start + len(ANSWER_DELIMITER):])


def _strip_leading_newline(text: str) -> str:
    return text[1:] if text.startswith("\n") else text


def _without_partial_delimiter(text: str) -> str:
    """`text` less its longest tail that begins the answer delimiter."""
    for size in range(min(len(_DELIMITER_STARTS[0]), len(text)), 0, -1):
        if any(start.startswith(text[-size:]) for start in _DELIMITER_STARTS):
            return text[:-size]
    return text


@ReasoningParserManager.register_module(REASONING_PARSER)
class S1ReasoningParser(ReasoningParser):
    """Thinking before `<|im_start|>answer`, answer after it (stateless: vLLM's engine shares
    one instance across requests for structured outputs)."""

    def __init__(self, tokenizer, *args, **kwargs):
        super().__init__(tokenizer, *args, **kwargs)
        delimiters = delimiter_ids(tokenizer)
        self._im_start = delimiters.im_start
        self._think = delimiters.think  # <|im_start|> + "think"
        self._answer = delimiters.answer  # <|im_start|> + "answer"
        self._end = delimiters.answer + delimiters.newline  # then the answer starts

    def adjust_request(self, request):
        request.skip_special_tokens = False  # `<|im_start|>` delimits the answer
        return request

    def is_reasoning_end(self, input_ids: Sequence[int]) -> bool:
        """Whether the last block the ids open is not the thinking: a prompt ending in s1's think
        marker, or an output before its answer delimiter, is still thinking; any other chat
        prompt (no think marker) has nothing to think."""
        for index in range(len(input_ids) - 1, -1, -1):
            if input_ids[index] == self._im_start:
                opened = tuple(input_ids[index:])
                unfinished = any(marker[:len(opened)] == opened for marker in (self._think, self._answer))
                return not (opened[:len(self._think)] == self._think or unfinished)
        return False

    def is_reasoning_end_streaming(self, input_ids: Sequence[int], delta_ids: Iterable[int]) -> bool:
        """The answer delimiter (with its newline) completes within the newest tokens."""
        tail = list(input_ids[-(len(list(delta_ids)) + len(self._end) - 1):])
        return _find(tail, self._end) >= 0

    def extract_content_ids(self, input_ids: list[int]) -> list[int]:
        end = _find(input_ids, self._end)
        return [] if end < 0 else input_ids[end + len(self._end):]

    def count_reasoning_tokens(self, token_ids: Sequence[int]) -> int:
        """Tokens before the answer delimiter (all of them when thinking never ended)."""
        end = _find(list(token_ids), self._answer)
        return len(token_ids) if end < 0 else end

    def extract_reasoning(self, model_output: str, request) -> tuple[str | None, str | None]:
        thinking, answer = split(model_output)
        return thinking, answer or None

    def extract_reasoning_streaming(self, previous_text: str, current_text: str, delta_text: str,
                                    previous_token_ids: Sequence[int], current_token_ids: Sequence[int],
                                    delta_token_ids: Sequence[int]) -> DeltaMessage | None:
        (thinking_before, answer_before), (thinking, answer) = split(previous_text), split(current_text)
        reasoning, content = thinking[len(thinking_before):], answer[len(answer_before):]
        if not reasoning and not content:
            return None
        return DeltaMessage(reasoning=reasoning or None, content=content or None)


def _find(ids: Sequence[int], marker: Sequence[int]) -> int:
    """Index of the first occurrence of `marker` in `ids`, or -1."""
    first, size = marker[0], len(marker)
    for index, token in enumerate(ids):
        if token == first and tuple(ids[index:index + size]) == tuple(marker):
            return index
    return -1
