"""The typed configuration of a model evaluation, validated before anything is loaded."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from itertools import product
from pathlib import Path
from typing import Any

from s1.data.registry import KINDS, FieldMap
from s1.generation.engine import ENGINE_NAMES
from s1.generation.types import Budget, Sampling


@dataclass(frozen=True)
class BudgetPoint:
    """One thinking-budget setting of a sweep: a cap (None: the context window) and a number of
    end-of-thinking attempts replaced by "Wait"."""

    max_thinking_tokens: int | None
    num_ignore: int = 0

    @property
    def label(self) -> str:
        """``max512``, ``auto``, ``max512-ignore2``: stable names for records and KFP metrics."""
        cap = "auto" if self.max_thinking_tokens is None else f"max{self.max_thinking_tokens}"
        return cap + (f"-ignore{self.num_ignore}" if self.num_ignore else "")


@dataclass(frozen=True)
class EvaluationConfig:
    """What ``s1 evaluate --model`` runs: every benchmark at every budget point.

    Budget points are all pairs of ``budgets`` (max thinking tokens; None = auto) and
    ``num_ignore``. ``samples`` > 1 draws that many samples per question (needs temperature > 0)
    and reports pass@1 over them. ``kind``/``fields`` describe benchmark files of your own.
    ``engine`` (auto, transformers, vllm; auto = vLLM when installed with a GPU) and
    ``tensor_parallel_size`` (vLLM; None = every visible GPU) say how the sweep runs, not what
    it measures, so a resumed run may change them (as ``batch_size``).
    """

    model: Path
    benchmarks: tuple[str, ...]
    out: Path
    budgets: tuple[int | None, ...] = (None,)
    num_ignore: tuple[int, ...] = (0,)
    min_thinking_tokens: int = 0
    max_answer_tokens: int = 512
    limit: int | None = None
    samples: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0
    batch_size: int = 8
    engine: str = "auto"
    tensor_parallel_size: int | None = None
    kind: str | None = None
    fields: FieldMap | None = None
    # What the report calls the model; None: its folder's name (never the machine's path).
    model_name: str | None = None

    def __post_init__(self) -> None:
        if not self.benchmarks:
            raise ValueError("at least one benchmark is needed")
        if not self.budgets or not self.num_ignore:
            raise ValueError("budgets and num_ignore need at least one value each")
        if any(b is not None and b < 0 for b in self.budgets):
            raise ValueError(f"budgets must be >= 0 (or auto), got {list(self.budgets)}")
        if any(k < 0 for k in self.num_ignore):
            raise ValueError(f"num_ignore values must be >= 0, got {list(self.num_ignore)}")
        if len(set(self.points())) != len(self.points()):
            raise ValueError("budget points repeat; list each budget and num_ignore value once")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be >= 1, got {self.limit}")
        if self.samples < 1:
            raise ValueError(f"samples must be >= 1, got {self.samples}")
        if self.samples > 1 and self.temperature <= 0:
            raise ValueError("samples > 1 needs temperature > 0 (greedy samples are identical)")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.engine not in ENGINE_NAMES:
            raise ValueError(f"engine must be one of {ENGINE_NAMES}, got {self.engine!r}")
        if self.tensor_parallel_size is not None and self.tensor_parallel_size < 1:
            raise ValueError(f"tensor_parallel_size must be >= 1, got {self.tensor_parallel_size}")
        if self.kind is not None and self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")

    def points(self) -> list[BudgetPoint]:
        return [BudgetPoint(b, k) for b, k in product(self.budgets, self.num_ignore)]

    def budget(self, point: BudgetPoint) -> Budget:
        return Budget(max_thinking_tokens=point.max_thinking_tokens,
                      min_thinking_tokens=self.min_thinking_tokens, num_ignore=point.num_ignore,
                      max_answer_tokens=self.max_answer_tokens)

    def sampling(self, sample: int) -> Sampling:
        """Sample ``i`` of a question uses seed + i, so samples differ and reruns repeat."""
        return Sampling(temperature=self.temperature, top_p=self.top_p, seed=self.seed + sample)

    def identity(self) -> dict[str, Any]:
        """What must match for a resumed run to continue an earlier one's samples."""
        data = asdict(self)
        for key in ("out", "limit", "batch_size", "engine", "tensor_parallel_size", "model_name"):
            data.pop(key)
        return json.loads(json.dumps(data, default=str))


def parse_budgets(text: str) -> tuple[int | None, ...]:
    """``0,512,1024,auto`` -> (0, 512, 1024, None)."""
    values: list[int | None] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        if item.lower() in ("auto", "none"):
            values.append(None)
            continue
        try:
            values.append(int(item))
        except ValueError:
            raise ValueError(f"budget {item!r} is not an integer or 'auto'") from None
    return tuple(values)
