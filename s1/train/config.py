"""Training recipes as data: typed configs loaded from YAML and validated before anything runs.

A recipe (``s1/recipes/train/<name>.yaml``) holds the model and the hyperparameters; it names a
topology (``s1/recipes/topology/<name>.yaml``) that holds the cluster shape and the distributed
settings, so the same hyperparameters run on 2 x 8 H100 or on two CPU processes.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

RECIPES_DIR = Path(__file__).resolve().parent.parent / "recipes"
TRAIN_RECIPES_DIR = RECIPES_DIR / "train"
TOPOLOGIES_DIR = RECIPES_DIR / "topology"


class RecipeError(ValueError):
    """A recipe, topology or override that cannot be used; the message says which key and why."""


@dataclass(frozen=True)
class Topology:
    """Where and how the processes run; nothing here changes the optimisation."""

    name: str
    nodes: int = 1
    # Processes per node: one per GPU on GPU nodes, one per CPU process group member otherwise.
    processes_per_node: int = 1
    device: Literal["cuda", "cpu"] = "cpu"
    backend: Literal["nccl", "gloo"] = "gloo"
    attn_implementation: Literal["flash_attention_2", "sdpa", "eager"] = "sdpa"
    gradient_checkpointing: bool = False
    # Seconds a collective may wait before the process group aborts (torch's default: 1800).
    collective_timeout_s: int = 1800
    # A DeepSpeed config (the JSON schema, as YAML); None runs plain DDP.
    deepspeed: dict[str, Any] | None = None
    # Environment the launcher sets for every rank (NCCL settings, thread counts).
    env: dict[str, str] = field(default_factory=dict)

    @property
    def world_size(self) -> int:
        return self.nodes * self.processes_per_node


@dataclass(frozen=True)
class Recipe:
    """The model and the hyperparameters of one SFT run."""

    name: str
    # A hub id, a local folder, or ``local:tiny-qwen`` / ``local:smollm2`` (built by s1.models).
    model: str
    topology: Topology
    epochs: float = 1.0
    # Rows per optimizer step over all ranks; each rank takes one row per micro-step. A row is
    # one example unpacked (s1: 16 examples per step), or up to block_size tokens packed.
    global_batch_size: int = 1
    learning_rate: float = 1e-5
    warmup_ratio: float = 0.0
    lr_scheduler: Literal["cosine", "linear", "constant_with_warmup"] = "cosine"
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    precision: Literal["bf16", "fp32"] = "fp32"
    block_size: int = 2048
    # What to do with an example longer than block_size: cut it, or leave it out (counted).
    overlong: Literal["truncate", "drop"] = "truncate"
    # True: whole examples packed into block_size rows, the step loss a per-token mean over the
    # step. False (s1): one example per row and micro-batch, the step loss the mean of the
    # examples' per-token means (s1/TRL's average: per micro-batch, then over ranks).
    packing: bool = True
    # Steps whose rows are sorted by length together before being cut into steps (then the steps
    # are shuffled): ranks wait less on the longest row of a step. 1 = the Trainer's uniform
    # random draw (s1's).
    length_group_steps: int = 1
    # Tokens per cross-entropy chunk: bounds the fp32 logits held at once to chunk x vocab.
    loss_chunk_size: int = 4096
    seed: int = 42
    save_steps: int = 50
    save_total_limit: int = 2
    # Mirror of the complete checkpoints in an object store (fsspec URI; s3:// needs s3fs), so a
    # run survives losing its volume; a fresh `out` resumes from it. None: `out` only.
    checkpoint_uri: str | None = None
    # -1 trains for `epochs`; a positive value stops after that many optimizer steps.
    max_steps: int = -1

    def __post_init__(self) -> None:
        checks = {
            "epochs": self.epochs > 0,
            "global_batch_size": self.global_batch_size >= 1,
            "learning_rate": self.learning_rate > 0,
            "warmup_ratio": 0 <= self.warmup_ratio < 1,
            "weight_decay": self.weight_decay >= 0,
            "block_size": self.block_size >= 16,
            "loss_chunk_size": self.loss_chunk_size >= 1,
            "length_group_steps": self.length_group_steps >= 1,
            "save_steps": self.save_steps >= 1,
            "save_total_limit": self.save_total_limit >= 1,
            "max_steps": self.max_steps == -1 or self.max_steps >= 1,
        }
        for key, ok in checks.items():
            if not ok:
                raise RecipeError(f"recipe {self.name!r}: invalid {key}={getattr(self, key)!r}")
        if self.global_batch_size % self.topology.world_size:
            raise RecipeError(
                f"recipe {self.name!r}: global_batch_size={self.global_batch_size} is not a "
                f"multiple of the world size {self.topology.world_size} "
                f"({self.topology.nodes} nodes x {self.topology.processes_per_node} processes)"
            )
        if self.precision == "bf16" and self.topology.device == "cpu":
            raise RecipeError(f"recipe {self.name!r}: bf16 needs a GPU topology, got cpu")

    @property
    def gradient_accumulation_steps(self) -> int:
        return self.global_batch_size // self.topology.world_size

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def available_recipes() -> list[str]:
    return sorted(path.stem for path in TRAIN_RECIPES_DIR.glob("*.yaml"))


def available_topologies() -> list[str]:
    return sorted(path.stem for path in TOPOLOGIES_DIR.glob("*.yaml"))


def load_recipe(recipe: str | Path, overrides: dict[str, Any] | None = None) -> Recipe:
    """Load a recipe by name or path and apply ``key=value`` overrides.

    Override keys are recipe fields (``learning_rate``) or ``topology.<field>``; ``topology``
    alone swaps the whole topology by name or path.
    """
    path = _resolve(recipe, TRAIN_RECIPES_DIR, available_recipes, "recipe")
    raw = _read_yaml(path)
    raw.setdefault("name", path.stem)
    topology_overrides: dict[str, Any] = {}
    for key, value in (overrides or {}).items():
        # Strings come from `--set` and pod commands: read them as YAML scalars ("3" -> 3).
        value = yaml.safe_load(value) if isinstance(value, str) else value
        if key.startswith("topology."):
            topology_overrides[key.removeprefix("topology.")] = value
        else:
            raw[key] = value
    if "topology" not in raw:
        raise RecipeError(f"{path}: missing key 'topology' (one of {available_topologies()})")
    raw["topology"] = load_topology(raw["topology"], topology_overrides)
    return _build(Recipe, raw, str(path))


def load_topology(topology: str | Path, overrides: dict[str, Any] | None = None) -> Topology:
    path = _resolve(topology, TOPOLOGIES_DIR, available_topologies, "topology")
    raw = _read_yaml(path)
    raw.setdefault("name", path.stem)
    raw.update(overrides or {})
    built = _build(Topology, raw, str(path))
    if built.nodes < 1 or built.processes_per_node < 1:
        raise RecipeError(f"{path}: nodes and processes_per_node must be >= 1")
    if built.device == "cpu":
        _check_cpu(built, path)
    return built


def _check_cpu(topology: Topology, path: Path) -> None:
    """A cpu topology talks over gloo; DeepSpeed on it needs its CPU accelerator and fp32."""
    if topology.backend != "gloo":
        raise RecipeError(f"{path}: a cpu topology communicates over gloo, got backend={topology.backend!r}")
    if topology.deepspeed is None:
        return
    if topology.env.get("DS_ACCELERATOR") != "cpu":
        raise RecipeError(f"{path}: deepspeed on a cpu topology needs env DS_ACCELERATOR: cpu "
                          "(DeepSpeed would otherwise pick CUDA or fail to find an accelerator)")
    for precision in ("bf16", "fp16"):
        if (topology.deepspeed.get(precision) or {}).get("enabled"):
            raise RecipeError(f"{path}: deepspeed {precision} needs a GPU topology; set {precision}.enabled: false")


def parse_overrides(pairs: list[str] | None) -> dict[str, Any]:
    """``["learning_rate=2e-5", "topology.nodes=1"]`` -> typed dict (values parsed as YAML)."""
    parsed: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise RecipeError(f"--set expects key=value, got {pair!r}")
        parsed[key.strip()] = yaml.safe_load(value)
    return parsed


def _resolve(ref: str | Path, folder: Path, names, kind: str) -> Path:
    candidate = Path(ref)
    if candidate.suffix in (".yaml", ".yml") or candidate.is_file():
        if not candidate.is_file():
            raise RecipeError(f"{kind} file not found: {candidate}")
        return candidate
    path = folder / f"{ref}.yaml"
    if not path.is_file():
        raise RecipeError(f"unknown {kind} {str(ref)!r}; choose one of {names()} or pass a YAML file")
    return path


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise RecipeError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(raw, dict):
        raise RecipeError(f"{path}: expected a mapping at the top level")
    return raw


def _build(cls, raw: dict[str, Any], source: str):
    """Construct a dataclass from a mapping, rejecting unknown keys and wrong types by name."""
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - fields)
    if unknown:
        raise RecipeError(f"{source}: unknown key(s) {unknown}; known: {sorted(fields)}")
    missing = sorted(
        f.name for f in dataclasses.fields(cls)
        if f.name not in raw and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    )
    if missing:
        raise RecipeError(f"{source}: missing key(s) {missing}")
    values = {key: _coerce(key, value, hints[key], source) for key, value in raw.items()}
    try:
        return cls(**values)
    except TypeError as error:
        raise RecipeError(f"{source}: {error}") from error


def _coerce(key: str, value: Any, hint: Any, source: str) -> Any:
    origin = typing.get_origin(hint)
    if origin is Literal:
        if value not in typing.get_args(hint):
            raise RecipeError(f"{source}: {key}={value!r}; expected one of {list(typing.get_args(hint))}")
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in typing.get_args(hint):
            return None
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
        origin = typing.get_origin(hint)
    if hint is Topology:
        return value
    expected = origin or hint
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected is float and isinstance(value, str):
        # YAML 1.1 reads "2e-5" (no dot) as a string.
        try:
            return float(value)
        except ValueError:
            pass
    if expected is dict and isinstance(value, dict):
        return {k: str(v) if hint == dict[str, str] else v for k, v in value.items()}
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise RecipeError(f"{source}: {key}={value!r} is not a {getattr(expected, '__name__', expected)}")
    return value
