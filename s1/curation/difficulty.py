"""Difficulty: keep the questions every attempt model gets wrong (s1: Qwen2.5-7B and -32B).

Each model answers every question (one role sweep per model, cached), then all attempts are
graded: math-verify first, through the grading core evaluation uses (`s1/evaluation/grading.py`:
the answer form, else math-verify's own reading of the reply's last expression); what it cannot
decide (words, option texts, proofs, no expression at all) goes to the judge model in one sweep,
with s1's grading prompt. Attempts run before any grading so a local attempt model and a local
judge are each loaded once. A question any model solves is dropped, naming the models. An
attempt cut off at max_tokens is unsolved (it never gave its answer); an attempt that could not
be made or graded does not count as solved: the question stays, and the report counts it.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

from s1.curation.calls import Calls
from s1.curation.client import ChatResult, ModelClient
from s1.curation.model_grader import GRADER_SYSTEM_PROMPT, grader_prompt, is_math_answer, parse_verdict
from s1.curation.records import Drop, Question
from s1.evaluation.extract import answer_section
from s1.evaluation.grading import grade_answer, grade_free_text

STAGE = "difficulty"
MATH_VERIFY, JUDGE = "math-verify", "judge"
CUT_OFF = "cut off at max_tokens"


@dataclass(frozen=True)
class Verdict:
    """Whether an attempt is correct (None: not gradable) and what decided it, or why not."""

    correct: bool | None
    how: str


@dataclass(frozen=True)
class Attempt:
    """One answer to grade: its question, its text (None: the call failed), whether it was cut."""

    question: Question
    text: str | None
    cut_off: bool = False

    @classmethod
    def from_result(cls, question: Question, result: ChatResult | None) -> "Attempt":
        if result is None:
            return cls(question, None)
        return cls(question, result.content, result.finish_reason == "length")


def verify(attempt: Attempt) -> Verdict | None:
    """math-verify's verdict, or None when the judge must read the attempt."""
    if attempt.text is None:
        return Verdict(None, "no attempt")
    if attempt.cut_off:
        return Verdict(False, CUT_OFF)
    gold = attempt.question.answer
    if not is_math_answer(gold):
        return None
    section = answer_section(attempt.text)
    if not section.text.strip():
        return Verdict(False, "empty attempt")
    if not section.closed:  # an unfinished <think> block: no answer was given
        return Verdict(False, CUT_OFF)
    graded = grade_answer("math", gold, section.text)
    if graded.reason == "no_answer":
        graded = grade_free_text(gold, section.text)
    if graded is None or graded.reason not in ("correct", "wrong_answer"):
        return None
    return Verdict(graded.correct, MATH_VERIFY)


def grade(attempts: list[Attempt], grader: ModelClient | None, calls: Calls, desc: str) -> list[Verdict]:
    """A verdict per attempt: math-verify's, else the judge's (one sweep over all of them)."""
    verdicts: list[Verdict | None] = [verify(attempt) for attempt in attempts]
    undecided = [i for i, verdict in enumerate(verdicts) if verdict is None]
    if undecided and grader is None:
        for index in undecided:
            verdicts[index] = Verdict(None, "math-verify cannot decide and no judge")
        undecided = []
    if undecided:
        prompts = [grader_prompt(attempts[i].question.question, attempts[i].text or "",
                                 attempts[i].question.answer or attempts[i].question.solution)
                   for i in undecided]
        outcomes = calls.run(grader, prompts, role="judge", desc=desc, system=GRADER_SYSTEM_PROMPT)
        for index, outcome in zip(undecided, outcomes):
            verdict = parse_verdict(outcome.result.content) if outcome.result else None
            verdicts[index] = Verdict(verdict, JUDGE if verdict is not None else
                                      "judge gave no verdict" if outcome.result else "judge error")
    return verdicts  # type: ignore[return-value]


def grading_summary(verdicts: list[Verdict]) -> dict:
    """Counts per model or role: solved, unsolved, what decided them, why some were not graded."""
    decided = [v for v in verdicts if v.correct is not None]
    return {"solved": sum(v.correct is True for v in verdicts),
            "unsolved": sum(v.correct is False for v in verdicts),
            "graded_by": dict(Counter(v.how for v in decided).most_common()),
            "ungraded": dict(Counter(v.how for v in verdicts if v.correct is None).most_common())}


def judge_share(summaries: list[dict]) -> dict:
    """How often the judge was needed: attempts it graded (or tried to) over all attempts."""
    attempts = sum(sum(s["graded_by"].values()) + sum(s["ungraded"].values()) for s in summaries)
    judged = sum(s["graded_by"].get(JUDGE, 0) + s["ungraded"].get("judge gave no verdict", 0)
                 + s["ungraded"].get("judge error", 0) for s in summaries)
    return {"attempts": attempts, "judged": judged,
            "share": round(judged / attempts, 4) if attempts else 0.0}


def attempt_sample(questions: list[Question], size: int | None, seed: int) -> list[Question]:
    """The questions the attempt models answer: all, or a seeded sample of `size` (pool order)."""
    if size is None or size >= len(questions):
        return questions
    chosen = set(random.Random(seed).sample(range(len(questions)), size))
    return [question for index, question in enumerate(questions) if index in chosen]


def filter_by_difficulty(questions: list[Question], models: list[ModelClient],
                         grader: ModelClient | None, calls: Calls, sample: int | None = None,
                         seed: int = 0) -> tuple[list[Question], list[Drop], dict]:
    """Drop questions any model solves; returns (kept, drops, per-model stats).

    sample: attempt only a seeded sample of this many questions; the rest are kept unattempted.
    """
    attempted = attempt_sample(questions, sample, seed)
    attempts: list[Attempt] = []
    call_errors: dict[str, int] = {}
    for model in models:
        outcomes = calls.run(model, [q.question for q in attempted], role="attempt model",
                             desc=f"attempts {model.model}")
        attempts += [Attempt.from_result(q, o.result) for q, o in zip(attempted, outcomes)]
        call_errors[model.model] = sum(o.error is not None for o in outcomes)
    verdicts = grade(attempts, grader, calls, desc="judging attempts")
    stats: dict[str, dict] = {}
    for number, model in enumerate(models):
        own = verdicts[number * len(attempted):(number + 1) * len(attempted)]
        for question, verdict in zip(attempted, own):
            if verdict.correct:
                question.solved_by.append(model.model)
        stats[model.model] = {**grading_summary(own), "call_errors": call_errors[model.model],
                              "not_attempted": len(questions) - len(attempted)}
    kept, drops = [], []
    for question in questions:
        if question.solved_by:
            drops.append(Drop(question.id, question.source, STAGE, "solved by an attempt model",
                              "solved by " + ", ".join(question.solved_by)))
        else:
            kept.append(question)
    return kept, drops, stats


def grade_teacher(questions: list[Question], grader: ModelClient | None, calls: Calls) -> dict:
    """Set `teacher_correct` (s1's pre-selection needs it); returns its grading summary."""
    attempts = [Attempt(q, q.attempt if q.attempt else q.thinking) for q in questions]
    verdicts = grade(attempts, grader, calls, desc="judging teacher answers")
    for question, verdict in zip(questions, verdicts):
        question.teacher_correct = verdict.correct
    return grading_summary(verdicts)
