"""The s1 KServe predictor: budget-forced generation behind KServe's V1/V2 protocol.

`load()` builds the engine (vLLM on GPU, transformers on CPU) and only then sets `ready`.
Every route (KServe V1 and V2, the OpenAI routes) goes through `prepare()` (validation and
server limits) and `events()` (bounded queue, deadline, cancellation, metrics), so limits and
accounting are the same whichever protocol a client speaks.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
from contextlib import aclosing
from typing import AsyncIterator, Sequence

import kserve
from kserve.protocol.infer_type import InferInput, InferOutput, InferRequest, InferResponse
from pydantic import ValidationError

from s1.format import generation_prompt
from s1.generation.engine import Engine, EngineStopped, PreparedRequest, load_engine, prepare
from s1.generation.types import Budget, Generation, Sampling, TokenLogprob
from s1.serving import metrics
from s1.serving.admission import Admission
from s1.serving.config import ServingConfig
from s1.serving.errors import BadRequest, Overloaded, RequestTimeout, ServingError, ShuttingDown
from s1.serving.protocol import GenerationFields, V1Instance, V1Request, describe_validation_error

# Budget fields of V2 requests, read from the request's `parameters`.
_V2_PARAMETERS = {
    name: field for name, field in V1Instance.model_fields.items() if name not in ("question", "prompt")
}


class S1Predictor(kserve.Model):
    """Serves one model folder; `name` is the model name in every route."""

    def __init__(self, config: ServingConfig):
        super().__init__(config.name)
        self.config = config
        # Not `self.engine`: KServe reserves that name (a truthy one makes it call start_engine()).
        self.generator: Engine | None = None
        self.admission: Admission | None = None

    def load(self) -> bool:
        config = self.config
        self.generator = load_engine(
            config.model, config.engine, tensor_parallel_size=config.tensor_parallel_size,
            gpu_memory_utilization=config.gpu_memory_utilization, max_model_len=config.max_model_len,
        )
        self.admission = Admission(
            max_running=config.max_running or self.generator.max_running,
            max_queue=config.max_queue,
            on_change=self._publish_queue,
        )
        self.ready = True
        return self.ready

    def stop(self) -> None:
        """Stop every running generation (their requests get a 503) and free the engine."""
        self.ready = False
        if self.generator is not None:
            self.generator.shutdown()
        super().stop()

    # -- validation --------------------------------------------------------------------------

    def prepare(
        self,
        prompt: str,
        fields: GenerationFields,
        max_answer_tokens: int | None = None,
        max_tokens: int | None = None,
        stop: tuple[str, ...] = (),
        logprobs: int | None = None,
    ) -> PreparedRequest:
        """Check one prompt and its budget against the model and the server's limits, and plan
        its budget forcing (once: the engine takes the plan as it is).

        max_answer_tokens: cap on the answer section (KServe routes);
        max_tokens: bound on the whole completion, thinking included (OpenAI's `max_tokens`);
        stop, logprobs: OpenAI's, as `Sampling` takes them.
        """
        if self.generator is None:
            raise RuntimeError("prepare() before load()")
        limits = self.config
        cap = fields.max_thinking_tokens
        if cap is not None and cap > limits.max_thinking_tokens_limit:
            raise BadRequest(
                f"max_thinking_tokens={cap} exceeds this server's limit of "
                f"{limits.max_thinking_tokens_limit}",
                param="max_thinking_tokens",
            )
        answer = max_answer_tokens or min(Budget().max_answer_tokens, limits.max_answer_tokens_limit)
        if answer > limits.max_answer_tokens_limit:
            raise BadRequest(
                f"max_answer_tokens={answer} exceeds this server's limit of "
                f"{limits.max_answer_tokens_limit} answer tokens",
                param="max_answer_tokens",
            )
        window = self.generator.context_window
        if max_tokens is not None and max_tokens > window:
            raise BadRequest(f"max_tokens={max_tokens} exceeds the model's {window}-token context window",
                             param="max_tokens")
        ids = tuple(self.generator.tokenizer.encode(prompt, add_special_tokens=False))
        if not ids:
            raise BadRequest("the prompt is empty", param="prompt")
        if len(ids) > limits.max_prompt_tokens:
            raise BadRequest(
                f"the prompt has {len(ids)} tokens; this server accepts at most "
                f"{limits.max_prompt_tokens}",
                param="prompt",
            )
        budget = Budget(
            max_thinking_tokens=cap,
            min_thinking_tokens=fields.min_thinking_tokens,
            num_ignore=fields.num_ignore,
            max_answer_tokens=answer,
            max_tokens=max_tokens,
        )
        # No seed: a fresh one per request (identical prompts give different samples).
        sampling = Sampling(temperature=fields.temperature, top_p=fields.top_p, seed=fields.seed, stop=stop,
                            logprobs=logprobs)
        try:
            request = prepare(self.generator, prompt, budget, sampling, prompt_ids=ids)
            if request.plan.max_thinking_tokens > limits.max_thinking_tokens_limit:
                # s1's "auto" budget (what the context leaves), bounded by the server's limit.
                budget = dataclasses.replace(budget, max_thinking_tokens=limits.max_thinking_tokens_limit)
                request = prepare(self.generator, prompt, budget, sampling, prompt_ids=ids)
            return request
        except ValueError as error:
            param = "max_tokens" if "max_tokens" in str(error) else (
                "min_thinking_tokens" if "min_thinking_tokens" in str(error) else "max_thinking_tokens")
            raise BadRequest(str(error), param=param) from None

    @staticmethod
    def samples(request: PreparedRequest, n: int) -> list[PreparedRequest]:
        """`n` independent samples of one request (OpenAI's `n`), each budget-forced on its own.

        Sample 0 keeps the request's seed (n=1 is unchanged); sample i > 0 gets a seed derived
        from it and i: different per sample, the same on every repeat. Unseeded requests stay
        unseeded: every sample draws fresh randomness.
        """
        seed = request.sampling.seed
        return [request] + [
            dataclasses.replace(request, sampling=dataclasses.replace(request.sampling, seed=_sample_seed(seed, i)))
            for i in range(1, n)
        ]

    def check_fan_out(self, count: int) -> None:
        """A request with several generations (prompts, times OpenAI's `n`) may not take more
        than the whole queue at once."""
        assert self.admission is not None
        most = self.admission.max_running + self.admission.max_queue
        if count > most:
            raise BadRequest(f"{count} generations (prompts × n) in one request; this server takes at most {most}")

    # -- generation --------------------------------------------------------------------------

    async def events(self, request: PreparedRequest) -> AsyncIterator[str | TokenLogprob | Generation]:
        """Text deltas (and logprobs when asked for), then the `Generation`: queued, bounded by
        the deadline, cancellable."""
        assert self.generator is not None and self.admission is not None
        labels = {"model": self.name}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.request_timeout
        outcome = "error"
        finished = False
        try:
            async with self.admission.slot(deadline), aclosing(self.generator.stream(request)) as stream:
                while True:
                    try:
                        async with asyncio.timeout_at(deadline):
                            item = await anext(stream)
                    except StopAsyncIteration:
                        break
                    except EngineStopped as error:
                        raise ShuttingDown(f"the server is shutting down: {error}") from None
                    except TimeoutError:
                        raise RequestTimeout(
                            f"generation exceeded the server's {self.config.request_timeout:g} s "
                            "request timeout"
                        ) from None
                    if isinstance(item, Generation):
                        self._record(item)
                        finished = True
                    yield item
            outcome = "ok"
        except Overloaded:
            outcome = "overloaded"
            raise
        except RequestTimeout:
            outcome = "timeout"
            raise
        except ShuttingDown:
            outcome = "shutdown"
            raise
        except (asyncio.CancelledError, GeneratorExit):
            # Closing the stream after its result is the normal end, not a cancellation.
            outcome = "ok" if finished else "cancelled"
            raise
        finally:
            metrics.REQUESTS.labels(outcome=outcome, **labels).inc()

    async def complete(self, request: PreparedRequest) -> Generation:
        async with aclosing(self.events(request)) as items:
            async for item in items:
                if isinstance(item, Generation):
                    return item
        raise RuntimeError("the engine ended without a result")

    async def complete_all(self, requests: Sequence[PreparedRequest]) -> list[Generation]:
        """All or nothing: one failure (a full queue, say) cancels the request's other prompts."""
        if len(requests) == 1:
            return [await self.complete(requests[0])]
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(self.complete(request)) for request in requests]
        except* ServingError as errors:
            raise errors.exceptions[0] from None
        return [task.result() for task in tasks]

    # -- KServe V1 / V2 ------------------------------------------------------------------------

    async def predict(self, payload: dict | InferRequest, headers: dict[str, str] | None = None):
        """V1: `{"instances": [{"question": ..., "max_thinking_tokens": ...}, ...]}` (or plain
        question strings, or a full s1 `prompt`); V2: a BYTES input `question` or `prompt`
        with the budget fields as request parameters."""
        if isinstance(payload, InferRequest):
            prepared = self._prepare_v2(payload)
        else:
            prepared = self._prepare_v1(payload)
        generations = await self.complete_all(prepared)
        if isinstance(payload, InferRequest):
            return _v2_response(self.name, payload.id, generations)
        return {
            "predictions": [
                {**_public_fields(g), "prompt_tokens": len(p.prompt_ids)}
                for g, p in zip(generations, prepared)
            ]
        }

    def _prepare_v1(self, payload: object) -> list[PreparedRequest]:
        if isinstance(payload, bytes):  # KServe passes bodies of non-JSON content types as is
            try:
                payload = json.loads(payload)
            except ValueError as error:
                raise BadRequest(f"the body is not JSON: {error}") from None
        try:
            request = V1Request.model_validate(payload)
        except ValidationError as error:
            message, _ = describe_validation_error(error)
            raise BadRequest(message) from None
        self.check_fan_out(len(request.instances))
        prepared = []
        for index, instance in enumerate(request.instances):
            if isinstance(instance, str):
                instance = V1Instance(question=instance)
            if (instance.question is None) == (instance.prompt is None):
                raise BadRequest(f"instances.{index}: give exactly one of 'question' or 'prompt'")
            prompt = instance.prompt if instance.prompt is not None else generation_prompt(instance.question)
            try:
                prepared.append(self.prepare(prompt, instance, instance.max_answer_tokens))
            except BadRequest as error:
                raise BadRequest(f"instances.{index}: {error}", error.param) from None
        return prepared

    def _prepare_v2(self, request: InferRequest) -> list[PreparedRequest]:
        inputs = {tensor.name: tensor for tensor in request.inputs}
        texts = [name for name in ("question", "prompt") if name in inputs]
        if len(texts) != 1 or len(inputs) != 1:
            raise BadRequest(
                "V2 requests carry exactly one BYTES input, 'question' or 'prompt'; budget "
                f"fields go in the request parameters (got inputs {sorted(inputs)})"
            )
        tensor: InferInput = inputs[texts[0]]
        if tensor.datatype != "BYTES":
            raise BadRequest(f"input {tensor.name!r} must be BYTES, got {tensor.datatype}")
        values = [v.decode() if isinstance(v, bytes) else str(v) for v in tensor.data]
        parameters = {k: v for k, v in (request.parameters or {}).items() if k in _V2_PARAMETERS}
        unknown = sorted(set(request.parameters or {}) - set(_V2_PARAMETERS))
        if unknown:
            raise BadRequest(f"unknown parameters {unknown}; accepted: {sorted(_V2_PARAMETERS)}")
        try:
            fields = V1Instance.model_validate(parameters)
        except ValidationError as error:
            raise BadRequest(describe_validation_error(error)[0]) from None
        self.check_fan_out(len(values))
        wrap = generation_prompt if tensor.name == "question" else str
        return [self.prepare(wrap(value), fields, fields.max_answer_tokens) for value in values]

    # -- metrics ---------------------------------------------------------------------------------

    def _record(self, generation: Generation) -> None:
        labels = {"model": self.name}
        metrics.GENERATED_TOKENS.labels(**labels).inc(generation.thinking_tokens + generation.answer_tokens)
        metrics.THINKING_TOKENS.labels(**labels).observe(generation.thinking_tokens)
        metrics.WAITS.labels(**labels).inc(generation.num_waits)
        if generation.hit_cap:
            metrics.CAPPED.labels(**labels).inc()

    def _publish_queue(self, running: int, waiting: int) -> None:
        metrics.RUNNING.labels(model=self.name).set(running)
        metrics.QUEUED.labels(model=self.name).set(waiting)


def _sample_seed(seed: int | None, index: int) -> int | None:
    if seed is None:
        return None
    digest = hashlib.blake2b(f"s1-sample/{seed}/{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 2  # 62 bits: engines add small offsets to seeds


def _public_fields(generation: Generation) -> dict:
    fields = dataclasses.asdict(generation)
    # The client sent the prompt; ids are for engines; V1/V2 ask for neither logprobs nor stops.
    for name in ("prompt", "token_ids", "logprobs", "stop_string"):
        fields.pop(name)
    return fields


def _v2_response(model: str, request_id: str | None, generations: list[Generation]) -> InferResponse:
    n = len(generations)
    columns = {
        "thinking": ("BYTES", [g.thinking for g in generations]),
        "answer": ("BYTES", [g.answer for g in generations]),
        "thinking_tokens": ("INT64", [g.thinking_tokens for g in generations]),
        "answer_tokens": ("INT64", [g.answer_tokens for g in generations]),
        "num_waits": ("INT64", [g.num_waits for g in generations]),
        "hit_cap": ("BOOL", [g.hit_cap for g in generations]),
    }
    outputs = [
        InferOutput(name=name, shape=[n], datatype=datatype, data=data)
        for name, (datatype, data) in columns.items()
    ]
    return InferResponse(response_id=request_id or "", model_name=model, infer_outputs=outputs)
