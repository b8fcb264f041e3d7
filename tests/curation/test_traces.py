"""Teacher traces: cached as they finish, so a killed run restarts without repeating a call."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from s1.curation.cache import CallCache
from s1.curation.calls import Calls, FailurePolicy, RoleFailed
from s1.curation.client import ChatResult, OpenAIChatClient
from s1.curation.config import EndpointConfig
from s1.curation.records import Question
from s1.curation.traces import add_teacher_traces
from tests.curation.interrupt import kill_once_cached


def _teacher_reply(model: str, prompt: str) -> dict:
    return {"reasoning": f"thinking about {prompt}", "content": f"Answer for {prompt}"}


@pytest.mark.slow
def test_killing_trace_generation_halfway_then_restarting_repeats_no_call(
        tmp_path, chat_server, write_jsonl, tokenizer_dir):
    questions = [{"id": f"q{i}", "source": "s", "question": f"Question number {i}?", "answer": str(i)}
                 for i in range(30)]
    pool = write_jsonl(tmp_path / "pool.jsonl", questions)
    chat_server.respond = _teacher_reply
    chat_server.answer_limit = 12  # the 13th call hangs: the run is killed while it waits
    cache_file = tmp_path / "cache" / "calls.jsonl"
    command = [sys.executable, "-m", "s1.cli", "curate", "--pool", str(pool), "--n", "30",
               "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"),
               "--teacher", "teacher", "--base-url", chat_server.base_url,
               "--tokenizer", tokenizer_dir]
    kill_once_cached(command, cache_file, lines=12, timeout=60)
    answered_before = set(chat_server.answered)
    assert len(answered_before) == 12
    calls_before = len(chat_server.calls)

    chat_server.answer_limit = None
    second = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    retried = chat_server.prompts()[calls_before:]
    assert not answered_before & set(retried)  # no finished call is made again
    assert len(retried) == 30 - 12 and len(set(retried)) == 18
    selected = [json.loads(line) for line in (tmp_path / "out" / "selected.jsonl").read_text().splitlines()]
    assert len(selected) == 30
    assert all(row["thinking"] == f"thinking about {row['question']}" for row in selected)
    assert all(row["answer"] == f"Answer for {row['question']}" for row in selected)


def test_cache_survives_a_torn_last_line(tmp_path):
    path = tmp_path / "calls.jsonl"
    with CallCache(path) as cache:
        cache.put("k1", "m", ChatResult("one"))
    with path.open("a") as handle:
        handle.write('{"key": "k2", "result": {"con')  # killed mid-write
    with CallCache(path) as cache:
        assert cache.get("k1") == ChatResult("one") and cache.get("k2") is None
        cache.put("k3", "m", ChatResult("three"))
    with CallCache(path) as cache:
        assert len(cache) == 2 and cache.get("k3").content == "three"


def test_failed_calls_are_reported_not_cached_and_retried_next_time(tmp_path, chat_server):
    chat_server.respond = lambda model, prompt: (
        {"raw": "not json"} if "bad" in prompt else {"reasoning": "r", "content": "c"})
    client = OpenAIChatClient(EndpointConfig(model="t", base_url=chat_server.base_url,
                                             max_retries=1, retry_backoff_s=0.01))
    questions = [Question(id=name, source="s", question=name, answer="1") for name in ("ok", "bad")]
    with CallCache(tmp_path / "calls.jsonl") as cache:
        calls = Calls(cache, FailurePolicy(allow=True))
        assert add_teacher_traces(questions, client, calls) == 2
        assert questions[0].thinking == "r" and questions[0].attempt == "c"
        assert questions[1].thinking is None
        assert "malformed response" in questions[1].teacher_error
        outcomes = calls.run(client, ["ok", "bad"], role="teacher", desc="again")
    assert outcomes[0].cached and outcomes[1].error
    assert chat_server.prompts().count("ok") == 1 and chat_server.prompts().count("bad") == 4
    assert [(entry["calls"], entry["cached"], entry["failed"]) for entry in calls.log] == [(2, 0, 1), (1, 1, 1)]


def test_a_role_failing_beyond_the_allowed_share_stops_with_role_model_and_first_failure(
        tmp_path, chat_server):
    chat_server.respond = lambda model, prompt: (
        {"status": 400} if prompt in ("q1", "q2") else {"reasoning": "r", "content": "c"})
    client = OpenAIChatClient(EndpointConfig(model="t", base_url=chat_server.base_url, max_retries=0))
    prompts = [f"q{i}" for i in range(10)]
    with CallCache(tmp_path / "calls.jsonl") as cache:
        with pytest.raises(RoleFailed) as failed:
            Calls(cache, FailurePolicy(max_share=0.1)).run(client, prompts, role="teacher")
        # 2 of 10 failed, above the 10% allowed; the 8 answers are cached all the same.
        assert len(cache) == 8
        message = str(failed.value)
        assert "teacher t: 2 of 10 calls failed" in message and "HTTP 400" in message
        assert str(cache.path) in message and "--allow-failed-calls" in message
        # At or under the share the run goes on; a rerun only retries what failed.
        outcomes = Calls(cache, FailurePolicy(max_share=0.2)).run(client, prompts, role="teacher")
    assert sum(o.cached for o in outcomes) == 8 and sum(o.error is not None for o in outcomes) == 2
