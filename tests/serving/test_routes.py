"""KServe V1/V2 and OpenAI routes of a real `s1 serve` over HTTP, with budget forcing."""

from __future__ import annotations

import json
import time

import httpx
import openai
import pytest

from s1.format import generation_prompt

# A real model in a real server: seconds per test.
pytestmark = pytest.mark.slow

QUESTION = "What is 7 * 6?"


def test_health_readiness_and_metrics(server) -> None:
    assert httpx.get(f"{server.url}/v2/health/live").status_code == 200
    assert httpx.get(f"{server.url}/v2/health/ready").json() == {"ready": True}
    assert httpx.get(f"{server.url}/v1/models/s1").json() == {"name": "s1", "ready": True}
    text = httpx.get(f"{server.url}/metrics").text
    assert "s1_requests_running" in text and "request_predict_seconds" in text


def test_v1_predict_respects_the_thinking_budget(server) -> None:
    body = {"instances": [
        {"question": QUESTION, "max_thinking_tokens": 12, "max_answer_tokens": 5},
        {"prompt": generation_prompt(QUESTION), "max_thinking_tokens": 3, "max_answer_tokens": 5},
    ]}
    response = httpx.post(f"{server.url}/v1/models/s1:predict", json=body, timeout=120)
    assert response.status_code == 200, response.text
    first, second = response.json()["predictions"]
    assert first["thinking_tokens"] <= 12 and second["thinking_tokens"] <= 3
    # The random tiny model never closes thinking itself: the cap forces the answer section.
    assert first["hit_cap"] and first["closed"] and first["answer"].startswith("Final Answer:")
    assert first["prompt_tokens"] == second["prompt_tokens"]  # the same prompt, two ways
    assert first["thinking"].startswith(second["thinking"])  # greedy: same start, longer budget


def test_v2_infer(server) -> None:
    body = {
        "inputs": [{"name": "question", "shape": [2], "datatype": "BYTES", "data": [QUESTION, "2+2?"]}],
        "parameters": {"max_thinking_tokens": 6, "max_answer_tokens": 3},
    }
    response = httpx.post(f"{server.url}/v2/models/s1/infer", json=body, timeout=120)
    assert response.status_code == 200, response.text
    outputs = {o["name"]: o["data"] for o in response.json()["outputs"]}
    assert all(count <= 6 for count in outputs["thinking_tokens"])
    assert len(outputs["answer"]) == 2 and outputs["hit_cap"] == [True, True]


@pytest.fixture(scope="module")
def client(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/openai/v1", api_key="unused", max_retries=0, timeout=120)


BUDGET = {"max_thinking_tokens": 20, "min_thinking_tokens": 4, "num_ignore": 1}


def test_multi_turn_chat_counts_the_whole_conversation(client) -> None:
    """Earlier turns are part of the prompt: the conversation costs more prompt tokens."""
    single = client.chat.completions.create(
        model="s1", messages=[{"role": "user", "content": QUESTION}], max_tokens=40, extra_body=BUDGET
    )
    conversation = [
        {"role": "user", "content": "What is 1+1?"},
        {"role": "assistant", "content": "Answer: 2"},
        {"role": "user", "content": QUESTION},
    ]
    multi = client.chat.completions.create(model="s1", messages=conversation, max_tokens=40, extra_body=BUDGET)
    assert multi.choices[0].model_extra["budget"]["thinking_tokens"] <= 20
    assert multi.usage.prompt_tokens > single.usage.prompt_tokens + 8


def test_chat_streaming_matches_non_streaming(client) -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": QUESTION}]
    whole = client.chat.completions.create(model="s1", messages=messages, max_tokens=40, extra_body=BUDGET)
    message = whole.choices[0].message
    reasoning = message.model_extra["reasoning_content"]
    assert whole.choices[0].model_extra["budget"]["thinking_tokens"] <= 20
    assert whole.usage.completion_tokens_details.reasoning_tokens <= 20
    assert whole.usage.total_tokens == whole.usage.prompt_tokens + whole.usage.completion_tokens

    chunks = list(client.chat.completions.create(
        model="s1", messages=messages, max_tokens=40, stream=True,
        stream_options={"include_usage": True}, extra_body=BUDGET,
    ))
    streamed_reasoning = "".join(
        c.choices[0].delta.model_extra.get("reasoning_content") or "" for c in chunks if c.choices
    )
    streamed_content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed_reasoning == reasoning and reasoning
    assert streamed_content == message.content
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == whole.choices[0].finish_reason


def test_completions_streaming_matches_non_streaming(client) -> None:
    prompt = generation_prompt(QUESTION)
    whole = client.completions.create(model="s1", prompt=prompt, max_tokens=24, extra_body={"max_thinking_tokens": 10})
    assert whole.choices[0].model_extra["budget"]["thinking_tokens"] <= 10
    chunks = list(client.completions.create(
        model="s1", prompt=prompt, max_tokens=24, stream=True, extra_body={"max_thinking_tokens": 10}
    ))
    assert "".join(c.choices[0].text for c in chunks if c.choices) == whole.choices[0].text
    assert "".join(c.choices[0].model_extra.get("reasoning_content") or "" for c in chunks if c.choices) == (
        whole.choices[0].model_extra["reasoning_content"]
    )
    two = client.completions.create(model="s1", prompt=[prompt, generation_prompt("2+2?")], max_tokens=16,
                                    extra_body={"max_thinking_tokens": 3})
    assert [c.index for c in two.choices] == [0, 1]
    listed = client.models.list()
    assert [m.id for m in listed.data] == ["s1"]


def test_raw_sse_framing(server) -> None:
    body = {"model": "s1", "messages": [{"role": "user", "content": QUESTION}], "stream": True,
            "max_thinking_tokens": 3, "max_tokens": 16}
    with httpx.stream("POST", f"{server.url}/openai/v1/chat/completions", json=body, timeout=60) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"
    assert json.loads(lines[0][6:])["choices"][0]["delta"]["role"] == "assistant"


def test_max_tokens_bounds_the_whole_completion(client) -> None:
    """OpenAI semantics: max_tokens counts reasoning too. Without a thinking budget the tiny
    model would think to the end of its 32K window; the bound caps thinking so that the answer
    still fits, and the request returns in seconds."""
    started = time.monotonic()
    reply = client.chat.completions.create(model="s1", messages=[{"role": "user", "content": QUESTION}],
                                           max_tokens=64)
    assert time.monotonic() - started < 60
    assert reply.usage.completion_tokens <= 64 and reply.choices[0].message.content.strip()
    assert reply.choices[0].finish_reason == "length"  # the random model never stops by itself
    same = client.chat.completions.create(model="s1", messages=[{"role": "user", "content": QUESTION}],
                                          max_completion_tokens=64)
    assert same.choices[0].message.content == reply.choices[0].message.content


def test_unseeded_samples_differ_and_seeds_repeat(client) -> None:
    def sample(**seed) -> str:
        reply = client.chat.completions.create(model="s1", messages=[{"role": "user", "content": QUESTION}],
                                               max_tokens=24, temperature=1.0, **seed)
        return reply.choices[0].message.model_extra["reasoning_content"]

    assert sample() != sample()
    assert sample(seed=3) == sample(seed=3)
