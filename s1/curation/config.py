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

from s1.generation.engine import ENGINE_NAMES


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


# A role's `model` with this prefix names a model folder or hub id run in this process.
LOCAL_PREFIX = "local:"


@dataclass(frozen=True)
class LocalModelConfig:
    """One model run in this process through the engine layer (`s1.generation.engine`), e.g.
    `local:Qwen/Qwen2.5-7B-Instruct`, `local:/models/judge` or `local:smollm2` (a model
    `s1 models build` makes, as in training recipes).

    A role's prompts go to the engine as batched sweeps of `sweep_size` prompts; each finished
    sweep is cached at once, so a killed run loses at most the sweeps in flight. Sampling
    defaults are s1's attempt settings (temperature 0.05, up to 32,768 tokens).
    """

    model: str
    # auto, transformers or vllm, as `s1 evaluate --engine`; None: the run's (`s1 curate --engine`).
    engine: str | None = None
    # vLLM: GPUs per model; None: the run's setting, else every visible GPU.
    tensor_parallel_size: int | None = None
    gpu_memory_utilization: float | None = None
    max_model_len: int | None = None
    batch_size: int = 8  # transformers: prompts per `generate` call
    sweep_size: int | None = None  # None: 4 x what the engine runs at once (transformers: batch_size)
    max_tokens: int = 32_768
    temperature: float = 0.05
    top_p: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        _check(self.model.startswith(LOCAL_PREFIX) and bool(self.path.strip()),
               f"a local model is written {LOCAL_PREFIX}PATH_OR_HUB_ID, got {self.model!r}")
        _check(self.engine is None or self.engine in ENGINE_NAMES,
               f"engine must be one of {', '.join(ENGINE_NAMES)}, got {self.engine!r}")
        _check(self.tensor_parallel_size is None or self.tensor_parallel_size >= 1,
               f"tensor_parallel_size must be >= 1, got {self.tensor_parallel_size}")
        _check(self.gpu_memory_utilization is None or 0 < self.gpu_memory_utilization <= 1,
               f"gpu_memory_utilization must be in (0, 1], got {self.gpu_memory_utilization}")
        _check(self.max_model_len is None or self.max_model_len > 0,
               f"max_model_len must be > 0, got {self.max_model_len}")
        _check(self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}")
        _check(self.sweep_size is None or self.sweep_size >= 1,
               f"sweep_size must be >= 1, got {self.sweep_size}")
        _check(self.max_tokens > 0, f"max_tokens must be > 0, got {self.max_tokens}")
        _check(self.temperature >= 0, f"temperature must be >= 0, got {self.temperature}")
        _check(0 < self.top_p <= 1, f"top_p must be in (0, 1], got {self.top_p}")

    @property
    def path(self) -> str:
        """The model folder or hub id after the `local:` prefix."""
        return self.model[len(LOCAL_PREFIX):]


RoleModel = EndpointConfig | LocalModelConfig


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
    # Model roles: an endpoint ({model, base_url, ...}) or a local model ({model: local:..., ...}).
    teacher: RoleModel | None = None
    # Difficulty: questions that any of these models solves are dropped (s1: Qwen2.5-7B/32B).
    attempt_models: tuple[RoleModel, ...] = ()
    # Attempt only a seeded random sample of this many questions (None: all of them, as s1);
    # the others stay unattempted and the report says how many. For quick looks on small hardware.
    attempt_sample: int | None = None
    # The judge: grades attempts math-verify cannot decide and classifies domains; without it
    # the pool's `domain` is used.
    grader: RoleModel | None = None
    preselect: PreselectConfig | None = None
    # Local roles that set no engine / tensor parallelism of their own use these (`--engine`,
    # `--tensor-parallel-size`; auto = vLLM when installed and a GPU is visible, as evaluate).
    engine: str = "auto"
    tensor_parallel_size: int | None = None
    # A role whose calls fail beyond this share (or all of them) stops the run with an error;
    # what was answered stays cached. allow_failed_calls: warn and go on instead (failed
    # attempts then count as unsolved, failed judge calls as ungraded, failed domains unknown).
    max_failed_call_share: float = 0.1
    allow_failed_calls: bool = False

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
        _check(self.attempt_sample is None or self.attempt_sample >= 1,
               f"attempt_sample must be >= 1, got {self.attempt_sample}")
        _check(self.engine in ENGINE_NAMES,
               f"engine must be one of {', '.join(ENGINE_NAMES)}, got {self.engine!r}")
        _check(self.tensor_parallel_size is None or self.tensor_parallel_size >= 1,
               f"tensor_parallel_size must be >= 1, got {self.tensor_parallel_size}")
        _check(0 <= self.max_failed_call_share < 1,
               f"max_failed_call_share must be in [0, 1), got {self.max_failed_call_share}")

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
                values[key] = role_model(values[key], key)
        if "attempt_models" in values:
            values["attempt_models"] = tuple(
                role_model(item, f"attempt_models[{i}]")
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

    @property
    def local_models(self) -> list[LocalModelConfig]:
        """Every role run locally, in the order the run loads them."""
        roles = (self.teacher, *self.attempt_models, self.grader)
        return [role for role in roles if isinstance(role, LocalModelConfig)]

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


def role_model(values: Any, where: str) -> RoleModel:
    """A role's model from YAML: a mapping with `model` (a bare string is the model alone);
    `local:...` builds a LocalModelConfig, anything else an EndpointConfig."""
    if isinstance(values, str):
        values = {"model": values}
    _check(isinstance(values, dict), f"{where} must be a mapping with at least `model`")
    cls = LocalModelConfig if str(values.get("model", "")).startswith(LOCAL_PREFIX) else EndpointConfig
    return _build(cls, _whole_numbers(cls, values, where), where)


def _whole_numbers(cls: type, values: dict[str, Any], where: str) -> dict[str, Any]:
    """Integer settings given as whole floats become ints: KFP hands dict parameters over as
    JSON numbers (`24.0`), and vLLM and OpenAI servers reject a float `max_tokens`."""
    integers = {f.name for f in dataclasses.fields(cls) if str(f.type).split(" |")[0] == "int"}
    fixed = dict(values)
    for name in integers & set(values):
        value = values[name]
        if isinstance(value, float):
            _check(value.is_integer(), f"{where}: {name} must be a whole number, got {value}")
            fixed[name] = int(value)
    return fixed


def _build(cls: type, values: dict[str, Any], where: str) -> Any:
    try:
        return cls(**values)
    except TypeError as error:
        raise ValueError(f"{where}: {error}") from error


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)
