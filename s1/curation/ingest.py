"""Pool ingestion: read every source through the dataset registry into `Question`s, validating rows.

A source is `NAME`, `NAME=LOCATION` or a bare `LOCATION` read in the pool schema (s1/data/registry.py);
`s1/data/reader.py` reads every format. Answers become canonical text (`s1/data/values.py`);
a row without a short answer but with a reference solution is kept (proof-style: graded later by
the model grader against the solution, as s1 does).

A bad row costs that row: it becomes a `Drop` naming the source, the row and the reason, counted
per source. A source (pool or eval set) that cannot be read, or yields no usable row, is an error
naming it: curating without a source the user asked for would be a silent loss.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from s1.curation.records import Drop, Question
from s1.data.reader import InvalidRow, read_rows
from s1.data.registry import DatasetSpec, dataset, resolve
from s1.data.values import AnswerError, answer_text, lookup
from s1.evaluation.extract import last_boxed

log = logging.getLogger(__name__)

STAGE = "ingest"
DEFAULT_DATASET = "pool"


class SourceError(ValueError):
    """A pool source or eval set that cannot be read or yields no usable row."""


@dataclass
class SourceReport:
    """What one source contributed: rows read, rows kept, and why the others were dropped."""

    spec: str
    dataset: str
    rows: int = 0
    kept: int = 0
    reasons: Counter = field(default_factory=Counter)
    error: str | None = None

    def as_dict(self) -> dict:
        return {"spec": self.spec, "dataset": self.dataset, "rows": self.rows, "kept": self.kept,
                "reasons": dict(self.reasons.most_common()), "error": self.error}


@dataclass
class Ingested:
    questions: list[Question] = field(default_factory=list)
    drops: list[Drop] = field(default_factory=list)
    sources: list[SourceReport] = field(default_factory=list)


def resolve_source(ref: str) -> DatasetSpec:
    """A pool or eval-set reference; a bare location is read in the pool schema."""
    return resolve(ref, lambda location: replace(dataset(DEFAULT_DATASET), location=location))


class RowError(ValueError):
    """A row that cannot become a Question; the message says why."""


def row_to_question(row: Any, spec: DatasetSpec, label: str, index: int) -> Question:
    """Map one raw row through the dataset's fields and validate it (raises RowError)."""
    if isinstance(row, InvalidRow):
        raise RowError(row.reason)
    if not isinstance(row, dict):
        raise RowError(f"row is a {type(row).__name__}, not an object")
    columns = spec.fields.columns()

    def text(role: str) -> str | None:
        column = columns.get(role)
        value = lookup(row, column) if column else None
        if value is None or isinstance(value, str):
            return value
        raise RowError(f"field {role!r} is {type(value).__name__}, not a string"
                       + _column_note(spec, role))

    question = text("question")
    if question is None:
        raise RowError("missing field 'question'" + _column_note(spec, "question"))
    if not question.strip():
        raise RowError("empty question")
    solution = text("solution") or ""
    try:
        answer = answer_text(lookup(row, columns["answer"])) if "answer" in columns else None
    except AnswerError as error:
        raise RowError(f"{error}{_column_note(spec, 'answer')}") from None
    if spec.answer_from_boxed:
        answer = last_boxed(solution) or answer
    if answer is None and not solution.strip():
        raise RowError("no reference answer or solution" + _column_note(spec, "answer"))
    return Question(
        id=_row_id(row, spec, index),
        source=text("source") or spec.source or spec.name,
        question=question,
        answer=answer or "",  # empty: proof-style, graded against the solution
        solution=solution,
        domain=_domain(lookup(row, columns["domain"]) if "domain" in columns else None),
        metadata=_metadata(row, spec),
        thinking=text("thinking"),
        attempt=text("attempt"),
        origin=label,
    )


def _row_id(row: dict, spec: DatasetSpec, index: int) -> str:
    if spec.fields.id is None:
        return f"{spec.name}-{index}"
    row_id = lookup(row, spec.fields.id)
    if isinstance(row_id, int) and not isinstance(row_id, bool):
        return str(row_id)
    if not isinstance(row_id, str) or not row_id.strip():
        raise RowError(f"missing or non-string id ({row_id!r})")
    return row_id


def _domain(value: Any) -> str | None:
    if isinstance(value, list):  # Omni-MATH lists a path of domains; the first is the broadest
        value = value[0] if value else None
    return str(value) if value not in (None, "") else None


def _metadata(row: dict, spec: DatasetSpec) -> dict:
    metadata = lookup(row, spec.fields.metadata) if spec.fields.metadata else None
    if metadata is None:
        metadata = {}
    elif isinstance(metadata, str):
        metadata = {"metadata": metadata}
    elif isinstance(metadata, dict):
        metadata = dict(metadata)
    else:
        raise RowError(f"metadata is {type(metadata).__name__}, not an object")
    for column in spec.metadata:
        metadata[column.split(".")[-1]] = lookup(row, column)
    return metadata


def _column_note(spec: DatasetSpec, role: str) -> str:
    column = spec.fields.columns().get(role)
    return f" (column {column!r})" if column and column != role else ""


def ingest(refs: tuple[str, ...] | list[str]) -> Ingested:
    """Read every source; bad rows and duplicate ids become drops, counted per source.

    Raises SourceError naming every source that cannot be read or yields no usable row.
    """
    result = Ingested()
    first_seen: dict[str, str] = {}
    for ref in refs:
        report = SourceReport(spec=ref, dataset="?")
        result.sources.append(report)
        try:
            spec = resolve_source(ref)
            report.dataset = spec.name
            for index, (label, row) in enumerate(read_rows(spec.location, spec.split, spec.config)):
                report.rows += 1
                drop = _take(row, spec, label, index, ref, result, first_seen)
                if drop is None:
                    report.kept += 1
                else:
                    report.reasons[drop.reason] += 1
                    result.drops.append(drop)
        except Exception as error:  # noqa: BLE001 - named and raised below with every other failure
            report.error = f"{type(error).__name__}: {error}"
    failed = [s for s in result.sources if s.error or not s.kept]
    if failed:
        raise SourceError("pool sources that yield no questions: "
                          + "; ".join(_failure(s) for s in failed))
    bad = len(result.drops)
    if bad:
        log.warning("ingest: %d rows rejected (see dropped.jsonl); first: %s", bad,
                    result.drops[0].detail)
    return result


def _take(row: Any, spec: DatasetSpec, label: str, index: int, ref: str, result: Ingested,
          first_seen: dict[str, str]) -> Drop | None:
    """Add the row's question to the result, or return the drop that says why not."""
    try:
        question = row_to_question(row, spec, label, index)
    except RowError as error:
        row_id = row.get("id") if isinstance(row, dict) else None
        return Drop(id=str(row_id) if isinstance(row_id, (str, int)) else label, source=ref,
                    stage=STAGE, reason=_reason_category(str(error)), detail=f"{label}: {error}")
    if question.id in first_seen:
        return Drop(id=question.id, source=question.source, stage=STAGE, reason="duplicate id",
                    detail=f"{label}: id {question.id!r} already read at {first_seen[question.id]}")
    first_seen[question.id] = label
    result.questions.append(question)
    return None


def _failure(report: SourceReport) -> str:
    if report.error:
        return f"{report.spec}: cannot read it ({report.error})"
    if not report.rows:
        return f"{report.spec}: no rows"
    reasons = ", ".join(f"{reason} x{count}" for reason, count in report.reasons.most_common(3))
    return f"{report.spec}: none of its {report.rows} rows is usable ({reasons})"


def _reason_category(message: str) -> str:
    """The counted reason: the message without the row-specific part in parentheses."""
    return message.split(" (", 1)[0]


def read_eval_questions(refs: tuple[str, ...] | list[str]) -> tuple[list, list[SourceReport]]:
    """Evaluation questions to decontaminate against.

    An eval set that cannot be read or yields no question stops the run before any work:
    decontaminating against nothing would leave the selection contaminated without a word.
    Rows without question text are counted in the set's report.
    """
    from s1.curation.decontaminate import EvalQuestion

    questions, reports = [], []
    for ref in refs:
        report = SourceReport(spec=ref, dataset="?")
        reports.append(report)
        try:
            spec = resolve_source(ref)
            report.dataset = spec.name
            name = spec.name if spec.name != DEFAULT_DATASET else Path(spec.location).stem
            for index, (label, row) in enumerate(read_rows(spec.location, spec.split, spec.config)):
                report.rows += 1
                text = lookup(row, spec.fields.question) if isinstance(row, dict) else None
                if not isinstance(text, str) or not text.strip():
                    report.reasons[f"no question text in column {spec.fields.question!r}"] += 1
                    continue
                row_id = lookup(row, spec.fields.id) if spec.fields.id else None
                questions.append(EvalQuestion(
                    id=str(row_id) if row_id is not None else str(index), eval_set=name,
                    question=text,
                ))
                report.kept += 1
        except Exception as error:  # noqa: BLE001 - re-raised with the eval set named
            raise SourceError(f"cannot read eval set {ref}: {type(error).__name__}: {error}") from error
        if not report.kept:
            raise SourceError(f"eval set {ref} yields no questions: "
                              + (_failure(report).split(": ", 1)[1]))
    return questions, reports
