"""The stock-server flags as data: importable without vLLM, and the chat template is s1's prompt."""

from __future__ import annotations

import subprocess
import sys

import pytest

from s1 import vllm_plugin
from s1.format import chat_template, conversation_prompt

CONVERSATIONS = [
    [("user", "What is 2+2?")],
    [("system", "Be brief."), ("user", "hi"), ("assistant", "Answer: 4"), ("user", "and 3+3?")],
    [("user", "it's a \\ 'quote'\non two lines {{ not jinja }}")],
]


def test_the_flags_module_imports_neither_vllm_nor_torch() -> None:
    code = ("import sys, s1.vllm_plugin as p; p.stock_server_args(); "
            "print(sorted(m for m in ('vllm', 'torch', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_stock_server_args_name_the_processor_parser_and_template() -> None:
    args = vllm_plugin.stock_server_args()
    flags = dict(zip(args[::2], args[1::2]))
    assert flags == {
        "--logits-processors": vllm_plugin.LOGITS_PROCESSORS,
        "--reasoning-parser-plugin": vllm_plugin.REASONING_PARSER_PLUGIN,
        "--reasoning-parser": vllm_plugin.REASONING_PARSER,
        "--chat-template": chat_template(),
    }
    module, _, name = vllm_plugin.LOGITS_PROCESSORS.partition(":")
    assert module and name and "." not in name  # vLLM's MODULE:CLASS form


@pytest.mark.parametrize("turns", CONVERSATIONS, ids=["one-turn", "history", "quotes"])
def test_the_chat_template_renders_s1s_prompt(qwen_tokenizer, turns) -> None:
    messages = [{"role": role, "content": content} for role, content in turns]
    rendered = qwen_tokenizer.apply_chat_template(messages, chat_template=chat_template(), tokenize=False,
                                                  add_generation_prompt=True)
    assert rendered == conversation_prompt(turns)


@pytest.mark.parametrize("messages, problem", [
    ([{"role": "tool", "content": "x"}], "only 'user' and 'assistant'"),
    ([{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}], "end with a 'user' turn"),
])
def test_the_chat_template_refuses_what_s1_cannot_prompt(qwen_tokenizer, messages, problem) -> None:
    with pytest.raises(Exception, match=problem):
        qwen_tokenizer.apply_chat_template(messages, chat_template=chat_template(), tokenize=False,
                                           add_generation_prompt=True)
