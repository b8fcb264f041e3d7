"""Benchmarks: datasets of the registry (``s1/data/datasets/``) loaded into evaluation questions
(``id``, ``question``, ``answer``, ``kind``), from any format the reader takes (JSONL, JSON, CSV,
Parquet, Arrow, ``save_to_disk`` folders, hub ids).

A field mapping that names a column the data lacks fails before anything is generated, with the
column's name; an empty gold answer is kept and graded wrong later (reason ``missing_gold``), so
nothing is silently dropped. Gold answers are canonical text (``s1/data/values.py``): the same
benchmark read from CSV (all strings), JSONL or Parquet (typed) yields the same questions.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from s1.data.reader import InvalidRow, read_rows
from s1.data.registry import KINDS, DatasetSpec, FieldMap, registry, resolve
from s1.data.values import AnswerError, answer_text, has_column, lookup

__all__ = ["KINDS", "EvalQuestion", "load_questions", "parse_field_map", "registry",
           "resolve_benchmark"]

LETTERS = string.ascii_uppercase
# s1 evaluates GPQA with OpenAI simple-evals' multiple-choice instruction.
CHOICE_TEMPLATE = (
    "Answer the following multiple choice question. The last line of your response should be of "
    "the following format: 'Answer: $LETTER' (without quotes) where LETTER is one of {letters}. "
    "Think step by step before answering.\n\n{question}\n\n{options}"
)


@dataclass(frozen=True)
class EvalQuestion:
    """What a benchmark loader yields; for choice, the lettered options are in ``question``."""

    id: str
    question: str
    answer: str  # gold: the answer text (math) or the correct letter (choice)
    kind: str
    benchmark: str

    def to_record(self) -> dict[str, str]:
        return {"id": self.id, "question": self.question, "answer": self.answer,
                "kind": self.kind, "benchmark": self.benchmark}


def resolve_benchmark(
    ref: str, kind: str | None = None, fields: FieldMap | None = None
) -> DatasetSpec:
    """A benchmark from a registered name, ``NAME=LOCATION`` (its mapping, another copy) or a
    file of your own (``kind`` and ``fields`` describe it; defaults: math, question/answer)."""

    def own_file(location: str) -> DatasetSpec:
        path = Path(location)
        if not path.exists():
            raise FileNotFoundError(f"unknown benchmark {ref!r}: not a registered name "
                                    f"({', '.join(registry())}) and no such file")
        chosen = kind or "math"
        if chosen == "choice" and not (fields and fields.incorrect):
            raise ValueError(f"{ref}: a choice dataset needs a field mapping with incorrect=COL|...")
        return DatasetSpec(name=path.stem, location=location, kind=chosen,
                           fields=fields or FieldMap(), title=path.stem)

    spec = resolve(ref, own_file)
    if spec.name in registry() and (kind is not None or fields is not None):
        raise ValueError(f"{ref!r} is a registered dataset; kind and field mapping come from "
                         f"s1/data/datasets/{spec.name}.yaml")
    return spec


def parse_field_map(text: str) -> FieldMap:
    """``question=problem,answer=solution_answer,id=uid`` (``incorrect`` separated by ``|``)."""
    data: dict[str, Any] = {"question": "question", "answer": "answer"}
    for item in filter(None, (part.strip() for part in text.split(","))):
        role, sep, column = item.partition("=")
        if not sep or not column:
            raise ValueError(f"field mapping item {item!r} is not ROLE=COLUMN")
        data[role] = column.split("|") if role == "incorrect" else column
    return FieldMap.from_dict(data)


def load_questions(spec: DatasetSpec, limit: int | None = None) -> list[EvalQuestion]:
    """The first ``limit`` questions (all when None) of a benchmark, in source order."""
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be positive, got {limit}")
    if spec.location is None:
        raise ValueError(f"benchmark {spec.name!r} has no location; give {spec.name}=FILE")
    questions = []
    for index, (where, row) in enumerate(read_rows(spec.location, spec.split, spec.config)):
        if limit is not None and index >= limit:
            break
        _check_row(spec, where, row)
        questions.append(_question(spec, index, where, row))
    return questions


def _check_row(spec: DatasetSpec, where: str, row: Any) -> None:
    if isinstance(row, InvalidRow):
        raise ValueError(f"{where}: {row.reason}")
    if not isinstance(row, dict):
        raise ValueError(f"{where}: expected an object, got {type(row).__name__}")
    for role, column in _required(spec.fields).items():
        if not has_column(row, column):
            raise ValueError(
                f"{where}: benchmark {spec.name!r} maps {role} to field {column!r}, which the "
                f"data does not have (fields: {', '.join(map(str, row))})"
            )


def _required(fields: FieldMap) -> dict[str, str]:
    roles = {"question": fields.question, "answer": fields.answer, "id": fields.id}
    roles.update({f"incorrect[{i}]": column for i, column in enumerate(fields.incorrect)})
    return {role: column for role, column in roles.items() if column is not None}


def _question(spec: DatasetSpec, index: int, where: str, row: dict[str, Any]) -> EvalQuestion:
    fields = spec.fields
    qid = str(lookup(row, fields.id)) if fields.id is not None else f"{spec.name}-{index}"
    text = _text(lookup(row, fields.question))
    if not text:
        raise ValueError(f"{where}: empty question in field {fields.question!r}")
    gold = _gold(row, fields.answer, where)
    if spec.kind == "math":
        return EvalQuestion(qid, text, gold, spec.kind, spec.name)
    options = [gold] + [_text(lookup(row, column)) for column in fields.incorrect]
    order = list(range(len(options)))
    # Seeded per question id: the letters of a question never depend on which others are loaded.
    random.Random(f"{spec.choice_seed}:{qid}").shuffle(order)
    letters = LETTERS[: len(options)]
    body = "\n".join(f"{letter}) {options[i]}" for letter, i in zip(letters, order))
    prompt = CHOICE_TEMPLATE.format(question=text, options=body, letters="".join(letters))
    gold_letter = letters[order.index(0)] if gold else ""
    return EvalQuestion(qid, prompt, gold_letter, spec.kind, spec.name)


def _gold(row: dict[str, Any], column: str | None, where: str) -> str:
    if column is None:
        return ""
    try:
        return answer_text(lookup(row, column)) or ""
    except AnswerError as error:
        raise ValueError(f"{where}: {error} (field {column!r})") from None


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()
