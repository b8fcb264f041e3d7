"""The two vLLM model runners' side of the logits-processor contract, driven by hand on CPU.

vLLM's CPU build only ever runs the old model runner; CUDA vLLM 0.32 runs Model Runner V2. These
drivers take the steps each runner takes around a logits processor (vllm/v1/worker/
gpu_model_runner.py and gpu_input_batch.py for the old one; gpu/model_runner.py, states.py and
sample/sampler.py for V2, at 0.32), with vLLM's own classes wherever they run on CPU:
`BatchUpdate`, V2's `RequestState` (its Triton write kernel replaced by the same writes in
torch: `cpu_request_states`), `LogitsProcRequestState`, `LogitsContext` and both loaders.

Both drivers share one API: `add` (joins at the next step, optionally with tokens it kept: a
resumed request), `remove` (finished or preempted), `step(logits_of, pick, ...)`: one engine
step over the running requests, returning each row's processed logits.
"""

from __future__ import annotations

import copy
import random
import zlib
from typing import Callable

import numpy as np
import pytest
import torch
from vllm.v1.sample.logits_processor import BatchUpdate, MoveDirectionality, build_logitsprocs
from vllm.v1.worker.gpu import buffer_utils
from vllm.v1.worker.gpu.sample.logits_processor import LogitsContext, build_custom_logits_processors

from s1.vllm_plugin import LOGITS_PROCESSORS

LogitsOf = Callable[[str, list[int]], torch.Tensor]  # (request, tokens so far) -> next-token logits
Pick = Callable[[str, int, torch.Tensor], int]  # (request, position, processed row) -> sampled token

SLOTS = 6
# step -> (request, steps it stays out) preempted then, in that order. At step 29 (with the
# tiny model's budget-forcing questions), r2 has kept its two forced waits and r3 the first token
# of its one; r2 comes back first, in r3's slot, while its own slot still holds its old state;
# r3 a step later, in r2's old slot, from the retired state.
PREEMPTIONS = {6: [("r1", 0)], 29: [("r2", 0), ("r3", 1)]}


class _CpuWriteKernel:
    """`buffer_utils._apply_write_kernel`'s writes, in torch (vLLM's CPU build has no Triton)."""

    def __getitem__(self, grid):
        def run(out, stride, indices, starts, contents, cu_lens, group_ids, BLOCK_SIZE, MULTI_GROUP):
            begin = 0
            for write in range(grid[0]):
                row, start, end = int(indices[write]), int(starts[write]), int(cu_lens[write])
                if out.dim() == 1:
                    out[row] = contents[begin]
                else:
                    out[row, start:start + end - begin] = contents[begin:end]
                begin = end

        return run


@pytest.fixture
def cpu_request_states(monkeypatch):
    """V2's `RequestState` on CPU: its buffers without pinned memory (vLLM's own fallback) and
    its staged writes applied by `_CpuWriteKernel`."""
    monkeypatch.setattr(buffer_utils, "is_uva_available", lambda: False)
    monkeypatch.setattr(buffer_utils, "_apply_write_kernel", _CpuWriteKernel())


class OldRunner:
    """The old runner: a persistent batch whose holes new requests fill first and which is then
    condensed (vLLM's InputBatch), `BatchUpdate`s in its order, vLLM's live output lists.

    asynchronous: the last step's tokens are placeholders (-1) during `update_state` and filled
    in before `apply`, as with asynchronous scheduling on GPU.
    """

    # A resumed request keeps its worker-side state, params included (gpu_model_runner.requests).
    resumes_with_new_params = False

    def __init__(self, vllm_config, asynchronous: bool = False):
        logitsprocs = build_logitsprocs(vllm_config, torch.device("cpu"), False, False, [LOGITS_PROCESSORS])
        [self.processor] = [p for p in logitsprocs.non_argmax_invariant if type(p).__module__.startswith("s1.")]
        self.asynchronous = asynchronous
        self.rows: list[dict | None] = []
        self.added, self.removed = [], []
        self.outputs: dict[str, list[int]] = {}

    def add(self, name: str, prompt: list[int], params, output: list[int] = ()) -> None:
        out = list(output)
        self.outputs[name] = out
        row = {"name": name, "prompt": list(prompt), "out": out}
        holes = sorted(set(self.removed) - {index for index, *_ in self.added})
        if holes:
            index = holes[0]
            self.rows[index] = row
        else:
            index = len(self.rows)
            self.rows.append(row)
        self.added.append((index, params, list(prompt), out))

    def remove(self, name: str) -> list[int]:
        index = next(i for i, row in enumerate(self.rows) if row is not None and row["name"] == name)
        row, self.rows[index] = self.rows[index], None
        self.removed.append(index)
        return list(row["out"])

    def _condense(self) -> list:
        """Move the last rows into the holes left (vLLM's InputBatch.condense)."""
        moved = []
        while None in self.rows:
            if self.rows[-1] is None:
                self.rows.pop()
                continue
            hole = self.rows.index(None)
            moved.append((len(self.rows) - 1, hole, MoveDirectionality.UNIDIRECTIONAL))
            self.rows[hole] = self.rows.pop()
        return moved

    def step(self, logits_of: LogitsOf, pick: Pick, discard=frozenset()) -> dict[str, torch.Tensor]:
        moved = self._condense()
        update = BatchUpdate(len(self.rows), self.removed, self.added, moved)
        self.added, self.removed = [], []
        # Rows that sampled in the last step (not those joining now: a resumed request's list holds
        # real ids, gpu_model_runner._update_states) have a placeholder for that token.
        joining = {index for index, *_ in update.added}
        held = [(row, row["out"][-1]) for index, row in enumerate(self.rows)
                if row["out"] and index not in joining] if self.asynchronous else []
        for row, _ in held:
            row["out"][-1] = -1
        self.processor.update_state(update if (update.added or update.removed or update.moved) else None)
        for row, token in held:
            row["out"][-1] = token
        logits = torch.stack([logits_of(row["name"], row["prompt"] + row["out"]) for row in self.rows])
        logits = self.processor.apply(logits)
        for row, processed in zip(self.rows, logits):
            if row["name"] not in discard:
                row["out"].append(pick(row["name"], len(row["out"]), processed))
        return {row["name"]: processed for row, processed in zip(self.rows, logits)}


class RunnerV2:
    """Model Runner V2: slots of vLLM's `RequestState`, recycled; the processor built by V2's
    loader from the plugin string; `LogitsContext` per step, rows in a shuffled order.

    late: each step's sampled tokens reach the device after the next step's
        `apply_staged_writes` (the processor cannot have seen them before `apply`).
    """

    # A resumed request is a new request to the worker: its params arrive anew (a copy, serialised
    # to tensor-parallel workers).
    resumes_with_new_params = True

    def __init__(self, vllm_config, vocab_size: int, max_num_reqs: int = 4, max_model_len: int = 512,
                 late: bool = False, seed: int = 0):
        from vllm.v1.worker.gpu.states import RequestState

        self.states = RequestState(max_num_reqs=max_num_reqs, max_model_len=max_model_len,
                                   max_num_batched_tokens=max_model_len, num_speculative_steps=0,
                                   vocab_size=vocab_size, device=torch.device("cpu"))
        [self.processor] = build_custom_logits_processors(vllm_config, self.states, False, [LOGITS_PROCESSORS])
        self.late = late
        self.order = random.Random(seed)
        self.running: dict[str, dict] = {}
        self.joining: list[tuple[str, object]] = []
        self.unwritten: list[tuple[int, int]] = []  # (slot, token) sampled, not on the device yet
        self.outputs: dict[str, list[int]] = {}

    def add(self, name: str, prompt: list[int], params, output: list[int] = ()) -> None:
        self.outputs[name] = list(output)
        self.running[name] = {"prompt": list(prompt), "out": self.outputs[name], "wants": False}
        self.joining.append((name, params))

    def remove(self, name: str) -> list[int]:
        slot = self.states.remove_request(name)
        self.unwritten = [(s, token) for s, token in self.unwritten if s != slot]  # written before, really
        return list(self.running.pop(name)["out"])

    def slot(self, name: str) -> int:
        return self.states.req_id_to_index[name]

    def step(self, logits_of: LogitsOf, pick: Pick, discard=frozenset()) -> dict[str, torch.Tensor]:
        for name, params in self.joining:  # the runner's add_requests()
            request = self.running[name]
            tokens = request["prompt"] + request["out"]
            self.states.add_request(name, len(request["prompt"]), tokens, 0, params.max_tokens)
            request["wants"] = self.processor.add_request(self.slot(name), params)
        if self.joining:
            self.states.apply_staged_writes()
        self.joining = []
        self.processor.apply_staged_writes()
        if self.late:
            self._write()
        names = list(self.running)
        self.order.shuffle(names)
        slots = [self.slot(name) for name in names]
        seq_lens = [len(self.running[n]["prompt"]) + len(self.running[n]["out"]) for n in names]
        # A row midway through a chunked prefill sees only part of its prompt.
        seq_lens = [max(1, length - 3) if name in discard else length for name, length in zip(names, seq_lens)]
        logits = torch.stack([logits_of(n, self.running[n]["prompt"] + self.running[n]["out"]) for n in names])
        ctx = LogitsContext(
            expanded_idx_mapping=torch.tensor(slots), idx_mapping=torch.tensor(slots),
            idx_mapping_np=np.array(slots, dtype=np.int32), expanded_local_pos=torch.zeros(len(names), dtype=torch.int32),
            input_ids=torch.tensor([(self.running[n]["prompt"] + self.running[n]["out"])[-1] for n in names]),
            pos=torch.tensor(seq_lens) - 1, seq_lens_upper_bound_np=np.array(seq_lens, dtype=np.int32),
        )
        if any(self.running[name]["wants"] for name in names):  # the sampler skips apply() otherwise
            logits = self.processor.apply(logits, ctx)
        for name, slot, processed in zip(names, slots, logits):
            if name not in discard:
                token = pick(name, len(self.running[name]["out"]), processed)
                self.running[name]["out"].append(token)
                self.unwritten.append((slot, token))
        if not self.late:
            self._write()
        return dict(zip(names, logits))

    def _write(self) -> None:
        """The runner's post_update: sampled tokens appended to `all_token_ids` on the device."""
        for slot, token in self.unwritten:
            total = int(self.states.total_len.gpu[slot])
            self.states.all_token_ids.gpu[slot, total] = token
            self.states.total_len.gpu[slot] = total + 1
        self.unwritten = []


_CACHED_LOGITS: dict[tuple, torch.Tensor] = {}


def cached_logits(model) -> LogitsOf:
    """Next-token logits, computed once per model and token history (both runners ask alike)."""

    def logits_of(name: str, tokens: list[int]) -> torch.Tensor:
        key = (id(model), *tokens)
        if key not in _CACHED_LOGITS:
            with torch.no_grad():
                _CACHED_LOGITS[key] = model(torch.tensor([tokens]), logits_to_keep=1).logits[0, -1].float()
        return _CACHED_LOGITS[key].clone()

    return logits_of


def greedy(name: str, position: int, row: torch.Tensor) -> int:
    return int(row.argmax())


def seeded_sampler(temperature: float) -> Pick:
    """A draw seeded by request and position for names starting with 's', greedy otherwise."""

    def pick(name: str, position: int, row: torch.Tensor) -> int:
        if not name.startswith("s"):
            return int(row.argmax())
        generator = torch.Generator().manual_seed(zlib.crc32(name.encode()) + position)
        noise = -torch.log(-torch.log(torch.rand(row.shape, generator=generator)))
        return int((row / temperature + noise).argmax())

    return pick


def _finished(params, out: list[int]) -> bool:
    return bool(out) and (out[-1] in (params.stop_token_ids or ()) or len(out) >= params.max_tokens)


def drive(runner, requests: list[tuple], logits_of: LogitsOf, pick: Pick, slots: int = SLOTS,
          preemptions=PREEMPTIONS, record: dict | None = None) -> dict[str, list[int]]:
    """Run `requests` ((name, prompt ids, SamplingParams)) to the end through `runner`, `slots`
    at a time: each new or resumed request's
    first step is a discarded prefill chunk; `preemptions` take requests out and bring them back
    with the tokens they kept (under V2 with a fresh copy of their params, as a tensor-parallel
    worker receives them). record: step -> {name: processed row}, filled in."""
    waiting = [(0, *request) for request in requests]  # (ready at step, name, prompt, params[, kept])
    params_of = {name: params for name, _, params in requests}
    prompt_of = {name: prompt for name, prompt, _ in requests}
    running: set[str] = set()
    done: dict[str, list[int]] = {}
    for step in range(400):
        fresh = set()
        for entry in [entry for entry in waiting if entry[0] <= step]:
            if len(running) == slots:
                break
            waiting.remove(entry)
            _, name, prompt, params, *kept = entry
            runner.add(name, prompt, params, *kept)
            running.add(name)
            fresh.add(name)
        if not running and not waiting:
            return done
        rows = runner.step(logits_of, pick, discard=fresh)
        if record is not None:
            record[step] = rows
        for name in sorted(running):
            if _finished(params_of[name], runner.outputs[name]):
                done[name] = runner.remove(name)
                running.discard(name)
        preempted = []
        for name, out_for in preemptions.get(step, []):
            if name in running:
                kept = runner.remove(name)
                running.discard(name)
                params = copy.deepcopy(params_of[name]) if runner.resumes_with_new_params else params_of[name]
                preempted.append((step + 1 + out_for, name, prompt_of[name], params, kept))
        waiting[:0] = preempted
    raise AssertionError("requests did not finish")
