"""The s1 chat/think format, defined once.

s1 trains and decodes ChatML with Qwen2.5's default system prompt; the assistant turn is

    <|im_start|>think\n{thinking}\n<|im_start|>answer\nAnswer: {answer}<|im_end|>

where ``think`` and ``answer`` are plain text after the special token ``<|im_start|>``.
Training (loss mask), budget forcing (delimiter ids), evaluation (splitting a completion) and
serving (``reasoning_content``) all read the strings and ids from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

SYSTEM_PROMPT = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
THINK_DELIMITER = IM_START + "think"
ANSWER_DELIMITER = IM_START + "answer"
ANSWER_PREFIX = "Answer: "
# s1 appends this after forcing the answer delimiter when the thinking budget ran out.
FINAL_ANSWER_PREFIX = "Final Answer:"
# s1 pads with a token that never occurs in text, so padding can never be confused with EOS.
PAD_TOKEN = "<|fim_pad|>"
# Qwen2.5's default stop tokens besides <|im_end|>.
END_OF_TEXT = "<|endoftext|>"
# Either ends an assistant turn in decoded text.
TURN_STOPS = (IM_END, END_OF_TEXT)
IGNORE_INDEX = -100


class Tokenizer(Protocol):
    """The slice of a Hugging Face tokenizer the format needs."""

    def encode(self, text: str, add_special_tokens: bool = ...) -> list[int]: ...

    def convert_tokens_to_ids(self, tokens: str) -> int | None: ...


def _turn(role: str, content: str) -> str:
    return f"{IM_START}{role}\n{content}{IM_END}\n"


def chat_prompt(question: str, system: str = SYSTEM_PROMPT) -> str:
    """ChatML up to and including the assistant header; equals Qwen2.5's chat template output."""
    return _turn("system", system) + _turn("user", question) + f"{IM_START}assistant\n"


def conversation_prompt(turns: Sequence[tuple[str, str]]) -> str:
    """The decoding prompt for a conversation of ``(role, content)`` turns.

    An optional first ``system`` turn (else s1's default), then ``user``/``assistant`` turns ending
    with ``user``. Earlier assistant turns carry their visible text only, as reasoning servers
    keep previous thinking out of the context. One user turn gives `generation_prompt`.
    """
    turns = list(turns)
    system = turns.pop(0)[1] if turns and turns[0][0] == "system" else SYSTEM_PROMPT
    if not turns or turns[-1][0] != "user":
        raise ValueError("a conversation must end with a 'user' turn")
    for role, _ in turns:
        if role not in ("user", "assistant"):
            raise ValueError(f"turn role {role!r}: after an optional first 'system' turn, only "
                             "'user' and 'assistant' turns are allowed")
    history = "".join(_turn(role, content) for role, content in turns[:-1])
    return _turn("system", system) + history + _turn("user", turns[-1][1]) + (
        f"{IM_START}assistant\n{THINK_DELIMITER}"
    )


def generation_prompt(question: str, system: str = SYSTEM_PROMPT) -> str:
    """The prompt s1 decodes from: the chat prompt followed by the think delimiter."""
    return chat_prompt(question, system) + THINK_DELIMITER


def chat_template() -> str:
    """`conversation_prompt` as a Jinja chat template (Hugging Face / vLLM `--chat-template`), on
    one line: servers that render chat requests themselves then decode from s1's prompt."""

    def text(value: str) -> str:  # a Jinja string literal
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"

    start, end = text(IM_START), text(IM_END + "\n")
    return (
        "{%- if messages and messages[0]['role'] == 'system' %}"
        "{%- set system = messages[0]['content'] %}{%- set turns = messages[1:] %}"
        f"{{%- else %}}{{%- set system = {text(SYSTEM_PROMPT)} %}}{{%- set turns = messages %}}"
        "{%- endif %}"
        f"{{{{ {start} + 'system\\n' + system + {end} }}}}"
        "{%- for message in turns %}"
        "{%- if message['role'] not in ['user', 'assistant'] %}"
        "{{ raise_exception(\"after an optional first 'system' turn, only 'user' and "
        "'assistant' turns are allowed\") }}{%- endif %}"
        f"{{{{ {start} + message['role'] + '\\n' + message['content'] + {end} }}}}"
        "{%- endfor %}"
        "{%- if add_generation_prompt %}"
        "{%- if not turns or turns[-1]['role'] != 'user' %}"
        "{{ raise_exception(\"a conversation must end with a 'user' turn\") }}{%- endif %}"
        f"{{{{ {start} + 'assistant\\n' + {text(THINK_DELIMITER)} }}}}"
        "{%- endif %}"
    )


def with_answer_prefix(answer: str) -> str:
    """s1 prepends "Answer: " unless the answer already starts with it."""
    answer = answer.strip()
    return answer if answer.startswith(ANSWER_PREFIX.strip()) else ANSWER_PREFIX + answer


def assistant_text(thinking: str, answer: str) -> str:
    """The assistant turn s1 trains on: thinking, answer delimiter, answer, end of turn."""
    return (
        f"{THINK_DELIMITER}\n{thinking.strip()}\n{ANSWER_DELIMITER}\n"
        f"{with_answer_prefix(answer)}{IM_END}"
    )


def training_text(question: str, thinking: str, answer: str, system: str = SYSTEM_PROMPT) -> str:
    """Full training sequence: prompt (no loss) + assistant turn (loss)."""
    return chat_prompt(question, system) + assistant_text(thinking, answer)


@dataclass(frozen=True)
class Completion:
    """A generated assistant turn split back into its parts."""

    thinking: str
    answer: str
    # False when the model never emitted the answer delimiter (thinking never closed).
    closed: bool


def split_completion(text: str) -> Completion:
    """Split what follows the prompt (with or without the leading think delimiter).

    Accepts the text as decoded with special tokens kept. Everything before the first answer
    delimiter is thinking; the answer runs to ``<|im_end|>`` (or the end of the text).
    """
    if text.startswith(THINK_DELIMITER):
        text = text[len(THINK_DELIMITER):]
    head, sep, tail = text.partition(ANSWER_DELIMITER)
    thinking = head.strip()
    if not sep:
        return Completion(thinking=_strip_end(thinking), answer="", closed=False)
    return Completion(thinking=thinking, answer=_strip_end(tail).strip(), closed=True)


def _strip_end(text: str) -> str:
    for stop in TURN_STOPS:
        text = text.split(stop, 1)[0]
    return text


@dataclass(frozen=True)
class Delimiters:
    """Token ids of the format's delimiters for one tokenizer."""

    im_start: int
    im_end: int
    think: tuple[int, ...]  # "<|im_start|>think"
    answer: tuple[int, ...]  # "<|im_start|>answer"
    newline: tuple[int, ...]  # "\n"
    # Tokens that end generation of the whole turn.
    stop: tuple[int, ...]

    @property
    def end_of_thinking(self) -> int:
        """s1 ends a thinking segment when the model opens any new block with <|im_start|>."""
        return self.im_start


def delimiter_ids(tokenizer: Tokenizer) -> Delimiters:
    """Resolve the delimiter ids; fails clearly for tokenizers without ChatML special tokens."""
    ids = {}
    for token in (IM_START, IM_END):
        token_id = tokenizer.convert_tokens_to_ids(token)
        encoded = tokenizer.encode(token, add_special_tokens=False)
        if token_id is None or encoded != [token_id]:
            raise ValueError(
                f"tokenizer has no single special token {token!r}; the s1 format needs a "
                "ChatML tokenizer (Qwen2.5, SmolLM2, ...)"
            )
        ids[token] = token_id
    stop = [ids[IM_END]]
    eot = tokenizer.convert_tokens_to_ids(END_OF_TEXT)
    if eot is not None and tokenizer.encode(END_OF_TEXT, add_special_tokens=False) == [eot]:
        stop.append(eot)
    return Delimiters(
        im_start=ids[IM_START],
        im_end=ids[IM_END],
        think=tuple(tokenizer.encode(THINK_DELIMITER, add_special_tokens=False)),
        answer=tuple(tokenizer.encode(ANSWER_DELIMITER, add_special_tokens=False)),
        newline=tuple(tokenizer.encode("\n", add_special_tokens=False)),
        stop=tuple(stop),
    )


@dataclass(frozen=True)
class SFTExample:
    """Token ids of one training example and its labels (IGNORE_INDEX on the prompt)."""

    input_ids: list[int]
    labels: list[int]

    @property
    def num_loss_tokens(self) -> int:
        return sum(label != IGNORE_INDEX for label in self.labels)


def tokenize_sft_example(
    tokenizer: Tokenizer,
    question: str,
    thinking: str,
    answer: str,
    system: str = SYSTEM_PROMPT,
) -> SFTExample:
    """Tokenize prompt and assistant turn separately so the loss boundary is exact.

    The prompt ends with a newline and the assistant turn starts with a special token, so the
    concatenation equals tokenizing the whole training text (tests check this).
    """
    prompt_ids = tokenizer.encode(chat_prompt(question, system), add_special_tokens=False)
    target_ids = tokenizer.encode(assistant_text(thinking, answer), add_special_tokens=False)
    return SFTExample(
        input_ids=list(prompt_ids) + list(target_ids),
        labels=[IGNORE_INDEX] * len(prompt_ids) + list(target_ids),
    )


def count_tokens(tokenizer: Tokenizer, texts: Sequence[str]) -> list[int]:
    """Token counts without special tokens (trace length is a difficulty signal)."""
    return [len(tokenizer.encode(text, add_special_tokens=False)) for text in texts]
