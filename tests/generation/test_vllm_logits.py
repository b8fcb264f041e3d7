"""The vLLM adapter, short of running vLLM (not installable here).

`vllm` is replaced by a minimal stand-in that mirrors the real v1 interface
(`vllm/v1/sample/logits_processor/interface.py`: `LogitsProcessor`'s abstract methods,
`BatchUpdate(batch_size, removed, added, moved)`, `MoveDirectionality`) and the `SamplingParams`
fields the adapter reads. A small engine loop plays vLLM's persistent batch: requests are added,
finished ones removed and the batch condensed by moving the last row into the hole, rows are
swapped, and each step appends the sampled token to the request's output list before calling
`update_state`, as vLLM does. Logits come from the real tiny model. What this cannot show: vLLM's
actual scheduling, CUDA tensors, preemption, speculative decoding.
"""

from __future__ import annotations

import abc
import dataclasses
import enum
import importlib
import json
import sys
import types

import pytest
import torch

from s1.format import generation_prompt
from s1.generation.api import context_window, encode_prompts, generate
from s1.generation.budget_forcing import plan_for
from s1.generation.types import Budget

QUESTIONS = ["What is 2+2?", "Name three primes, then stop.", "x", "A longer question, please?"]


@dataclasses.dataclass
class SamplingParams:
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    seed: int | None = None
    max_tokens: int | None = 16
    stop_token_ids: list | None = None
    skip_special_tokens: bool = True
    extra_args: dict | None = None


class MoveDirectionality(enum.Enum):
    UNIDIRECTIONAL = enum.auto()
    SWAP = enum.auto()


@dataclasses.dataclass(frozen=True)
class BatchUpdate:
    batch_size: int
    removed: list
    added: list
    moved: list


class LogitsProcessor(abc.ABC):
    @classmethod
    def validate_params(cls, sampling_params):
        return None

    @abc.abstractmethod
    def __init__(self, vllm_config, device, is_pin_memory): ...

    @abc.abstractmethod
    def apply(self, logits): ...

    @abc.abstractmethod
    def is_argmax_invariant(self): ...

    @abc.abstractmethod
    def update_state(self, batch_update): ...


@pytest.fixture
def adapter(monkeypatch):
    vllm = types.ModuleType("vllm")
    vllm.SamplingParams = SamplingParams
    lp = types.ModuleType("vllm.v1.sample.logits_processor")
    lp.BatchUpdate, lp.LogitsProcessor, lp.MoveDirectionality = BatchUpdate, LogitsProcessor, MoveDirectionality
    for name, module in {"vllm": vllm, "vllm.v1": types.ModuleType("vllm.v1"),
                         "vllm.v1.sample": types.ModuleType("vllm.v1.sample"),
                         "vllm.v1.sample.logits_processor": lp}.items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.delitem(sys.modules, "s1.generation.vllm_logits", raising=False)
    module = importlib.import_module("s1.generation.vllm_logits")
    yield module
    sys.modules.pop("s1.generation.vllm_logits", None)


class MiniEngine:
    """vLLM's persistent batch in miniature (greedy or seeded sampling, full recompute)."""

    def __init__(self, model, processor):
        self.model, self.processor = model, processor
        self.slots: list[dict] = []
        self.pending = BatchUpdate(0, [], [], [])
        self.finished: dict[str, list[int]] = {}
        self.moves = {"swap": 0, "condense": 0}

    def _update(self, **changes):
        self.pending = dataclasses.replace(
            self.pending, **{k: getattr(self.pending, k) + v for k, v in changes.items()})

    def add(self, name, prompt_ids, params):
        request = {"name": name, "prompt": prompt_ids, "out": [], "params": params}
        self.slots.append(request)
        self._update(added=[(len(self.slots) - 1, params, prompt_ids, request["out"])])

    def swap(self, a, b):
        self.slots[a], self.slots[b] = self.slots[b], self.slots[a]
        self.moves["swap"] += 1
        self._update(moved=[(a, b, MoveDirectionality.SWAP)])

    def step(self):
        update = dataclasses.replace(self.pending, batch_size=len(self.slots))
        self.pending = BatchUpdate(0, [], [], [])
        self.processor.update_state(update if (update.added or update.removed or update.moved) else None)
        with torch.no_grad():
            logits = torch.stack([
                self.model(torch.tensor([r["prompt"] + r["out"]])).logits[0, -1] for r in self.slots
            ])
        logits = self.processor.apply(logits)
        done = []
        for index, (request, row) in enumerate(zip(self.slots, logits)):
            params = request["params"]
            if params.temperature < 1e-5:
                token = int(row.argmax())
            else:
                generator = torch.Generator().manual_seed(len(request["out"]))
                token = int(torch.multinomial(torch.softmax(row / params.temperature, -1), 1,
                                              generator=generator))
            request["out"].append(token)
            if token in params.stop_token_ids or len(request["out"]) >= params.max_tokens:
                done.append(index)
        for index in sorted(done, reverse=True):  # remove, then condense like vLLM
            self.finished[self.slots[index]["name"]] = list(self.slots[index]["out"])
            last = len(self.slots) - 1
            self._update(removed=[index])
            if index != last:
                self.slots[index] = self.slots.pop()
                self.moves["condense"] += 1
                self._update(moved=[(last, index, MoveDirectionality.UNIDIRECTIONAL)])
            else:
                self.slots.pop()

    def run(self, swap_at=None):
        steps = 0
        while self.slots:
            if steps == swap_at and len(self.slots) > 2:
                self.swap(0, 2)
            self.step()
            steps += 1
        return self.finished


@pytest.mark.slow
def test_vllm_adapter_matches_the_transformers_driver(adapter, tempted_to_stop):
    model, tokenizer = tempted_to_stop
    budget = Budget(max_thinking_tokens=30, num_ignore=2, max_answer_tokens=4)
    prompts = [generation_prompt(q) for q in QUESTIONS]
    ids = encode_prompts(tokenizer, prompts)
    expected = generate(model, tokenizer, prompts, budget)
    engine = MiniEngine(model, adapter.BudgetForcingLogitsProcessor(None, torch.device("cpu"), False))
    # A request without a plan shares the batch, is left alone, and finishes first, so the
    # batch is condensed (last row moved into its slot) while the others are mid-thought.
    engine.add("plain", ids[0], SamplingParams(temperature=0.0, max_tokens=3, stop_token_ids=[]))
    for index, prompt_ids in enumerate(ids):
        plan = plan_for(tokenizer, budget, len(prompt_ids), context_window(model))
        params = adapter.sampling_params(plan, temperature=0.0)
        assert params.skip_special_tokens is False and params.max_tokens == plan.max_new_tokens
        engine.add(f"r{index}", prompt_ids, params)
    finished = engine.run(swap_at=5)
    assert [finished[f"r{i}"] for i in range(len(ids))] == [list(g.token_ids) for g in expected]
    with torch.no_grad():
        plain = model.generate(torch.tensor([ids[0]]), max_new_tokens=3, min_new_tokens=3,
                               do_sample=False)[0, len(ids[0]):].tolist()
    assert finished["plain"] == plain
    assert engine.moves["swap"] == 1 and engine.moves["condense"] >= 1
    assert sum(g.num_waits for g in expected) > 0 and any(g.hit_cap for g in expected)


def test_sampled_requests_keep_the_budget(adapter, tiny):
    model, tokenizer = tiny
    budget = Budget(max_thinking_tokens=6, num_ignore=1, max_answer_tokens=3)
    engine = MiniEngine(model, adapter.BudgetForcingLogitsProcessor(None, torch.device("cpu"), False))
    [prompt_ids] = encode_prompts(tokenizer, [generation_prompt("hi")])
    plan = plan_for(tokenizer, budget, len(prompt_ids), context_window(model))
    engine.add("s", prompt_ids, adapter.sampling_params(plan, temperature=0.9, top_p=0.8, top_k=50, seed=1))
    out = engine.run()["s"]
    answer = tokenizer.encode("\n<|im_start|>answer\nFinal Answer:", add_special_tokens=False)
    assert out[6:6 + len(answer)] == answer and len(out) <= plan.max_new_tokens


def test_bad_plans_and_async_placeholders_are_refused(adapter, tiny):
    model, tokenizer = tiny
    with pytest.raises(ValueError, match="missing"):
        adapter.BudgetForcingLogitsProcessor.validate_params(
            SamplingParams(extra_args={adapter.EXTRA_ARGS_KEY: {"num_ignore": 1}}))
    with pytest.raises(ValueError, match="not valid JSON"):
        adapter.BudgetForcingLogitsProcessor.validate_params(
            SamplingParams(extra_args={adapter.EXTRA_ARGS_KEY: "{oops"}))
    plan = plan_for(tokenizer, Budget(max_thinking_tokens=4), 10, context_window(model))
    # The OpenAI server's vllm_xargs carries the plan as JSON text.
    served = SamplingParams(extra_args={adapter.EXTRA_ARGS_KEY: json.dumps(plan.to_dict())})
    assert adapter.plan_from_extra_args(served.extra_args) == plan
    processor = adapter.BudgetForcingLogitsProcessor(None, torch.device("cpu"), False)
    output = [5, -1]
    with pytest.raises(RuntimeError, match="async_scheduling=False"):
        processor.update_state(BatchUpdate(1, [], [(0, adapter.sampling_params(plan), [1], output)], []))
