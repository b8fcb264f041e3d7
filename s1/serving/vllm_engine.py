"""GPU engine: vLLM's `AsyncLLM` with budget forcing as a vLLM v1 logits processor.

Imported only when vLLM is installed (the GPU image). Continuous batching runs many requests at
once, each with its own budget: the budget-forcing plan travels in `SamplingParams.extra_args`
(`vllm_logits.sampling_params`) to the generation library's vLLM logits processor, which runs
the same `BudgetForcer` state machine as every other driver. The result record is built by
replaying the generated ids through that state machine, so the counts are the ones the
processor enforced.

Cancellation: closing or cancelling `AsyncLLM.generate` aborts the request inside vLLM.
"""

from __future__ import annotations

import uuid
from typing import AsyncIterator

from transformers import AutoTokenizer
from vllm import TokensPrompt
from vllm.engine.arg_utils import AsyncEngineArgs
from vllm.sampling_params import RequestOutputKind
from vllm.v1.engine.async_llm import AsyncLLM

from s1.generation import api, vllm_logits
from s1.generation.budget_forcing import BudgetForcer, plan_for
from s1.generation.types import Generation
from s1.serving.config import ServingConfig
from s1.serving.engine import PreparedRequest


class VLLMEngine:
    def __init__(self, config: ServingConfig):
        args = AsyncEngineArgs(
            model=str(config.model),
            tensor_parallel_size=config.tensor_parallel_size,
            gpu_memory_utilization=config.gpu_memory_utilization,
            logits_processors=[vllm_logits.BudgetForcingLogitsProcessor],
            # The processor reads each step's real token; async scheduling hands it placeholders.
            async_scheduling=False,
        )
        # AsyncLLM may be built before the event loop runs; its output loop starts on first use.
        self._llm = AsyncLLM.from_engine_args(args)
        self.tokenizer = AutoTokenizer.from_pretrained(config.model)
        self.context_window = self._llm.model_config.max_model_len
        self.max_running = self._llm.vllm_config.scheduler_config.max_num_seqs

    async def stream(self, request: PreparedRequest) -> AsyncIterator[str | Generation]:
        plan = plan_for(self.tokenizer, request.budget, len(request.prompt_ids), self.context_window)
        params = vllm_logits.sampling_params(
            plan,
            temperature=request.sampling.temperature,
            top_p=request.sampling.top_p,
            seed=request.sampling.seed,
            output_kind=RequestOutputKind.DELTA,  # only the new text of each step
        )
        tokens: list[int] = []
        prompt = TokensPrompt(prompt_token_ids=list(request.prompt_ids))
        async for output in self._llm.generate(prompt, params, request_id=f"s1-{uuid.uuid4().hex}"):
            completion = output.outputs[0]
            tokens.extend(completion.token_ids)
            if completion.text:
                yield completion.text
        forcer = BudgetForcer(plan)
        for token in tokens:
            forcer.feed(token)
        yield api.to_generation(
            self.tokenizer,
            request.prompt,
            tokens,
            thinking_tokens=forcer.thinking_tokens,
            answer_tokens=forcer.answer_tokens,
            num_waits=forcer.num_waits,
            hit_cap=forcer.hit_cap,
        )

    def shutdown(self) -> None:
        self._llm.shutdown()
