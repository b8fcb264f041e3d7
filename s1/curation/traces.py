"""Teacher traces: a reasoning trace and an attempt for every question that lacks one.

The prompt is the question itself, as s1 sent it (to Gemini 2.0 Flash Thinking for s1, to
DeepSeek-R1 for s1.1). The trace is the API's separate reasoning (`reasoning_content`, or a
`<think>` block); the visible reply is the attempt, which becomes the training answer. A reply
without separate reasoning is used whole as the trace and the reference answer is trained on.
"""

from __future__ import annotations

from s1.curation.calls import Calls
from s1.curation.client import ModelClient
from s1.curation.records import Question


def add_teacher_traces(questions: list[Question], client: ModelClient, calls: Calls) -> int:
    """Fill `thinking`/`attempt` (or `teacher_error`) in place; returns how many were asked."""
    todo = [q for q in questions if q.thinking is None]
    outcomes = calls.run(client, [q.question for q in todo], role="teacher", desc="teacher traces")
    for question, outcome in zip(todo, outcomes):
        if outcome.result is None:
            question.teacher_error = outcome.error
            continue
        result = outcome.result
        if result.reasoning is not None:
            question.thinking, question.attempt = result.reasoning, result.content
        else:
            question.thinking, question.attempt = result.content, None
        question.teacher_truncated = result.finish_reason == "length"
    return len(todo)
