"""The dataset registry: one YAML file per dataset in ``s1/data/datasets/``, read by curation (pool
sources and eval sets) and by evaluation (benchmarks) alike.

An entry says where the dataset lives (``location``: a hub id or a file; none for schemas without a
home, such as ``pool``), which ``config``/``split``, how its columns map onto a question
(``fields``) and how its answers are graded (``kind``). Adding a dataset is adding a YAML file.

References on the command line and in the pipeline take one form everywhere:
``NAME`` (a registered dataset at its own location), ``NAME=LOCATION`` (its mapping, another copy:
a mirrored file, a folder, another hub id; NAME may be a YAML file of your own) or a bare
``LOCATION`` (the caller's default mapping).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields as dataclass_fields, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Callable

import yaml

KINDS = ("math", "choice")
# What a column can become; `incorrect` lists the wrong options of a choice question.
ROLES = ("id", "source", "question", "solution", "answer", "domain", "thinking", "attempt",
         "metadata", "incorrect")


@dataclass(frozen=True)
class FieldMap:
    """Which column holds each part of a question; None: the data has no such column.

    Columns may be nested paths (``other.solution``, ``solution[0]``).
    """

    question: str = "question"
    answer: str | None = "answer"
    id: str | None = None  # None: rows are numbered
    solution: str | None = None
    source: str | None = None
    domain: str | None = None
    thinking: str | None = None
    attempt: str | None = None
    metadata: str | None = None  # a column holding an object of extra fields
    incorrect: tuple[str, ...] = ()  # choice datasets: the wrong options' columns

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FieldMap:
        unknown = sorted(set(data) - set(ROLES))
        if unknown:
            raise ValueError(f"unknown field roles {unknown}; known: {', '.join(ROLES)}")
        if not data.get("question"):
            raise ValueError("the field mapping must name the `question` column")
        incorrect = data.get("incorrect") or ()
        unmapped = {role: None for role in ROLES if role not in ("question", "incorrect")}
        return cls(**{**unmapped, **data, "incorrect": tuple(
            [incorrect] if isinstance(incorrect, str) else incorrect)})

    def columns(self) -> dict[str, str]:
        """Role -> column for every mapped role (``incorrect[i]`` for the wrong options)."""
        roles = {f.name: getattr(self, f.name) for f in dataclass_fields(self)
                 if f.name != "incorrect" and getattr(self, f.name) is not None}
        roles.update({f"incorrect[{i}]": column for i, column in enumerate(self.incorrect)})
        return roles


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset: where it lives, how to read its rows, how to grade its answers."""

    name: str
    location: str | None = None  # hub id, file or folder; None: give NAME=LOCATION
    config: str | None = None
    split: str = "train"
    kind: str = "math"
    fields: FieldMap = field(default_factory=FieldMap)
    title: str = ""
    source: str | None = None  # constant `source` label of pool rows; default: the name
    answer_from_boxed: bool = False  # the gold answer is the solution's last \boxed{}
    metadata: tuple[str, ...] = ()  # extra columns kept in a pool question's metadata
    choice_seed: int = 0  # choice datasets: seed of the per-question option shuffle

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"dataset {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.kind == "choice" and not self.fields.incorrect:
            raise ValueError(f"dataset {self.name!r}: a choice dataset needs fields.incorrect "
                             "(the columns of the wrong options)")
        if self.kind == "math" and self.fields.incorrect:
            raise ValueError(f"dataset {self.name!r}: fields.incorrect is only for kind choice")

    @property
    def display_name(self) -> str:
        return self.title or self.name


@cache
def registry() -> dict[str, DatasetSpec]:
    """Every shipped dataset, by name."""
    folder = resources.files("s1.data") / "datasets"
    specs = {}
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".yaml"):
            spec = _from_yaml(entry.read_text(), entry.name)
            if spec.name != entry.name[: -len(".yaml")]:
                raise ValueError(f"dataset file {entry.name} declares name {spec.name!r}")
            specs[spec.name] = spec
    return specs


def dataset(name: str) -> DatasetSpec:
    """A registered dataset by name, or one declared in a YAML file of your own."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise FileNotFoundError(f"dataset file {name} does not exist")
        return _from_yaml(path.read_text(), name)
    known = registry()
    if name not in known:
        raise ValueError(f"unknown dataset {name!r}; registered: {', '.join(known)}")
    return known[name]


def resolve(ref: str, default: Callable[[str], DatasetSpec]) -> DatasetSpec:
    """``NAME``, ``NAME=LOCATION`` or ``LOCATION`` -> the dataset with its location filled in;
    ``default(location)`` describes a bare location."""
    ref = ref.strip()
    name, sep, location = ref.partition("=")
    if sep and name and ("/" not in name or name.endswith((".yaml", ".yml"))):
        if not location:
            raise ValueError(f"{ref!r}: NAME=LOCATION needs a location after '='")
        return replace(dataset(name), location=location)
    if ref in registry() and not Path(ref).exists():
        spec = registry()[ref]
        if spec.location is None:
            raise ValueError(f"dataset {ref!r} has no default location; give {ref}=FILE")
        return spec
    return default(ref)


def _from_yaml(text: str, where: str) -> DatasetSpec:
    try:
        values = yaml.safe_load(text)
        if not isinstance(values, dict):
            raise ValueError("expected a mapping")
        values = dict(values)
        values["fields"] = FieldMap.from_dict(values.get("fields") or {})
        values["metadata"] = tuple(values.get("metadata") or ())
        return DatasetSpec(**values)
    except (TypeError, ValueError, yaml.YAMLError) as error:
        raise ValueError(f"dataset {where}: {error}") from error
