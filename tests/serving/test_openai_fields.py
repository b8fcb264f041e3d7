"""What OpenAI clients send beyond s1's budget fields, through the official `openai` client against
a real `s1 serve` (transformers, tiny model): `stop`, `n`, `logprobs`/`top_logprobs`, completions
prompts without the think delimiter, `reasoning` beside `reasoning_content`; streaming and not."""

from __future__ import annotations

import httpx
import openai
import pytest

from s1.format import chat_prompt, generation_prompt, split_completion

# A real model in a real server: seconds per test.
pytestmark = pytest.mark.slow

QUESTION = "What is 7 * 6?"
MESSAGES = [{"role": "user", "content": QUESTION}]
# The random tiny model never ends thinking itself: the cap forces "Final Answer:" and the answer
# runs to max_tokens, so there is answer text to stop in.
BUDGET = {"max_thinking_tokens": 20, "num_ignore": 1}


@pytest.fixture(scope="module")
def client(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/openai/v1", api_key="unused", max_retries=0, timeout=120)


def chat(client: openai.OpenAI, **fields):
    return client.chat.completions.create(model="s1", messages=MESSAGES, max_tokens=40, extra_body=BUDGET, **fields)


def streamed(chunks) -> dict[int, dict]:
    """Per choice: reasoning, content, logprob entries and the last finish reason of a chat stream."""
    found: dict[int, dict] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            got = found.setdefault(choice.index, {"reasoning": "", "reasoning_content": "", "content": "",
                                                  "logprobs": [], "finish_reason": None, "stop_reason": None})
            got["reasoning"] += choice.delta.model_extra.get("reasoning") or ""
            got["reasoning_content"] += choice.delta.model_extra.get("reasoning_content") or ""
            got["content"] += choice.delta.content or ""
            got["logprobs"] += choice.logprobs.content if choice.logprobs else []
            if choice.finish_reason:
                got["finish_reason"] = choice.finish_reason
                got["stop_reason"] = choice.model_extra.get("stop_reason")
    return found


def reasoning(choice) -> str:
    extra = choice.message.model_extra
    assert extra["reasoning"] == extra["reasoning_content"], "vLLM's name and DeepSeek's carry the same text"
    return extra["reasoning"]


def test_stop_ends_the_answer_never_the_thinking(client) -> None:
    whole = chat(client).choices[0]
    thinking, answer = reasoning(whole), whole.message.content
    assert answer.startswith("Final Answer:") and len(answer) > 16
    in_answer = answer[13:16]
    in_thinking_only = next(thinking[i:i + 4] for i in range(len(thinking)) if thinking[i:i + 4] not in answer)
    stop = [in_thinking_only, in_answer]

    reply = chat(client, stop=stop)
    stopped = reply.choices[0]
    assert reasoning(stopped) == thinking, "a stop string in the thinking is ordinary text"
    assert stopped.message.content == answer[:answer.index(in_answer)].rstrip()
    assert (stopped.finish_reason, stopped.model_extra["stop_reason"]) == ("stop", in_answer)
    assert reply.usage.completion_tokens < chat(client).usage.completion_tokens, "generation ended at the stop"

    [got] = streamed(chat(client, stop=stop, stream=True)).values()
    assert (got["reasoning"], got["content"]) == (thinking, stopped.message.content)
    assert (got["finish_reason"], got["stop_reason"]) == ("stop", in_answer)


def test_n_samples_are_independent_budget_forced_and_seeded(client) -> None:
    sampled = {"temperature": 1.0, "seed": 11}
    reply = chat(client, n=2, **sampled)
    first, second = reply.choices
    assert [first.index, second.index] == [0, 1]
    assert reasoning(first) != reasoning(second) and first.message.content != second.message.content
    for choice in reply.choices:
        budget = choice.model_extra["budget"]
        assert budget["thinking_tokens"] <= 20 and budget["hit_cap"]
    again = chat(client, n=2, **sampled)
    assert [c.message.content for c in again.choices] == [c.message.content for c in reply.choices]
    one = chat(client, n=1, **sampled)
    assert one.choices[0].message.content == first.message.content, "sample 0 keeps the request's seed"
    assert reply.usage.prompt_tokens == one.usage.prompt_tokens, "the prompt is counted once"
    assert reply.usage.completion_tokens == 2 * 40

    got = streamed(chat(client, n=2, stream=True, **sampled))
    assert sorted(got) == [0, 1]
    for index, choice in enumerate(reply.choices):
        assert (got[index]["reasoning"], got[index]["content"]) == (reasoning(choice), choice.message.content)
        assert got[index]["reasoning_content"] == got[index]["reasoning"]


def test_chat_logprobs_cover_every_generated_token(client) -> None:
    reply = chat(client, logprobs=True, top_logprobs=3)
    choice = reply.choices[0]
    entries = choice.logprobs.content
    assert len(entries) == reply.usage.completion_tokens
    turn = split_completion("".join(entry.token for entry in entries))  # delimiters and forced tokens too
    assert (turn.thinking, turn.answer) == (reasoning(choice), choice.message.content)
    for entry in entries:
        tops = [top.logprob for top in entry.top_logprobs]
        assert len(tops) == 3 and tops == sorted(tops, reverse=True) and entry.logprob <= tops[0] + 1e-6
        assert entry.bytes == list(entry.token.encode())
    # Raw logprobs: greedy picks are the model's top token; forced ones (the answer delimiter) are not.
    top_picks = [abs(entry.logprob - entry.top_logprobs[0].logprob) < 1e-6 for entry in entries]
    assert sum(top_picks) > len(entries) / 2 and not all(top_picks)

    [got] = streamed(chat(client, logprobs=True, top_logprobs=3, stream=True)).values()
    assert [(e.token, e.logprob) for e in got["logprobs"]] == [(e.token, e.logprob) for e in entries]

    cut = chat(client, logprobs=True, stop=[choice.message.content[13:16]])
    assert len(cut.choices[0].logprobs.content) == cut.usage.completion_tokens < len(entries)


def test_completions_logprobs_and_prompts_without_the_think_delimiter(client) -> None:
    templated = client.completions.create(model="s1", prompt=chat_prompt(QUESTION), max_tokens=24, logprobs=2,
                                          extra_body={"max_thinking_tokens": 10})
    full = client.completions.create(model="s1", prompt=generation_prompt(QUESTION), max_tokens=24, logprobs=2,
                                     extra_body={"max_thinking_tokens": 10})
    assert (templated.choices[0].text, templated.choices[0].model_extra["reasoning"]) == (
        full.choices[0].text, full.choices[0].model_extra["reasoning"]), "the delimiter is appended"
    logprobs = full.choices[0].logprobs
    count = full.usage.completion_tokens
    assert len(logprobs.tokens) == len(logprobs.token_logprobs) == len(logprobs.top_logprobs) == count
    assert all(len(top) <= 2 for top in logprobs.top_logprobs)
    assert logprobs.text_offset == [sum(len(t) for t in logprobs.tokens[:i]) for i in range(count)]

    chunks = list(client.completions.create(model="s1", prompt=generation_prompt(QUESTION), max_tokens=24,
                                            logprobs=2, stream=True, extra_body={"max_thinking_tokens": 10}))
    streamed_tokens = [t for c in chunks for ch in c.choices if ch.logprobs for t in ch.logprobs.tokens]
    streamed_offsets = [o for c in chunks for ch in c.choices if ch.logprobs for o in ch.logprobs.text_offset]
    assert (streamed_tokens, streamed_offsets) == (logprobs.tokens, logprobs.text_offset)


@pytest.mark.parametrize(("route", "fields", "param"), [
    ("completions", {"echo": True}, "echo"),
    ("chat/completions", {"presence_penalty": 0.5}, "presence_penalty"),
    ("chat/completions", {"top_logprobs": 2}, "top_logprobs"),
    ("chat/completions", {"logprobs": True, "top_logprobs": 21}, "top_logprobs"),
    ("completions", {"logprobs": 21}, "logprobs"),
    ("chat/completions", {"stop": ""}, "stop"),
    ("chat/completions", {"stop": [str(i) for i in range(17)]}, "stop"),
    ("chat/completions", {"n": 0}, "n"),
], ids=["echo", "penalty", "top-without-logprobs", "too-many-top", "too-many-legacy", "empty-stop", "17-stops", "n-0"])
def test_what_is_still_unsupported_is_a_400_naming_the_field(server, route, fields, param) -> None:
    body = {"model": "s1", "max_tokens": 16, "max_thinking_tokens": 4, **fields}
    body.update({"prompt": generation_prompt(QUESTION)} if route == "completions" else {"messages": MESSAGES})
    response = httpx.post(f"{server.url}/openai/v1/{route}", json=body, timeout=60)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param and param in error["message"], error


def test_n_may_not_take_more_than_the_whole_queue(tight_server) -> None:
    """One request generating and one waiting: three samples at once are refused, not queued forever."""
    body = {"model": "tight", "messages": MESSAGES, "n": 3, "max_tokens": 16, "max_thinking_tokens": 4}
    response = httpx.post(f"{tight_server.url}/openai/v1/chat/completions", json=body, timeout=60)
    assert response.status_code == 400 and "3 generations (prompts × n)" in response.json()["error"]["message"]
