"""OpenAI-compatible `/openai/v1/completions` and `/openai/v1/chat/completions` for the s1 predictor.

Why our own routes instead of KServe's `OpenAIGenerativeModel`: KServe's OpenAI protocol
classes are vLLM's pydantic models, so on an install without vLLM (CPU tests, local demo) KServe
registers no OpenAI routes at all, and with vLLM the budget fields would only be untyped extras
of vLLM's request classes. These routes are registered on the very FastAPI app KServe's
`ModelServer` serves (same port, middleware, `/metrics`), under the same prefix
(`KSERVE_OPENAI_ROUTE_PREFIX`, default `/openai`), with the same code in the CPU and GPU images,
so what the tests check on CPU is what the cluster serves. The predictor is a plain
`kserve.Model`, so KServe never registers its own (conflicting) OpenAI routes beside these.

Thinking is returned as `reasoning_content` (message and stream deltas), the answer as
`content`/`text`, as OpenAI-compatible reasoning servers (vLLM, DeepSeek) do.
"""

from __future__ import annotations

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
from s1.generation.types import Generation
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
    ChatMessage,
    CompletionChoice,
    CompletionRequest,
    CompletionResponse,
    OpenAIFields,
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
            for index, prompt in enumerate(prompts):
                if not prompt.endswith(THINK_DELIMITER):
                    raise BadRequest(
                        f"prompt {index} does not end with {THINK_DELIMITER!r}: completions take a "
                        "full s1 prompt (s1.format.generation_prompt); send plain questions to "
                        "/chat/completions",
                        "prompt",
                    )
            return await _respond(predictor, body, prompts, _CompletionFormat(body))
        except ServingError as error:
            return error_response(error)

    @router.post("/chat/completions", response_model=None)
    async def chat_completions(request: Request) -> Response:
        try:
            body = await _parse(request, ChatCompletionRequest)
            predictor = predictor_for(body.model)
            if body.max_tokens is not None and body.max_completion_tokens is not None:
                raise BadRequest("give max_tokens or max_completion_tokens, not both", "max_tokens")
            prompt = _chat_prompt(body.messages)
            return await _respond(predictor, body, [prompt], _ChatFormat(body))
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
    predictor.check_fan_out(len(prompts))
    prepared = [predictor.prepare(prompt, body, max_tokens=fmt.max_tokens) for prompt in prompts]
    if body.stream:
        if len(prepared) != 1:
            raise BadRequest("streaming takes a single prompt", "prompt")
        return await _stream(predictor, prepared[0], fmt)
    generations = await predictor.complete_all(prepared)
    return JSONResponse(fmt.response(prepared, generations).model_dump(exclude_none=True))


async def _stream(predictor: S1Predictor, request: PreparedRequest, fmt: _Format) -> StreamingResponse:
    """Server-sent events: `data: {chunk}` lines, then `data: [DONE]`.

    The first event is awaited before the response starts, so a full queue or an engine error
    is still a proper status code rather than a broken stream.
    """
    events = predictor.events(request)
    try:
        first = await anext(events)
    except BaseException:
        await events.aclose()
        raise

    async def body() -> AsyncIterator[str]:
        splitter = CompletionSplitter()
        yield _sse(fmt.chunk(Delta(), first=True))
        async with aclosing(events):
            item: str | Generation = first
            try:
                while True:
                    if isinstance(item, Generation):
                        tail = splitter.finish()
                        if tail:
                            yield _sse(fmt.chunk(tail))
                        yield _sse(fmt.chunk(Delta(), final=(request, item)))
                        if fmt.include_usage:
                            yield _sse(fmt.usage_chunk(request, item))
                        break
                    delta = splitter.feed(item)
                    if delta:
                        yield _sse(fmt.chunk(delta))
                    item = await anext(events)
            except ServingError as error:  # e.g. the timeout, after the stream started
                yield _sse(json.loads(error_response(error).body))
        yield "data: [DONE]\n\n"

    return StreamingResponse(body(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def _sse(payload: BaseModel | dict) -> str:
    data = payload.model_dump_json(exclude_none=True) if isinstance(payload, BaseModel) else json.dumps(payload)
    return f"data: {data}\n\n"


def _usage(request: PreparedRequest, generation: Generation) -> Usage:
    # Every generated token (forced delimiters included) when the engine reports the ids.
    completion = len(generation.token_ids) or generation.thinking_tokens + generation.answer_tokens
    return Usage(
        prompt_tokens=len(request.prompt_ids),
        completion_tokens=completion,
        total_tokens=len(request.prompt_ids) + completion,
        completion_tokens_details={"reasoning_tokens": generation.thinking_tokens},
    )


def _finish_reason(request: PreparedRequest, generation: Generation) -> str:
    """"length" when the turn's end was forced: the answer ran into its cap, or the completion
    into `max_tokens` (the thinking cap alone never cuts the answer)."""
    plan = request.plan
    capped = generation.answer_tokens >= plan.max_answer_tokens or len(generation.token_ids) >= plan.max_new_tokens
    return "length" if capped else "stop"


def _budget(generation: Generation) -> BudgetReport:
    return BudgetReport(
        thinking_tokens=generation.thinking_tokens, num_waits=generation.num_waits, hit_cap=generation.hit_cap
    )


class _Format:
    """How one route renders results and stream chunks."""

    def __init__(self, body: OpenAIFields, prefix: str):
        self.model = body.model
        self.id = f"{prefix}-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.include_usage = bool(body.stream_options and body.stream_options.include_usage)
        self.max_tokens = body.max_tokens

    response: Callable[[list[PreparedRequest], list[Generation]], BaseModel]
    chunk: Callable[..., BaseModel]
    usage_chunk: Callable[[PreparedRequest, Generation], BaseModel]


class _CompletionFormat(_Format):
    def __init__(self, body: CompletionRequest):
        super().__init__(body, "cmpl")

    def response(self, requests: list[PreparedRequest], generations: list[Generation]) -> CompletionResponse:
        choices = [
            CompletionChoice(
                index=index,
                text=g.answer,
                reasoning_content=g.thinking,
                finish_reason=_finish_reason(r, g),
                budget=_budget(g),
            )
            for index, (r, g) in enumerate(zip(requests, generations))
        ]
        usages = [_usage(r, g) for r, g in zip(requests, generations)]
        usage = Usage(
            prompt_tokens=sum(u.prompt_tokens for u in usages),
            completion_tokens=sum(u.completion_tokens for u in usages),
            total_tokens=sum(u.total_tokens for u in usages),
            completion_tokens_details={
                "reasoning_tokens": sum(u.completion_tokens_details["reasoning_tokens"] for u in usages)
            },
        )
        return CompletionResponse(id=self.id, created=self.created, model=self.model, choices=choices, usage=usage)

    def chunk(self, delta: Delta, first: bool = False, final: tuple | None = None) -> CompletionResponse:
        choice = CompletionChoice(index=0, text=delta.content, reasoning_content=delta.reasoning or None)
        if final is not None:
            choice.finish_reason = _finish_reason(*final)
            choice.budget = _budget(final[1])
        return CompletionResponse(id=self.id, created=self.created, model=self.model, choices=[choice])

    def usage_chunk(self, request: PreparedRequest, generation: Generation) -> CompletionResponse:
        return CompletionResponse(
            id=self.id, created=self.created, model=self.model, choices=[], usage=_usage(request, generation)
        )


class _ChatFormat(_Format):
    def __init__(self, body: ChatCompletionRequest):
        super().__init__(body, "chatcmpl")
        self.max_tokens = body.max_tokens or body.max_completion_tokens

    def response(self, requests: list[PreparedRequest], generations: list[Generation]) -> ChatCompletionResponse:
        [request], [generation] = requests, generations
        choice = ChatChoice(
            index=0,
            message=AssistantMessage(content=generation.answer, reasoning_content=generation.thinking),
            finish_reason=_finish_reason(request, generation),
            budget=_budget(generation),
        )
        return ChatCompletionResponse(
            id=self.id, created=self.created, model=self.model, choices=[choice], usage=_usage(request, generation)
        )

    def chunk(self, delta: Delta, first: bool = False, final: tuple | None = None) -> ChatCompletionChunk:
        if first:
            choice = ChatChunkChoice(index=0, delta=ChatDelta(role="assistant", content=""))
        elif final is not None:
            choice = ChatChunkChoice(
                index=0, delta=ChatDelta(), finish_reason=_finish_reason(*final), budget=_budget(final[1])
            )
        else:
            choice = ChatChunkChoice(
                index=0, delta=ChatDelta(content=delta.content or None, reasoning_content=delta.reasoning or None)
            )
        return ChatCompletionChunk(id=self.id, created=self.created, model=self.model, choices=[choice])

    def usage_chunk(self, request: PreparedRequest, generation: Generation) -> ChatCompletionChunk:
        return ChatCompletionChunk(
            id=self.id, created=self.created, model=self.model, choices=[], usage=_usage(request, generation)
        )
