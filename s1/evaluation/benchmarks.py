"""Benchmarks as data: the registry in ``benchmarks.yaml``, mirrored files and user datasets,
loaded into evaluation questions (``id``, ``question``, ``answer``, ``kind``).

A field mapping that names a column the data lacks fails before anything is generated, with the
column's name; an empty gold answer is kept and graded wrong later (reason ``missing_gold``), so
nothing is silently dropped.
"""

from __future__ import annotations

import json
import random
import string
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterator

import yaml

KINDS = ("math", "choice")
LOCAL_SUFFIXES = (".jsonl", ".json", ".parquet")
LETTERS = string.ascii_uppercase
# s1 evaluates GPQA with OpenAI simple-evals' multiple-choice instruction.
CHOICE_TEMPLATE = (
    "Answer the following multiple choice question. The last line of your response should be of "
    "the following format: 'Answer: $LETTER' (without quotes) where LETTER is one of {letters}. "
    "Think step by step before answering.\n\n{question}\n\n{options}"
)


@dataclass(frozen=True)
class FieldMap:
    """Which source column holds each part of a question (``id`` None: rows are numbered)."""

    question: str = "question"
    answer: str = "answer"
    id: str | None = None
    incorrect: tuple[str, ...] = ()  # choice benchmarks: the wrong options' columns

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FieldMap:
        unknown = set(data) - {"question", "answer", "id", "incorrect"}
        if unknown:
            raise ValueError(f"unknown field mapping keys {sorted(unknown)}; "
                             "expected question, answer, id, incorrect")
        incorrect = data.get("incorrect", ())
        return cls(**{**data, "incorrect": tuple([incorrect] if isinstance(incorrect, str)
                                                 else incorrect)})

    def columns(self) -> dict[str, str]:
        """Mapping role -> column for every column the data must have."""
        roles = {"question": self.question, "answer": self.answer}
        if self.id is not None:
            roles["id"] = self.id
        roles.update({f"incorrect[{i}]": column for i, column in enumerate(self.incorrect)})
        return roles


@dataclass(frozen=True)
class BenchmarkSpec:
    """One benchmark: where it lives and how to read and grade it."""

    name: str
    source: str  # Hugging Face dataset id or a local .jsonl/.json/.parquet file
    kind: str = "math"
    fields: FieldMap = field(default_factory=FieldMap)
    title: str = ""
    split: str = "train"
    config: str | None = None
    choice_seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"benchmark {self.name!r}: kind must be one of {KINDS}, "
                             f"got {self.kind!r}")
        if self.kind == "choice" and not self.fields.incorrect:
            raise ValueError(f"benchmark {self.name!r}: a choice benchmark needs "
                             "fields.incorrect (the columns of the wrong options)")
        if self.kind == "math" and self.fields.incorrect:
            raise ValueError(f"benchmark {self.name!r}: fields.incorrect is only for choice")

    @property
    def is_local(self) -> bool:
        return self.source.endswith(LOCAL_SUFFIXES)

    @property
    def display_name(self) -> str:
        return self.title or self.name


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


@cache
def registry() -> dict[str, BenchmarkSpec]:
    """The benchmarks declared in the packaged ``benchmarks.yaml``, by name."""
    text = resources.files("s1.evaluation").joinpath("benchmarks.yaml").read_text()
    return {name: _spec(name, entry) for name, entry in yaml.safe_load(text)["benchmarks"].items()}


def _spec(name: str, entry: dict[str, Any]) -> BenchmarkSpec:
    entry = dict(entry)
    return BenchmarkSpec(name=name, fields=FieldMap.from_dict(entry.pop("fields", {})), **entry)


def resolve_benchmark(
    ref: str, kind: str | None = None, fields: FieldMap | None = None
) -> BenchmarkSpec:
    """A benchmark from a registry name, ``name=FILE`` (registry mapping, mirrored file) or a file
    of your own (``kind`` and ``fields`` describe it; defaults: math, question/answer columns)."""
    known = registry()
    name, _, path = ref.partition("=")
    if path:
        if name not in known:
            raise ValueError(f"{ref!r}: {name!r} is not a registered benchmark "
                             f"({', '.join(known)})")
        _check_local_file(Path(path))
        return replace(known[name], source=path, split="train", config=None)
    if ref in known:
        if kind is not None or fields is not None:
            raise ValueError(f"{ref!r} is a registered benchmark; kind and field mapping come "
                             "from benchmarks.yaml")
        return known[ref]
    if not ref.endswith(LOCAL_SUFFIXES):
        raise ValueError(f"unknown benchmark {ref!r}: use one of {', '.join(known)}, NAME=FILE, "
                         f"or a {'/'.join(LOCAL_SUFFIXES)} file")
    path = Path(ref)
    _check_local_file(path)
    chosen = kind or "math"
    mapping = fields or FieldMap()
    if chosen == "choice" and not mapping.incorrect:
        raise ValueError(f"{ref}: a choice dataset needs a field mapping with incorrect=COL,...")
    return BenchmarkSpec(name=path.stem, source=ref, kind=chosen, fields=mapping, title=path.stem)


def _check_local_file(path: Path) -> None:
    if path.suffix not in LOCAL_SUFFIXES:
        raise ValueError(f"{path}: benchmark files must be {'/'.join(LOCAL_SUFFIXES)}")
    if not path.is_file():
        raise FileNotFoundError(f"benchmark file {path} does not exist")


def parse_field_map(text: str) -> FieldMap:
    """``question=problem,answer=solution_answer,id=uid`` (``incorrect`` separated by ``|``)."""
    data: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        role, sep, column = item.partition("=")
        if not sep or not column:
            raise ValueError(f"field mapping item {item!r} is not ROLE=COLUMN")
        data[role] = column.split("|") if role == "incorrect" else column
    return FieldMap.from_dict(data)


def load_questions(spec: BenchmarkSpec, limit: int | None = None) -> list[EvalQuestion]:
    """The first ``limit`` questions (all when None) of a benchmark, in source order."""
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be positive, got {limit}")
    questions = []
    for index, (where, row) in enumerate(_rows(spec)):
        if limit is not None and index >= limit:
            break
        questions.append(_question(spec, index, where, row))
    return questions


def _rows(spec: BenchmarkSpec) -> Iterator[tuple[str, dict[str, Any]]]:
    """(location for error messages, row), after checking the mapping against the columns."""
    source = Path(spec.source)
    if spec.source.endswith(".jsonl"):
        yield from _jsonl_rows(spec, source)
        return
    if spec.source.endswith(".json"):
        rows = json.loads(source.read_text())
        if not isinstance(rows, list):
            raise ValueError(f"{source}: expected a JSON list of objects")
        for number, row in enumerate(rows):
            _check_row(spec, f"{source}[{number}]", row)
            yield f"{source}[{number}]", row
        return
    if spec.source.endswith(".parquet"):
        import pyarrow.parquet as pq

        table = pq.read_table(source)
        _check_columns(spec, str(source), table.column_names)
        for number, row in enumerate(table.to_pylist()):
            yield f"{source} row {number}", row
        return
    from datasets import load_dataset

    dataset = load_dataset(spec.source, spec.config, split=spec.split)
    _check_columns(spec, f"{spec.source} ({spec.split})", dataset.column_names)
    for number, row in enumerate(dataset):
        yield f"{spec.source} row {number}", row


def _jsonl_rows(spec: BenchmarkSpec, source: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    with source.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{source}:{number}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{where}: invalid JSON ({error.msg})") from None
            _check_row(spec, where, row)
            yield where, row


def _check_row(spec: BenchmarkSpec, where: str, row: Any) -> None:
    if not isinstance(row, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(row).__name__}")
    _check_columns(spec, where, list(row))


def _check_columns(spec: BenchmarkSpec, where: str, columns: list[str]) -> None:
    for role, column in spec.fields.columns().items():
        if column not in columns:
            raise ValueError(
                f"{where}: benchmark {spec.name!r} maps {role} to field {column!r}, which the "
                f"data does not have (fields: {', '.join(map(str, columns))})"
            )


def _question(spec: BenchmarkSpec, index: int, where: str, row: dict[str, Any]) -> EvalQuestion:
    fields = spec.fields
    qid = str(row[fields.id]) if fields.id is not None else f"{spec.name}-{index}"
    text = _text(row[fields.question])
    if not text:
        raise ValueError(f"{where}: empty question in field {fields.question!r}")
    gold = _text(row[fields.answer])
    if spec.kind == "math":
        return EvalQuestion(qid, text, gold, spec.kind, spec.name)
    options = [gold] + [_text(row[column]) for column in fields.incorrect]
    order = list(range(len(options)))
    # Seeded per question id: the letters of a question never depend on which others are loaded.
    random.Random(f"{spec.choice_seed}:{qid}").shuffle(order)
    letters = LETTERS[: len(options)]
    body = "\n".join(f"{letter}) {options[i]}" for letter, i in zip(letters, order))
    prompt = CHOICE_TEMPLATE.format(question=text, options=body, letters="".join(letters))
    gold_letter = letters[order.index(0)] if gold else ""
    return EvalQuestion(qid, prompt, gold_letter, spec.kind, spec.name)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()
