"""Pool ingestion: read every source through its adapter into `Question`s, validating each row.

A source is `LOCATION` or `ADAPTER=LOCATION`. LOCATION is a local `.jsonl` file (read line by line
so one bad line costs one row, not the file), a local `.json`/`.parquet`/`.csv`/`.arrow` file or a
`save_to_disk` folder (via `datasets`), or a Hugging Face dataset id (via `datasets.load_dataset`; the adapter supplies the
split and config). Adapters are YAML files in `s1/curation/sources/` mapping the source's columns
onto the pool schema: adding a source is adding a YAML file, not code.

Bad rows and unreadable sources never stop the run; each becomes a `Drop` naming the source, the
row and the reason.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Iterator

import yaml

from s1.curation.records import Drop, Question

log = logging.getLogger(__name__)

STAGE = "ingest"
DEFAULT_ADAPTER = "pool"
SCHEMA_FIELDS = ("id", "source", "question", "solution", "answer", "domain", "thinking",
                 "attempt", "metadata")
_DATASETS_BUILDERS = {".json": "json", ".parquet": "parquet", ".csv": "csv", ".arrow": "arrow"}
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


@dataclass(frozen=True)
class Adapter:
    """How one source's columns map onto the pool schema (a YAML file in sources/)."""

    name: str
    fields: dict[str, str]
    hf_id: str | None = None
    config: str | None = None
    split: str = "train"
    source: str | None = None  # constant `source` label; default: the adapter name
    answer_from_boxed: bool = False
    metadata: tuple[str, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        unknown = sorted(set(self.fields) - set(SCHEMA_FIELDS))
        if unknown:
            raise ValueError(f"adapter {self.name!r}: unknown schema fields {unknown}")
        if "question" not in self.fields:
            raise ValueError(f"adapter {self.name!r} must map `question`")


@dataclass
class SourceReport:
    """What one source contributed: rows read, rows kept, or why it could not be read."""

    spec: str
    adapter: str
    rows: int = 0
    kept: int = 0
    error: str | None = None

    def as_dict(self) -> dict:
        return {"spec": self.spec, "adapter": self.adapter, "rows": self.rows, "kept": self.kept,
                "error": self.error}


@dataclass
class Ingested:
    questions: list[Question] = field(default_factory=list)
    drops: list[Drop] = field(default_factory=list)
    sources: list[SourceReport] = field(default_factory=list)


def available_adapters() -> list[str]:
    folder = resources.files("s1.curation") / "sources"
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_adapter(name: str) -> Adapter:
    """An adapter by name (a shipped one) or by path to a YAML file."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        text = path.read_text()
    else:
        resource = resources.files("s1.curation") / "sources" / f"{name}.yaml"
        if not resource.is_file():
            raise ValueError(f"unknown source adapter {name!r}; shipped: {available_adapters()}")
        text = resource.read_text()
    values = yaml.safe_load(text)
    values["metadata"] = tuple(values.get("metadata") or ())
    try:
        return Adapter(**values)
    except TypeError as error:
        raise ValueError(f"source adapter {name!r}: {error}") from error


def split_spec(spec: str) -> tuple[str, str]:
    """`ADAPTER=LOCATION` -> (adapter, location); a bare location uses the pool schema."""
    adapter, sep, location = spec.partition("=")
    if sep and adapter and "/" not in adapter:
        return adapter, location
    return DEFAULT_ADAPTER, spec


def read_rows(location: str, adapter: Adapter) -> Iterator[tuple[str, Any]]:
    """Yield (row label, raw row) from a local file or a HF dataset id; raises if unreadable."""
    path = Path(location)
    if path.suffix == ".jsonl" or (path.is_file() and path.suffix not in _DATASETS_BUILDERS):
        yield from _read_jsonl(path)
        return
    import datasets

    if not path.exists() and (path.suffix in _DATASETS_BUILDERS or location.startswith((".", "/", "~"))):
        raise FileNotFoundError(f"no such file: {location}")
    if path.is_dir():  # a dataset saved with save_to_disk
        dataset = datasets.load_from_disk(str(path))
        if isinstance(dataset, datasets.DatasetDict):
            dataset = dataset[adapter.split]
    elif path.exists():
        if path.suffix not in _DATASETS_BUILDERS:
            raise ValueError(f"{location}: unsupported file type (use .jsonl, {sorted(_DATASETS_BUILDERS)})")
        dataset = datasets.load_dataset(_DATASETS_BUILDERS[path.suffix], data_files=str(path),
                                        split="train")
    else:
        dataset = datasets.load_dataset(location, adapter.config, split=adapter.split)
    for index, row in enumerate(dataset):
        yield f"{location}[{index}]", row


def _read_jsonl(path: Path) -> Iterator[tuple[str, Any]]:
    with path.open(encoding="utf-8", errors="strict") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            label = f"{path}:{number}"
            try:
                yield label, json.loads(line)
            except json.JSONDecodeError as error:
                yield label, _InvalidRow(f"invalid JSON ({error.msg} at column {error.colno})")


@dataclass(frozen=True)
class _InvalidRow:
    reason: str


@functools.lru_cache(maxsize=256)
def _path_parts(path: str) -> tuple[tuple[str, str], ...]:
    return tuple(_PATH_PART.findall(path))


def _get(row: Any, path: str) -> Any:
    """`a.b[0]` into nested dicts/lists; None when any step is missing."""
    if isinstance(row, dict) and path in row:
        return row[path]  # the common case: a plain column name
    value = row
    for name, index in _path_parts(path):
        if name:
            value = value.get(name) if isinstance(value, dict) else None
        else:
            value = value[int(index)] if isinstance(value, list) and int(index) < len(value) else None
        if value is None:
            return None
    return value


def last_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...} (balanced braces), or None."""
    start = text.rfind("\\boxed")
    if start < 0:
        return None
    open_brace = text.find("{", start)
    if open_brace < 0:
        return None
    depth = 0
    for index in range(open_brace, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return text[open_brace + 1 : index].strip()
    return None


class RowError(ValueError):
    """A row that cannot become a Question; the message says why."""


def row_to_question(row: Any, adapter: Adapter, label: str, index: int) -> Question:
    """Map one raw row through the adapter and validate it (raises RowError)."""
    if isinstance(row, _InvalidRow):
        raise RowError(row.reason)
    if not isinstance(row, dict):
        raise RowError(f"row is a {type(row).__name__}, not an object")
    mapped = {name: _get(row, column) for name, column in adapter.fields.items()}

    def text(name: str, required: bool) -> str | None:
        value = mapped.get(name)
        if value is None:
            if required:
                raise RowError(f"missing field {name!r}" + _column_note(adapter, name))
            return None
        if name == "answer" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)  # numeric gold answers (AIME's ints) are exact as text
        if not isinstance(value, str):
            raise RowError(f"field {name!r} is {type(value).__name__}, not a string"
                           + _column_note(adapter, name))
        return value

    question = text("question", required=True)
    if not question.strip():
        raise RowError("empty question")
    solution = text("solution", required=False) or ""
    answer = text("answer", required=False)
    if adapter.answer_from_boxed:
        answer = last_boxed(solution) or answer
    if answer is None or not answer.strip():
        raise RowError("missing reference answer" + _column_note(adapter, "answer"))
    row_id = mapped.get("id")
    if "id" in adapter.fields:
        if isinstance(row_id, int) and not isinstance(row_id, bool):
            row_id = str(row_id)
        if not isinstance(row_id, str) or not row_id.strip():
            raise RowError(f"missing or non-string id ({row_id!r})")
    else:
        row_id = f"{adapter.name}-{index}"
    source = text("source", required=False) if "source" in adapter.fields else None
    metadata = mapped.get("metadata") if "metadata" in adapter.fields else {}
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        if isinstance(metadata, str):
            metadata = {"metadata": metadata}
        else:
            raise RowError(f"metadata is {type(metadata).__name__}, not an object")
    for column in adapter.metadata:
        metadata[column.split(".")[-1]] = _get(row, column)
    domain = mapped.get("domain")
    return Question(
        id=row_id,
        source=source or adapter.source or adapter.name,
        question=question,
        answer=answer.strip(),
        solution=solution,
        domain=str(domain) if domain not in (None, "") else None,
        metadata=metadata,
        thinking=text("thinking", required=False),
        attempt=text("attempt", required=False),
        origin=label,
    )


def _column_note(adapter: Adapter, name: str) -> str:
    column = adapter.fields.get(name)
    return f" (column {column!r})" if column and column != name else ""


def ingest(specs: tuple[str, ...] | list[str]) -> Ingested:
    """Read every source; rows with problems and duplicate ids become drops, never exceptions."""
    result = Ingested()
    first_seen: dict[str, str] = {}
    for spec in specs:
        adapter_name, location = split_spec(spec)
        report = SourceReport(spec=spec, adapter=adapter_name)
        result.sources.append(report)
        try:
            adapter = load_adapter(adapter_name)
            rows = read_rows(location, adapter)
            for index, (label, row) in enumerate(rows):
                report.rows += 1
                try:
                    question = row_to_question(row, adapter, label, index)
                except RowError as error:
                    row_id = row.get("id") if isinstance(row, dict) else None
                    result.drops.append(Drop(
                        id=str(row_id) if isinstance(row_id, (str, int)) else label,
                        source=spec, stage=STAGE, reason=_reason_category(str(error)),
                        detail=f"{label}: {error}",
                    ))
                    continue
                if question.id in first_seen:
                    result.drops.append(Drop(
                        id=question.id, source=question.source, stage=STAGE, reason="duplicate id",
                        detail=f"{label}: id {question.id!r} already read at {first_seen[question.id]}",
                    ))
                    continue
                first_seen[question.id] = label
                result.questions.append(question)
                report.kept += 1
        except Exception as error:  # noqa: BLE001 - any unreadable source is reported, not fatal
            report.error = f"{type(error).__name__}: {error}"
            log.error("cannot read source %s (%d rows read before the error): %s",
                      spec, report.rows, report.error)
            result.drops.append(Drop(id=spec, source=spec, stage=STAGE, reason="unreadable source",
                                     detail=report.error))
    bad = sum(1 for drop in result.drops if drop.reason != "unreadable source")
    if bad:
        log.warning("ingest: %d rows rejected (see dropped.jsonl); first: %s", bad,
                    next(d.detail for d in result.drops if d.reason != "unreadable source"))
    return result


def _reason_category(message: str) -> str:
    """The counted reason: the message without the row-specific part in parentheses."""
    return message.split(" (", 1)[0]


def read_eval_questions(specs: tuple[str, ...] | list[str]) -> tuple[list, list[SourceReport]]:
    """Evaluation questions to decontaminate against; an unreadable eval set is an error.

    (Skipping an eval set silently would leave the selection contaminated, so unlike pool
    sources an eval set that cannot be read stops the run before any work.) Rows without a
    question are counted in the source report and logged.
    """
    from s1.curation.decontaminate import EvalQuestion

    questions, reports = [], []
    for spec in specs:
        adapter_name, location = split_spec(spec)
        name = adapter_name if adapter_name != DEFAULT_ADAPTER else Path(location).stem
        report = SourceReport(spec=spec, adapter=adapter_name)
        reports.append(report)
        try:
            adapter = load_adapter(adapter_name)
            for index, (label, row) in enumerate(read_rows(location, adapter)):
                report.rows += 1
                text = _get(row, adapter.fields["question"]) if isinstance(row, dict) else None
                if not isinstance(text, str) or not text.strip():
                    log.warning("eval set %s: %s has no question text; skipped", spec, label)
                    continue
                row_id = _get(row, adapter.fields["id"]) if "id" in adapter.fields else None
                questions.append(EvalQuestion(
                    id=str(row_id) if row_id is not None else str(index), eval_set=name,
                    question=text,
                ))
                report.kept += 1
        except Exception as error:  # noqa: BLE001 - re-raised with the eval set named
            raise ValueError(f"cannot read eval set {spec}: {type(error).__name__}: {error}") from error
    return questions, reports
