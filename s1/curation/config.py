"""Typed, validated configuration of one curation run (`s1 curate`, the KFP curate component).

A YAML file holds the same keys as `CurationConfig` (see `s1/curation/configs/s1k.yaml`); command
line flags override it. Validation happens when the object is built, so a bad value fails before
any file is read or any model is called.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class EndpointConfig:
    """One model behind an OpenAI-compatible chat-completions endpoint (vLLM, a hosted API)."""

    model: str
    base_url: str = "http://127.0.0.1:8000/v1"
    # Name of the environment variable holding the API key: keys never live in config files.
    api_key_env: str | None = "OPENAI_API_KEY"
    max_tokens: int = 32_768  # s1's attempts: max 32,768 tokens
    temperature: float = 0.05  # s1's attempts: temperature 0.05
    timeout_s: float = 600.0
    max_retries: int = 5
    # First retry waits about this long; each further retry doubles it (capped at 60 s).
    retry_backoff_s: float = 1.0
    concurrency: int = 16
    # Client-side rate limit; None leaves pacing to the server's 429s (retried with backoff).
    requests_per_second: float | None = None

    def __post_init__(self) -> None:
        _check(bool(self.model), "endpoint model must be a non-empty string")
        _check(self.base_url.startswith(("http://", "https://")),
               f"endpoint base_url must be an http(s) URL, got {self.base_url!r}")
        _check(self.max_tokens > 0, f"max_tokens must be > 0, got {self.max_tokens}")
        _check(self.temperature >= 0, f"temperature must be >= 0, got {self.temperature}")
        _check(self.timeout_s > 0, f"timeout_s must be > 0, got {self.timeout_s}")
        _check(self.max_retries >= 0, f"max_retries must be >= 0, got {self.max_retries}")
        _check(self.retry_backoff_s >= 0, f"retry_backoff_s must be >= 0, got {self.retry_backoff_s}")
        _check(self.concurrency >= 1, f"concurrency must be >= 1, got {self.concurrency}")
        _check(self.requests_per_second is None or self.requests_per_second > 0,
               f"requests_per_second must be > 0, got {self.requests_per_second}")


@dataclass(frozen=True)
class PreselectConfig:
    """s1's pre-selection: examples that go straight into the selection before sampling.

    A question qualifies when the teacher's answer is correct and its source is one of
    `sources`, or its source is in `long_trace_sources` with a trace longer than the given
    number of tokens (s1: GPQA and AIME, or MATH with more than 5,600 tokens).
    """

    sources: tuple[str, ...] = ("gpqa", "aime")
    long_trace_sources: dict[str, int] = field(default_factory=lambda: {"math": 5600})


@dataclass(frozen=True)
class CurationConfig:
    """Everything one curation run needs; paths are local files, folders or HF dataset ids.

    pool / eval_sets entries are `NAME`, `NAME=LOCATION` or `LOCATION` (names are the datasets in
    s1/data/datasets/; a bare location is read in the pool schema).
    """

    pool: tuple[str, ...]
    eval_sets: tuple[str, ...] = ()
    n: int = 1000
    out: Path = Path("curated")
    seed: int = 0
    # Resumable model-call cache; default OUT/cache. Share it between runs to never pay twice.
    cache_dir: Path | None = None
    # Tokenizer that measures trace length; default: Qwen2.5's, written offline and cached.
    tokenizer: str | None = None
    # Near-duplicate questions: Jaccard similarity of word n-grams at or above the threshold.
    dedupe_ngram: int = 5
    near_duplicate_threshold: float = 0.8
    # s1: any shared word 8-gram with an eval question drops the training question (0.0);
    # a threshold t drops when more than a fraction t of the question's 8-grams are shared.
    decontamination_ngram: int = 8
    decontamination_threshold: float = 0.0
    # An n-gram held by at least this many pool questions is boilerplate ("... relatively prime
    # positive integers. Find m+n"): drops report it; with ignore, it never causes a drop.
    decontamination_boilerplate_min_questions: int = 10
    decontamination_ignore_boilerplate: bool = False
    # Words with LaTeX spacing and punctuation normalised (s1/curation/ngrams.py); false: s1's
    # whitespace words, which miss copies that only differ in spacing.
    decontamination_normalise: bool = True
    # `[asy]` figures are dropped except for these sources (s1 keeps them for AIME).
    asy_allowed_sources: tuple[str, ...] = ("aime",)
    teacher: EndpointConfig | None = None
    # Difficulty: questions that any of these models solves are dropped (s1: Qwen2.5-7B/32B).
    attempt_models: tuple[EndpointConfig, ...] = ()
    # Grades non-math attempts and classifies domains; without it the pool's `domain` is used.
    grader: EndpointConfig | None = None
    preselect: PreselectConfig | None = None

    def __post_init__(self) -> None:
        _check(len(self.pool) > 0, "at least one pool source is required (--pool)")
        for entry in (*self.pool, *self.eval_sets):
            _check(isinstance(entry, str) and entry.strip() != "",
                   f"pool and eval-set entries must be non-empty strings, got {entry!r}")
        _check(self.n >= 1, f"n must be >= 1, got {self.n}")
        _check(self.dedupe_ngram >= 1, f"dedupe_ngram must be >= 1, got {self.dedupe_ngram}")
        _check(0 < self.near_duplicate_threshold <= 1,
               f"near_duplicate_threshold must be in (0, 1], got {self.near_duplicate_threshold}")
        _check(self.decontamination_ngram >= 1,
               f"decontamination_ngram must be >= 1, got {self.decontamination_ngram}")
        _check(0 <= self.decontamination_threshold < 1,
               f"decontamination_threshold must be in [0, 1), got {self.decontamination_threshold}")
        _check(self.decontamination_boilerplate_min_questions >= 2,
               "decontamination_boilerplate_min_questions must be >= 2, got "
               f"{self.decontamination_boilerplate_min_questions}")

    @property
    def resolved_cache_dir(self) -> Path:
        return self.cache_dir if self.cache_dir is not None else self.out / "cache"

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "CurationConfig":
        """Build from plain data (YAML), converting nested sections; unknown keys are errors."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        _check(not unknown, f"unknown curation config keys {unknown}; known: {sorted(known)}")
        values = dict(values)
        for key in ("pool", "eval_sets", "asy_allowed_sources"):
            if key in values:
                value = values[key]
                values[key] = (value,) if isinstance(value, str) else tuple(value)
        for key in ("out", "cache_dir"):
            if values.get(key) is not None:
                values[key] = Path(values[key])
        for key in ("teacher", "grader"):
            if values.get(key) is not None:
                values[key] = _endpoint(values[key], key)
        if "attempt_models" in values:
            values["attempt_models"] = tuple(
                _endpoint(item, f"attempt_models[{i}]")
                for i, item in enumerate(values["attempt_models"] or ())
            )
        if values.get("preselect") is not None:
            preselect = values["preselect"]
            if preselect is True:
                preselect = {}
            _check(isinstance(preselect, dict), "preselect must be true or a mapping")
            if "sources" in preselect:
                preselect = {**preselect, "sources": tuple(preselect["sources"])}
            values["preselect"] = _build(PreselectConfig, preselect, "preselect")
        elif "preselect" in values:
            values["preselect"] = None
        return _build(cls, values, "curation config")

    @classmethod
    def from_yaml(cls, path: Path, overrides: dict[str, Any] | None = None) -> "CurationConfig":
        """Load YAML, then apply non-None overrides (command-line flags win)."""
        try:
            loaded = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as error:
            raise ValueError(f"cannot read curation config {path}: {error}") from error
        _check(isinstance(loaded, dict), f"curation config {path} must be a mapping")
        loaded.update({k: v for k, v in (overrides or {}).items() if v is not None})
        return cls.from_dict(loaded)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready view for the report (paths as strings)."""
        def convert(value: Any) -> Any:
            if isinstance(value, Path):
                return str(value)
            if isinstance(value, (list, tuple)):
                return [convert(v) for v in value]
            if isinstance(value, dict):
                return {k: convert(v) for k, v in value.items()}
            return value

        return convert(dataclasses.asdict(self))


def _endpoint(values: Any, where: str) -> EndpointConfig:
    _check(isinstance(values, dict), f"{where} must be a mapping with at least `model`")
    return _build(EndpointConfig, values, where)


def _build(cls: type, values: dict[str, Any], where: str) -> Any:
    try:
        return cls(**values)
    except TypeError as error:
        raise ValueError(f"{where}: {error}") from error


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)
