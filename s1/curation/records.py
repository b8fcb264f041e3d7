"""The records curation passes between stages: a pool question with its features, and a drop."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Question:
    """One pool question (docs/architecture.md schema) plus what the stages learn about it."""

    id: str
    source: str
    question: str
    answer: str
    solution: str = ""
    domain: str | None = None
    metadata: dict = field(default_factory=dict)
    thinking: str | None = None
    attempt: str | None = None
    # Where the row came from ("pool.jsonl:17"), for messages that name the row.
    origin: str = ""
    # Filled by the stages.
    teacher_error: str | None = None
    teacher_truncated: bool = False
    thinking_tokens: int | None = None
    solved_by: list[str] = field(default_factory=list)
    teacher_correct: bool | None = None

    def training_example(self) -> dict:
        """The training schema `s1 train` reads (selected.jsonl).

        The answer section is the teacher's attempt when the pool has one (as in s1K), else the
        reference answer, else (proof-style questions) the reference solution.
        """
        return {
            "id": self.id,
            "source": self.source,
            "question": self.question,
            "thinking": self.thinking or "",
            "answer": next((text for text in (self.attempt, self.answer, self.solution)
                            if text and text.strip()), ""),
            "domain": self.domain,
            "thinking_tokens": self.thinking_tokens,
        }


@dataclass(frozen=True, slots=True)
class Drop:
    """Why one question (or one unreadable source) left the pool: a row of dropped.jsonl."""

    id: str
    source: str
    stage: str
    reason: str  # a short category, counted in the report
    detail: str = ""  # the specifics: which row, which eval question, which error

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "source": self.source,
            "stage": self.stage,
            "reason": self.reason,
            "detail": self.detail,
        }
