"""OpenAI-compatible `/openai/v1/completions` and `/openai/v1/chat/completions` for the s1 predictor.

Why our own routes instead of KServe's `OpenAIGenerativeModel`: KServe's OpenAI protocol
classes are vLLM's pydantic models, so on an install without vLLM (CPU tests, local demo) KServe
registers no OpenAI routes at all, and with vLLM the budget fields would only be untyped extras
of vLLM's request classes. These routes are registered on the very FastAPI app KServe's
`ModelServer` serves (same port, middleware, `/metrics`), under the same prefix
(`KSERVE_OPENAI_ROUTE_PREFIX`, default `/openai`), with the same code in the CPU and GPU images,
so what the tests check on CPU is what the cluster serves. The predictor is a plain
`kserve.Model`, so KServe never registers its own (conflicting) OpenAI routes beside these.

Thinking is returned as `reasoning` (vLLM's name) and as `reasoning_content` (DeepSeek's, which
older clients read), in messages and stream deltas; the answer as `content`/`text`. What OpenAI
clients send beyond s1's budget fields:
- `n`: independent samples, each budget-forced (`S1Predictor.samples`: seeded samples differ
  per choice and repeat); choices of prompt i are i*n .. i*n+n-1, streamed interleaved.
- `stop`: ends the answer, never the thinking (`s1.generation.stops`); finish_reason "stop"
  and `stop_reason` name the string.
- `logprobs` (chat: `logprobs`/`top_logprobs`; completions: `logprobs`): the model's raw
  logprobs of every generated token, thinking, delimiters and forced tokens included.
- `/completions` prompts without the think delimiter at their end get it appended: every
  completion is budget-forced (plain continuations are what stock vLLM serves).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from contextlib import aclosing
from typing import AsyncIterator, Callable

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from kserve.model_repository import ModelRepository
from pydantic import BaseModel, ValidationError

from s1.format import THINK_DELIMITER, conversation_prompt
from s1.generation.engine import PreparedRequest
from s1.generation.types import Generation, TokenLogprob
from s1.serving.errors import BadRequest, ServingError, UnknownModel
from s1.serving.predictor import S1Predictor
from s1.serving.protocol import (
    AssistantMessage,
    BudgetReport,
    ChatChoice,
    ChatChunkChoice,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatCompletionResponse,
    ChatDelta,
    ChatLogprobs,
    ChatMessage,
    CompletionChoice,
    CompletionLogprobs,
    CompletionRequest,
    CompletionResponse,
    OpenAIFields,
    TokenLogprobEntry,
    TopLogprob,
    Usage,
    describe_validation_error,
)
from s1.serving.streaming import CompletionSplitter, Delta

ROUTE_PREFIX = "/" + os.environ.get("KSERVE_OPENAI_ROUTE_PREFIX", "/openai").strip("/")


def register_openai_routes(app: FastAPI, registry: ModelRepository) -> None:
    """Add the OpenAI routes for every `S1Predictor` in KServe's model registry."""
    router = APIRouter(prefix=f"{ROUTE_PREFIX}/v1", tags=["OpenAI"])

    def predictor_for(name: str) -> S1Predictor:
        model = registry.get_model(name)
        if not isinstance(model, S1Predictor):
            known = sorted(n for n, m in registry.get_models().items() if isinstance(m, S1Predictor))
            raise UnknownModel(f"model {name!r} is not served here; available: {known}", "model")
        if not model.ready:
            raise _NotReady(f"model {name!r} is still loading")
        return model

    @router.post("/completions", response_model=None)
    async def completions(request: Request) -> Response:
        try:
            body = await _parse(request, CompletionRequest)
            predictor = predictor_for(body.model)
            prompts = [body.prompt] if isinstance(body.prompt, str) else body.prompt
            # Budget forcing starts at the think delimiter: a prompt without it gets it.
            prompts = [p if p.endswith(THINK_DELIMITER) else p + THINK_DELIMITER for p in prompts]
            return await _respond(predictor, body, prompts, _CompletionFormat(body, predictor))
        except ServingError as error:
            return error_response(error)

    @router.post("/chat/completions", response_model=None)
    async def chat_completions(request: Request) -> Response:
        try:
            body = await _parse(request, ChatCompletionRequest)
            predictor = predictor_for(body.model)
            if body.max_tokens is not None and body.max_completion_tokens is not None:
                raise BadRequest("give max_tokens or max_completion_tokens, not both", "max_tokens")
            if body.top_logprobs is not None and not body.logprobs:
                raise BadRequest("top_logprobs needs logprobs: true", "top_logprobs")
            prompt = _chat_prompt(body.messages)
            return await _respond(predictor, body, [prompt], _ChatFormat(body, predictor))
        except ServingError as error:
            return error_response(error)

    @router.get("/models")
    async def models() -> dict:
        served = [n for n, m in registry.get_models().items() if isinstance(m, S1Predictor)]
        return {
            "object": "list",
            "data": [{"id": name, "object": "model", "created": 0, "owned_by": "s1"} for name in served],
        }

    app.include_router(router)


class _NotReady(ServingError):
    status = 503
    kind = "model_not_ready"


def error_response(error: ServingError) -> JSONResponse:
    """OpenAI's error body: `{"error": {"message", "type", "param", "code"}}`."""
    body = {"message": str(error), "type": error.kind, "param": error.param or None, "code": str(int(error.status))}
    return JSONResponse({"error": body}, status_code=int(error.status), headers=error.headers)


async def _parse(request: Request, schema: type[BaseModel]):
    raw = await request.body()
    try:
        return schema.model_validate_json(raw)
    except ValidationError as error:
        if any(problem["type"] == "json_invalid" for problem in error.errors()):
            raise BadRequest(f"malformed JSON body: {error.errors()[0]['msg']}") from None
        message, param = describe_validation_error(error)
        raise BadRequest(message, param) from None


def _chat_prompt(messages: list[ChatMessage]) -> str:
    """The conversation in the s1 format (previous assistant turns as their visible answers)."""
    try:
        return conversation_prompt([(message.role, message.text()) for message in messages])
    except ValueError as error:
        raise BadRequest(f"messages: {error}", "messages") from None


async def _respond(predictor: S1Predictor, body: OpenAIFields, prompts: list[str], fmt: _Format) -> Response:
    predictor.check_fan_out(len(prompts) * body.n)
    requests = []
    for prompt in prompts:
        request = predictor.prepare(prompt, body, max_tokens=fmt.max_tokens, stop=body.stop_strings(),
                                    logprobs=fmt.top_logprobs)
        requests.extend(predictor.samples(request, body.n))
    if body.stream:
        return await _stream(predictor, requests, fmt)
    generations = await predictor.complete_all(requests)
    return JSONResponse(fmt.response(requests, generations).model_dump(exclude_none=True))


class _Failed:
    """A choice's stream raised `error` (handed from its task to the response)."""

    def __init__(self, error: BaseException):
        self.error = error


_ENDED = object()


async def _merged(streams: list[AsyncIterator]) -> AsyncIterator[tuple[int, object]]:
    """(choice, item) from every choice's stream as items arrive; the first error is raised
    and closing this iterator (the client left) stops every choice's generation."""
    queue: asyncio.Queue = asyncio.Queue()

    async def pump(index: int, stream: AsyncIterator) -> None:
        try:
            async with aclosing(stream):
                async for item in stream:
                    queue.put_nowait((index, item))
            queue.put_nowait((index, _ENDED))
        except Exception as error:  # noqa: BLE001 (raised in the response, below)
            queue.put_nowait((index, _Failed(error)))

    tasks = [asyncio.create_task(pump(index, stream)) for index, stream in enumerate(streams)]
    try:
        running = len(tasks)
        while running:
            index, item = await queue.get()
            if item is _ENDED:
                running -= 1
            elif isinstance(item, _Failed):
                raise item.error
            else:
                yield index, item
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _stream(predictor: S1Predictor, requests: list[PreparedRequest], fmt: _Format) -> StreamingResponse:
    """Server-sent events: `data: {chunk}` lines, then `data: [DONE]`.

    The first event is awaited before the response starts, so a full queue or an engine error
    is still a proper status code rather than a broken stream. Every choice streams at once
    (as the engine schedules them), each chunk naming its choice.
    """
    events = _merged([predictor.events(request) for request in requests])
    try:
        first = await anext(events)
    except BaseException:
        await events.aclose()
        raise

    async def body() -> AsyncIterator[str]:
        splitters = [CompletionSplitter(request.sampling.stop) for request in requests]
        pending: list[list[TokenLogprob]] = [[] for _ in requests]  # logprobs not yet sent
        sent = [0] * len(requests)
        finished: dict[int, Generation] = {}
        for index in range(len(requests)):
            yield _sse(fmt.chunk(index, Delta(), first=True))
        async with aclosing(events):
            item = first
            try:
                while True:
                    index, value = item
                    if isinstance(value, TokenLogprob):
                        pending[index].append(value)
                    elif isinstance(value, Generation):
                        # Only the tokens the result kept (a stop string ends it mid-step).
                        entries = pending[index][: len(value.logprobs or ()) - sent[index]]
                        tail = splitters[index].finish()
                        if tail or entries:
                            yield _sse(fmt.chunk(index, tail, entries=entries))
                        yield _sse(fmt.chunk(index, Delta(), final=(requests[index], value)))
                        finished[index] = value
                        if len(finished) == len(requests):
                            break
                    else:
                        delta = splitters[index].feed(value)
                        if delta:
                            yield _sse(fmt.chunk(index, delta, entries=pending[index]))
                            sent[index] += len(pending[index])
                            pending[index] = []
                    item = await anext(events)
            except ServingError as error:  # e.g. the timeout, after the stream started
                yield _sse(json.loads(error_response(error).body))
        if fmt.include_usage and len(finished) == len(requests):
            yield _sse(fmt.usage_chunk(requests, [finished[i] for i in range(len(requests))]))
        yield "data: [DONE]\n\n"

    return StreamingResponse(body(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def _sse(payload: BaseModel | dict) -> str:
    data = payload.model_dump_json(exclude_none=True) if isinstance(payload, BaseModel) else json.dumps(payload)
    return f"data: {data}\n\n"


def _usage(requests: list[PreparedRequest], generations: list[Generation], n: int) -> Usage:
    """The request's usage: each prompt counted once, every choice's generated tokens (forced
    delimiters included when the engine reports the ids)."""
    prompt = sum(len(request.prompt_ids) for request in requests[::n])
    completion = sum(len(g.token_ids) or g.thinking_tokens + g.answer_tokens for g in generations)
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        completion_tokens_details={"reasoning_tokens": sum(g.thinking_tokens for g in generations)},
    )


def _finish_reason(request: PreparedRequest, generation: Generation) -> str:
    """"length" when the turn's end was forced: the answer ran into its cap, or the completion
    into `max_tokens` (the thinking cap alone never cuts the answer); "stop" otherwise (the
    model ended its answer, or a stop string did)."""
    if generation.stop_string is not None:
        return "stop"
    plan = request.plan
    capped = generation.answer_tokens >= plan.max_answer_tokens or len(generation.token_ids) >= plan.max_new_tokens
    return "length" if capped else "stop"


def _budget(generation: Generation) -> BudgetReport:
    return BudgetReport(
        thinking_tokens=generation.thinking_tokens, num_waits=generation.num_waits, hit_cap=generation.hit_cap
    )


# vLLM's floor for a logprob: JSON has no -Infinity.
_LOGPROB_FLOOR = -9999.0


class _Format:
    """How one route renders results and stream chunks."""

    def __init__(self, body: OpenAIFields, prefix: str, predictor: S1Predictor):
        self.model = body.model
        self.id = f"{prefix}-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.include_usage = bool(body.stream_options and body.stream_options.include_usage)
        self.max_tokens = body.max_tokens
        self.n = body.n
        self.top_logprobs = body.top_logprobs_wanted()
        self._tokenizer = predictor.generator.tokenizer
        self._texts: dict[int, str] = {}
        self._offsets: dict[int, int] = {}  # choice -> characters of its tokens sent so far

    response: Callable[[list[PreparedRequest], list[Generation]], BaseModel]
    chunk: Callable[..., BaseModel]

    def usage_chunk(self, requests: list[PreparedRequest], generations: list[Generation]) -> BaseModel:
        return self._chunk_type(id=self.id, created=self.created, model=self.model, choices=[],
                                usage=_usage(requests, generations, self.n))

    _chunk_type: type[BaseModel]

    def token_text(self, token: int) -> str:
        """A token as text, as vLLM reports it (a lone byte of a character shows as U+FFFD)."""
        if token not in self._texts:
            self._texts[token] = self._tokenizer.decode([token], skip_special_tokens=False)
        return self._texts[token]

    def _entry(self, entry: TokenLogprob) -> tuple[str, float]:
        return self.token_text(entry.token), max(entry.logprob, _LOGPROB_FLOOR)


class _CompletionFormat(_Format):
    _chunk_type = CompletionResponse

    def __init__(self, body: CompletionRequest, predictor: S1Predictor):
        super().__init__(body, "cmpl", predictor)

    def response(self, requests: list[PreparedRequest], generations: list[Generation]) -> CompletionResponse:
        choices = [
            CompletionChoice(
                index=index,
                text=g.answer,
                reasoning=g.thinking,
                reasoning_content=g.thinking,
                logprobs=self.logprobs(index, g.logprobs),
                finish_reason=_finish_reason(r, g),
                stop_reason=g.stop_string,
                budget=_budget(g),
            )
            for index, (r, g) in enumerate(zip(requests, generations))
        ]
        return CompletionResponse(id=self.id, created=self.created, model=self.model, choices=choices,
                                  usage=_usage(requests, generations, self.n))

    def chunk(self, index: int, delta: Delta, first: bool = False, final: tuple | None = None,
              entries: list[TokenLogprob] = ()) -> CompletionResponse:
        reasoning = delta.reasoning or None
        choice = CompletionChoice(index=index, text=delta.content, reasoning=reasoning, reasoning_content=reasoning,
                                  logprobs=self.logprobs(index, entries) if entries else None)
        if final is not None:
            choice.finish_reason = _finish_reason(*final)
            choice.stop_reason = final[1].stop_string
            choice.budget = _budget(final[1])
        return CompletionResponse(id=self.id, created=self.created, model=self.model, choices=[choice])

    def logprobs(self, index: int, entries) -> CompletionLogprobs | None:
        if entries is None:
            return None
        found = CompletionLogprobs(tokens=[], token_logprobs=[], top_logprobs=[], text_offset=[])
        for entry in entries:
            text, logprob = self._entry(entry)
            found.text_offset.append(self._offsets.get(index, 0))
            self._offsets[index] = found.text_offset[-1] + len(text)
            found.tokens.append(text)
            found.token_logprobs.append(logprob)
            found.top_logprobs.append({self.token_text(t): max(lp, _LOGPROB_FLOOR) for t, lp in entry.top})
        return found


class _ChatFormat(_Format):
    _chunk_type = ChatCompletionChunk

    def __init__(self, body: ChatCompletionRequest, predictor: S1Predictor):
        super().__init__(body, "chatcmpl", predictor)
        self.max_tokens = body.max_tokens or body.max_completion_tokens

    def response(self, requests: list[PreparedRequest], generations: list[Generation]) -> ChatCompletionResponse:
        choices = [
            ChatChoice(
                index=index,
                message=AssistantMessage(content=g.answer, reasoning=g.thinking, reasoning_content=g.thinking),
                logprobs=self.logprobs(g.logprobs),
                finish_reason=_finish_reason(r, g),
                stop_reason=g.stop_string,
                budget=_budget(g),
            )
            for index, (r, g) in enumerate(zip(requests, generations))
        ]
        return ChatCompletionResponse(id=self.id, created=self.created, model=self.model, choices=choices,
                                      usage=_usage(requests, generations, self.n))

    def chunk(self, index: int, delta: Delta, first: bool = False, final: tuple | None = None,
              entries: list[TokenLogprob] = ()) -> ChatCompletionChunk:
        if first:
            choice = ChatChunkChoice(index=index, delta=ChatDelta(role="assistant", content=""))
        elif final is not None:
            choice = ChatChunkChoice(index=index, delta=ChatDelta(), finish_reason=_finish_reason(*final),
                                     stop_reason=final[1].stop_string, budget=_budget(final[1]))
        else:
            reasoning = delta.reasoning or None
            choice = ChatChunkChoice(
                index=index,
                delta=ChatDelta(content=delta.content or None, reasoning=reasoning, reasoning_content=reasoning),
                logprobs=self.logprobs(entries) if entries else None,
            )
        return ChatCompletionChunk(id=self.id, created=self.created, model=self.model, choices=[choice])

    def logprobs(self, entries) -> ChatLogprobs | None:
        if entries is None:
            return None
        content = []
        for entry in entries:
            text, logprob = self._entry(entry)
            top = [TopLogprob(token=t, logprob=lp, bytes=list(t.encode()))
                   for t, lp in (self._entry(TokenLogprob(token, value)) for token, value in entry.top)]
            content.append(TokenLogprobEntry(token=text, logprob=logprob, bytes=list(text.encode()), top_logprobs=top))
        return ChatLogprobs(content=content)
