"""Difficulty (attempts + grading), domain classification and grading helpers."""

from __future__ import annotations

import json

from s1.curation.cache import CallCache
from s1.curation.calls import Calls, FailurePolicy
from s1.curation.client import ChatResult, OpenAIChatClient
from s1.curation.config import CurationConfig, EndpointConfig
from s1.curation.difficulty import Attempt, Verdict, filter_by_difficulty, verify
from s1.curation.domains import CLASSIFY_SYSTEM_PROMPT, classify_domains, parse_domain
from s1.curation.model_grader import GRADER_SYSTEM_PROMPT, is_math_answer, parse_verdict
from s1.curation.records import Question
from s1.curation.run import curate
from s1.evaluation.grading import grade_output

QUESTIONS = [
    Question(id="easy", source="s", question="What is 6 * 7?", answer="42"),
    Question(id="half", source="s", question="What is 1/2 + 1/4?", answer="\\frac{3}{4}"),
    Question(id="hard", source="s", question="Hard integral?", answer="17"),
    Question(id="capital", source="gpqa", question="Capital of France? (A) Paris (B) Rome",
             answer="Paris"),
]
# What each attempt model answers (the small one only gets the easy question right).
ATTEMPTS = {
    "small": {"What is 6 * 7?": "6*7 is \\boxed{42}", "What is 1/2 + 1/4?": "Answer: 0.5",
              "Hard integral?": "Answer: 3", "Capital of France? (A) Paris (B) Rome": "Rome"},
    "large": {"What is 6 * 7?": "Answer: 42", "What is 1/2 + 1/4?": "so $0.75$ is the answer: $0.75$",
              "Hard integral?": "Answer: 18", "Capital of France? (A) Paris (B) Rome": "(A) Paris"},
}


def _reply(model: str, prompt: str) -> dict:
    if model in ATTEMPTS:
        return {"content": ATTEMPTS[model][prompt]}
    if prompt.startswith("## Problem"):  # s1's grading turn: correct iff the attempt says Paris
        attempt = prompt.split("## Attempt\n", 1)[1].split("\n\n## Correct answer", 1)[0]
        return {"content": "The attempt names the same city.\nYes" if "Paris" in attempt
                else "Different answer.\nNo"}
    if prompt.startswith("## Question"):  # s1's MSC turn
        return {"content": "This is about arithmetic of integers.\n11" if "6 * 7" in prompt
                else "Geography is closest to geophysics.\n86"}
    raise AssertionError(f"unexpected call {model}: {prompt[:40]}")


def _client(server, model: str) -> OpenAIChatClient:
    return OpenAIChatClient(EndpointConfig(model=model, base_url=server.base_url))


def test_questions_any_model_solves_are_dropped(tmp_path, chat_server):
    chat_server.respond = _reply
    questions = [_copy(q) for q in QUESTIONS]
    with CallCache(tmp_path / "calls.jsonl") as cache:
        kept, drops, stats = filter_by_difficulty(
            questions, [_client(chat_server, "small"), _client(chat_server, "large")],
            _client(chat_server, "grader"), Calls(cache))
    assert [q.id for q in kept] == ["hard"]
    assert {d.id: d.detail for d in drops} == {
        "easy": "solved by small, large", "half": "solved by large", "capital": "solved by large"}
    assert stats["small"] == {"solved": 1, "unsolved": 3, "graded_by": {"math-verify": 3, "judge": 1},
                              "ungraded": {}, "call_errors": 0, "not_attempted": 0}
    # math answers are graded by math-verify: the judge only saw the non-math question, with
    # s1's grading prompt as the system prompt, both models' attempts in one sweep
    judged = chat_server.prompts("grader")
    assert len(judged) == 2 and {chat_server.systems[p] for p in judged} == {GRADER_SYSTEM_PROMPT}
    assert all(name == "grader" for name, _ in chat_server.calls[-2:])


def test_a_sample_of_the_questions_is_attempted_the_rest_pass(tmp_path, chat_server):
    chat_server.respond = _reply
    questions = [_copy(q) for q in QUESTIONS]
    with CallCache(tmp_path / "calls.jsonl") as cache:
        kept, drops, stats = filter_by_difficulty(questions, [_client(chat_server, "large")],
                                                  _client(chat_server, "grader"), Calls(cache),
                                                  sample=2, seed=3)
    asked = set(chat_server.prompts("large"))
    assert len(asked) == 2 and stats["large"]["not_attempted"] == 2
    # unattempted questions stay; attempted ones the model solves go
    assert {q.question for q in kept} == {q.question for q in QUESTIONS} - asked | {"Hard integral?"} & asked
    assert len(drops) == len(asked - {"Hard integral?"})


def test_unreachable_attempt_model_counts_as_ungraded_not_solved(tmp_path):
    dead = OpenAIChatClient(EndpointConfig(model="dead", base_url="http://127.0.0.1:9/v1",
                                           max_retries=0, timeout_s=2))
    with CallCache(tmp_path / "calls.jsonl") as cache:
        kept, drops, stats = filter_by_difficulty([_copy(q) for q in QUESTIONS[:2]], [dead], None,
                                                  Calls(cache, FailurePolicy(allow=True)))
    assert len(kept) == 2 and not drops
    assert stats["dead"]["call_errors"] == 2 and stats["dead"]["ungraded"] == {"no attempt": 2}


def test_domains_from_pool_or_grader(tmp_path, chat_server):
    chat_server.respond = _reply
    questions = [_copy(q) for q in QUESTIONS[:1] + QUESTIONS[3:]]
    questions.append(Question(id="known", source="s", question="x", answer="1", domain="geometry"))
    with CallCache(tmp_path / "calls.jsonl") as cache:
        tally = classify_domains(questions, _client(chat_server, "grader"), Calls(cache))
    assert [q.domain for q in questions] == ["11", "86", "geometry"]
    assert tally == {"from pool": 1, "classified": 2}
    (prompt, _) = chat_server.prompts("grader")
    assert chat_server.systems[prompt] == CLASSIFY_SYSTEM_PROMPT
    assert "### Number theory\n* Code: 11" in prompt and prompt.count("* Code: ") == 61
    assert parse_domain("no idea") == "unknown" and parse_domain("maybe 99 or 05") == "05"


def test_full_recipe_through_curate(tmp_path, chat_server, write_jsonl, tokenizer_dir):
    chat_server.respond = lambda model, prompt: (
        {"reasoning": " ".join(["long"] * 50), "content": "teacher says 17"} if model == "teacher"
        else _reply(model, prompt))
    pool = write_jsonl(tmp_path / "pool.jsonl", [
        {"id": q.id, "source": q.source, "question": q.question, "answer": q.answer} for q in QUESTIONS])
    endpoint = {"base_url": chat_server.base_url}
    config = CurationConfig.from_dict({
        "pool": [str(pool)], "n": 5, "out": str(tmp_path / "out"), "tokenizer": tokenizer_dir,
        "teacher": {"model": "teacher", **endpoint},
        "attempt_models": [{"model": "small", **endpoint}, {"model": "large", **endpoint}],
        "grader": {"model": "grader", **endpoint},
    })
    report = curate(config)
    (selected,) = [json.loads(x) for x in (tmp_path / "out" / "selected.jsonl").read_text().splitlines()]
    assert selected["id"] == "hard" and selected["answer"] == "teacher says 17"
    assert selected["thinking_tokens"] == 50 and selected["domain"] == "86"
    assert report["drop_reasons"]["difficulty"] == {"solved by an attempt model": 3}
    # the judge read 1 of the 8 attempts (the capital question, twice), math-verify the rest
    assert report["models"]["judge"] == {"attempts": 8, "judged": 2, "share": 0.25}
    assert [s["stage"] for s in report["stages"]] == [
        "ingest", "dedupe", "decontaminate", "quality", "traces", "trace quality", "trace length",
        "difficulty", "domains", "selection"]
    calls = len(chat_server.calls)
    curate(config)  # everything is cached now: a rerun makes no call
    assert len(chat_server.calls) == calls


def test_grading_helpers():
    def grade_math(gold: str, attempt: str) -> bool:
        return grade_output("math", gold, attempt).correct  # the core evaluation grades with

    def verdict(gold: str, reply: str, finish_reason: str = "stop"):
        question = Question(id="q", source="s", question="?", answer=gold)
        return verify(Attempt.from_result(question, ChatResult(reply, finish_reason=finish_reason)))

    assert grade_math("1024", "Answer: 1,024") and not grade_math("1024", "Answer: 1025")
    assert grade_math("\\frac{3}{4}", "it is \\boxed{0.75}")
    assert not grade_math("7", "no numbers here at all")
    assert not grade_math("12", "Answer: 1,2") and grade_math("-3/6", "Answer: -1/2")
    assert is_math_answer("\\frac{1}{2}") and is_math_answer("42")
    assert not is_math_answer("Paris") and not is_math_answer("(A)") and not is_math_answer("")
    assert parse_verdict("yes, well... No") is False and parse_verdict("hmm") is None
    # math-verify reads an instruct model's plain reply (its last expression) ...
    assert verdict("12", "To add 7 and 5: 7 + 5 = 12.") == Verdict(True, "math-verify")
    assert verdict("5", "1. fig\n2. kiwi\nSo 2 words.") == Verdict(False, "math-verify")
    # ... a cut-off reply never gave its answer; one without any expression is the judge's
    assert verdict("12", "7 + 5 = 12, and", "length") == Verdict(False, "cut off at max_tokens")
    assert verdict("12", "<think>7 + 5 is") == Verdict(False, "cut off at max_tokens")
    assert verdict("12", "I do not know.") is None and verdict("Paris", "Paris") is None


def _copy(question: Question) -> Question:
    return Question(id=question.id, source=question.source, question=question.question,
                    answer=question.answer)


def test_proof_questions_are_graded_by_the_model_grader_against_the_solution(tmp_path, chat_server):
    proof = Question(id="proof", source="omnimath", question="Prove that n^3 - n is divisible by 6.",
                     answer="", solution="n^3 - n = (n-1)n(n+1), a product of three consecutive integers.")

    def reply(model: str, prompt: str) -> dict:
        if model == "small":
            return {"content": "It factors as (n-1)n(n+1): three consecutive integers. QED"}
        reference = prompt.split("## Correct answer\n", 1)[1]
        return {"content": "Same argument.\nYes" if "three consecutive" in reference else "No"}

    chat_server.respond = reply
    with CallCache(tmp_path / "calls.jsonl") as cache:
        kept, drops, stats = filter_by_difficulty([proof], [_client(chat_server, "small")],
                                                  _client(chat_server, "grader"), Calls(cache))
    assert not kept and drops[0].detail == "solved by small"
    (grader_prompt,) = chat_server.prompts("grader")
    assert proof.solution in grader_prompt
