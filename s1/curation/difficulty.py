"""Difficulty: keep the questions every attempt model gets wrong (s1: Qwen2.5-7B and -32B).

Each model answers every question through the client (cached); math answers are graded locally by
the grading core evaluation uses (`s1/evaluation/grading.py`), the rest by the grader model
(proof-style questions without a short answer: against their reference solution). A question any model solves is dropped, naming the models. An
attempt that could not be made or graded does not count as solved: the question stays, and the
report counts it.
"""

from __future__ import annotations

from collections import Counter

from s1.curation.cache import CallCache
from s1.curation.calls import call_all
from s1.curation.client import ModelClient
from s1.curation.model_grader import grader_prompt, is_math_answer, parse_verdict
from s1.curation.records import Drop, Question
from s1.evaluation.grading import grade_output

STAGE = "difficulty"


def grade(questions: list[Question], attempts: list[str | None], grader: ModelClient | None,
          cache: CallCache, desc: str) -> tuple[list[bool | None], Counter]:
    """Correct/incorrect per attempt (None: no attempt or ungradable) and a tally of why not."""
    verdicts: list[bool | None] = [None] * len(questions)
    tally: Counter = Counter()
    for_grader: list[int] = []
    for index, (question, attempt) in enumerate(zip(questions, attempts)):
        if attempt is None:
            tally["no attempt"] += 1
        elif is_math_answer(question.answer):
            verdicts[index] = grade_output("math", question.answer, attempt).correct
        elif grader is not None:
            for_grader.append(index)
        else:
            tally["non-math answer and no grader"] += 1
    if for_grader:
        prompts = [grader_prompt(questions[i].question, attempts[i] or "",
                                 questions[i].answer or questions[i].solution)
                   for i in for_grader]
        for index, outcome in zip(for_grader, call_all(grader, prompts, cache, desc)):
            verdict = parse_verdict(outcome.result.content) if outcome.result else None
            if verdict is None:
                tally["grader gave no verdict" if outcome.result else "grader error"] += 1
            verdicts[index] = verdict
    return verdicts, tally


def filter_by_difficulty(questions: list[Question], models: list[ModelClient],
                         grader: ModelClient | None, cache: CallCache
                         ) -> tuple[list[Question], list[Drop], dict]:
    """Drop questions any model solves; returns (kept, drops, per-model stats)."""
    stats: dict[str, dict] = {}
    for model in models:
        outcomes = call_all(model, [q.question for q in questions], cache, desc=f"attempts {model.model}")
        attempts = [o.result.content if o.result else None for o in outcomes]
        verdicts, tally = grade(questions, attempts, grader, cache, desc=f"grading {model.model}")
        for question, verdict in zip(questions, verdicts):
            if verdict:
                question.solved_by.append(model.model)
        stats[model.model] = {"solved": sum(v is True for v in verdicts),
                              "failed": sum(v is False for v in verdicts),
                              "ungraded": dict(tally),
                              "call_errors": sum(o.error is not None for o in outcomes)}
    kept, drops = [], []
    for question in questions:
        if question.solved_by:
            drops.append(Drop(question.id, question.source, STAGE, "solved by an attempt model",
                              "solved by " + ", ".join(question.solved_by)))
        else:
            kept.append(question)
    return kept, drops, stats


def grade_teacher(questions: list[Question], grader: ModelClient | None, cache: CallCache) -> Counter:
    """Set `teacher_correct` (s1's pre-selection needs it); returns the tally of ungraded ones."""
    attempts = [q.attempt if q.attempt else q.thinking for q in questions]
    verdicts, tally = grade(questions, attempts, grader, cache, desc="grading teacher")
    for question, verdict in zip(questions, verdicts):
        question.teacher_correct = verdict
    return tally
