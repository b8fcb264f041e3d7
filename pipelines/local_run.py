"""Run the s1 pipeline on this machine with KFP's own local runner, then gather its artifacts.

Usage: s1 pipeline run-local --out runs/local [--model tiny-qwen] [--runner docker]

The same `s1_pipeline` function that compiles to `pipelines/s1_pipeline.yaml` runs through
`kfp.local` (subprocess runner; or its DockerRunner, each component in its own image:
`pipelines/docker_run.py`), with arguments a laptop can afford: a synthetic pool
and a held-out synthetic benchmark written under OUT/inputs, a small model, the local training
launcher, deployment off. The artifacts are then linked into OUT under stable names.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

@dataclass(frozen=True)
class LocalProfile:
    """How one local model is trained (a recipe in s1/recipes/train/) and evaluated.

    `domains` picks the synthetic pool's slices (`s1.pool.synth.synthesize_pool`) for both the
    training pool and the held-out benchmark; None keeps the synth module's default mix.
    """

    recipe: str
    pool_size: int
    n: int
    eval_size: int
    budgets: tuple[int, ...]
    max_answer_tokens: int
    train_overrides: dict[str, str] = field(default_factory=dict)
    domains: dict[str, float] | None = None
    # The difficulty filter's attempt model (a curation role) and how many questions it answers
    # (None: all of them).
    attempt_model: dict = field(default_factory=dict)
    attempt_sample: int | None = None


PROFILES = {
    # A real 135M instruct model on the counting slice: 2-14 word lists whose trace is 3 tokens
    # a word, so 8 thinking tokens cannot finish any list over 2 words, 24 finishes lists up to
    # 8 and 64 all of them: accuracy rises with the budget because the enumeration is what finds
    # the count (SmolLM2-135M cannot do multi-digit arithmetic even with a trace). A pool of 80
    # keeps every list length in the 64 selected (curation favours long traces); 64 examples x
    # 2 epochs is ~24 packed 512-token steps (~2.5 min on 2 cores); 24 held-out questions are
    # three generation batches per budget; "Final Answer: 14<|im_end|>" fits in 8 tokens.
    # s1's difficulty filter with SmolLM2 as the attempt model (its chat template, a plain reply,
    # math-verify): it states a count in a short sentence or enumerates, so 24 tokens decide
    # (an enumeration cut off there is unsolved); it answers a sample of 32 questions, which
    # keeps the whole run within 3 minutes on 2 cores.
    "smollm2": LocalProfile(
        "smollm2", pool_size=80, n=64, eval_size=24, budgets=(8, 24, 64), max_answer_tokens=8,
        domains={"counting": 1.0}, attempt_model={"model": "local:smollm2", "max_tokens": 24},
        attempt_sample=32,
    ),
    # Random weights, for tests and a first look: little data, one epoch, no mid-run checkpoints.
    "tiny-qwen": LocalProfile(
        "tiny-qwen", pool_size=64, n=16, eval_size=4, budgets=(8, 16, 32), max_answer_tokens=8,
        train_overrides={"epochs": "1", "save_steps": "1000"},
        attempt_model={"model": "local:tiny-qwen", "max_tokens": 8},
    ),  # fmt: skip
}


RUNNERS = ("subprocess", "docker")


@dataclass(frozen=True)
class LocalRunConfig:
    """Arguments for one local run; validated before anything runs."""

    out: Path
    model: str
    pool_size: int
    n: int
    eval_size: int
    budgets: tuple[int, ...]
    seed: int = 0
    train_overrides: dict[str, str] = field(default_factory=dict)
    # "subprocess": this environment; "docker": each component in its image (DOCKER_HOST).
    runner: str = "subprocess"
    # Engine of the local attempt model: transformers, or vLLM's CPU build ("vllm").
    curation_engine: str = "transformers"

    def __post_init__(self) -> None:
        if self.model not in PROFILES:
            raise ValueError(f"--model must be one of {', '.join(PROFILES)}, got {self.model!r}")
        if self.runner not in RUNNERS:
            raise ValueError(f"--runner must be one of {', '.join(RUNNERS)}, got {self.runner!r}")
        if self.curation_engine not in ("transformers", "vllm"):
            raise ValueError(f"--curation-engine must be transformers or vllm, got {self.curation_engine!r}")
        if self.pool_size < 1 or self.n < 1 or self.eval_size < 1:
            raise ValueError("--pool-size, --n and --eval-size must be ≥ 1")
        if self.n > self.pool_size:
            raise ValueError(f"--n {self.n} cannot exceed --pool-size {self.pool_size}")
        if not self.budgets or any(b < 1 for b in self.budgets):
            raise ValueError(f"--budgets must be positive token counts, got {list(self.budgets)}")

    @classmethod
    def for_model(cls, out: Path, model: str = "smollm2", **given) -> "LocalRunConfig":
        """The model's profile, with every argument given (not None) taking precedence."""
        if model not in PROFILES:
            raise ValueError(f"--model must be one of {', '.join(PROFILES)}, got {model!r}")
        profile = PROFILES[model]
        defaults = {name: getattr(profile, name) for name in ("pool_size", "n", "eval_size", "budgets")}
        chosen = {key: value for key, value in given.items() if value is not None}
        return cls(out=out, model=model, **{**defaults, **chosen})

    @property
    def profile(self) -> LocalProfile:
        return PROFILES[self.model]


def write_inputs(config: LocalRunConfig) -> tuple[Path, Path]:
    """A synthetic training pool and a held-out synthetic benchmark (another seed)."""
    from s1.jsonl import write_jsonl
    from s1.pool.synth import synthesize_pool

    # Absolute: a step in a container (--runner docker) sees them at the same path, not its cwd.
    inputs = config.out.resolve() / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    pool, benchmark = inputs / "pool.jsonl", inputs / "benchmark.jsonl"
    domains = config.profile.domains
    for path, rows in (
        (pool, synthesize_pool(config.pool_size, config.seed, domains)),
        (benchmark, synthesize_pool(config.eval_size, config.seed + 1_000_003, domains)),
    ):
        write_jsonl(path, rows)
    return pool, benchmark


def pipeline_arguments(config: LocalRunConfig, pool: Path, benchmark: Path) -> dict:
    """The s1 pipeline's parameters for a laptop: everything else keeps its cluster default."""
    profile = config.profile
    return {
        "pool_sources": [str(pool)],
        "n": config.n,
        "seed": config.seed,
        "base_model": "",  # the local recipe names its model (local:smollm2 / local:tiny-qwen)
        "recipe": profile.recipe,
        "train_overrides": {**profile.train_overrides, **config.train_overrides},
        "train_launcher": "local",
        "benchmarks": [str(benchmark)],
        "budgets": list(config.budgets),
        "eval_limit": 0,
        "max_answer_tokens": profile.max_answer_tokens,
        "eval_engine": "auto",  # vLLM only where it is installed and usable; transformers on CPU
        "attempt_models": [profile.attempt_model],
        "attempt_sample": profile.attempt_sample or 0,
        "curation_engine": config.curation_engine,
        "curation_gpus": 0,  # no GPU here: the curate step stays in its CPU image
        "workdir": str((config.out / "work").resolve()),
        "deploy_model": False,
    }


def run_local(config: LocalRunConfig) -> dict:
    """Run the pipeline through `kfp.local`; return where everything landed (see `collect`)."""
    from kfp import local

    from pipelines.pipeline import s1_pipeline

    started = time.monotonic()
    config.out.mkdir(parents=True, exist_ok=True)
    pool, benchmark = write_inputs(config)
    root = (config.out / "kfp").resolve()
    before = set(root.iterdir()) if root.is_dir() else set()
    runner, pipeline = local.SubprocessRunner(use_venv=False), s1_pipeline
    if config.runner == "docker":
        runner, pipeline = _docker(config, s1_pipeline)
    local.init(runner=runner, pipeline_root=str(root), raise_on_error=True)
    with warnings.catch_warnings():
        # Expected: the component images are s1's own, and this environment is what they hold.
        warnings.filterwarnings("ignore", message=".*non-Python base image", category=RuntimeWarning)
        pipeline(**pipeline_arguments(config, pool, benchmark))
    runs = sorted(set(root.iterdir()) - before, key=lambda p: p.stat().st_mtime)
    if not runs:
        raise RuntimeError(f"kfp.local wrote no run folder under {root}")
    result = collect(runs[-1], config.out)
    result["seconds"] = round(time.monotonic() - started, 1)
    (config.out / "summary.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def _docker(config: LocalRunConfig, pipeline):
    """DockerRunner and the pipeline on CPU images; the local model is built here, once, into
    s1's cache, which the containers mount (the images do not ship the model packages)."""
    from s1.cache import cache_dir
    from s1.train.config import load_recipe
    from s1.train.run import resolve_model

    from pipelines.docker_run import prepare

    resolve_model(load_recipe(config.profile.recipe).model)
    return prepare(pipeline, config.out, cache_dir())


def _link_tree(source: Path, target: Path) -> None:
    """Hard-link (same disk, no copy of the weights) or copy `source` to `target`."""
    if target.exists() or target.is_symlink():
        shutil.rmtree(target) if target.is_dir() and not target.is_symlink() else target.unlink()
    if source.is_dir():
        try:
            shutil.copytree(source, target, copy_function=os.link)
        except OSError:
            shutil.copytree(source, target)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def collect(run: Path, out: Path) -> dict:
    """Link a local run's artifacts into `out` under stable names and gather its metrics.

    kfp.local lays a run out as ``<run>/<task>/<output>``; a task's metrics are the metadata of
    its Metrics artifact in ``<run>/<task>/executor_output.json``.
    """
    layout = {
        "dataset": run / "curate" / "dataset",
        "model": run / "train" / "model",
        "evaluation": run / "evaluate" / "results",
        "curation_report.html": run / "curate" / "report",
        "curation_report.md": run / "curate" / "summary",
        "evaluation_report.html": run / "evaluate" / "report",
        "evaluation_report.md": run / "evaluate" / "summary",
    }
    missing = [str(path) for path in layout.values() if not path.exists()]
    if missing:
        raise FileNotFoundError(f"the local run {run} lacks expected artifacts: {', '.join(missing)}")
    paths = {}
    for name, source in layout.items():
        _link_tree(source, out / name)
        paths[name] = str(out / name)
    plot = out / "evaluation" / "scaling.png"
    if plot.is_file():
        _link_tree(plot, out / "accuracy_vs_thinking_budget.png")
        paths["plot"] = str(out / "accuracy_vs_thinking_budget.png")
    metrics = {}
    for task in ("curate", "train", "evaluate"):
        executed = json.loads((run / task / "executor_output.json").read_text())
        (artifact,) = executed["artifacts"]["metrics"]["artifacts"]
        metrics[task] = artifact.get("metadata", {})
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    paths["metrics"] = str(out / "metrics.json")
    return {"run": str(run), "paths": paths, "metrics": metrics}
