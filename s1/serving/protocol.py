"""Wire schemas: OpenAI completions / chat completions with s1's budget fields, and KServe V1.

Follows the OpenAI API (the thinking section as vLLM's `reasoning` and as DeepSeek's
`reasoning_content`) so stock clients work; the budget fields are first-class, typed and
validated here rather than accepted as untyped extras. Unknown fields are rejected, so a
misspelt budget field is an error instead of a silently ignored setting. Fields of the OpenAI
API that s1 does not implement (`echo`, penalties, tools, ...) are unknown fields for the same
reason.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

NonNegativeInt = Annotated[StrictInt, Field(ge=0)]
PositiveInt = Annotated[StrictInt, Field(ge=1)]
# vLLM's default `max_logprobs`: the most alternatives per token either engine reports.
MAX_TOP_LOGPROBS = 20
TopLogprobs = Annotated[StrictInt, Field(ge=0, le=MAX_TOP_LOGPROBS)]
StopString = Annotated[StrictStr, Field(min_length=1)]
# OpenAI takes up to 4; a few more for clients written against vLLM, but never unbounded (every
# stop string is searched for at every step).
MAX_STOP_STRINGS = 16


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GenerationFields(_Strict):
    """Per-request budget forcing and sampling, shared by every route."""

    max_thinking_tokens: NonNegativeInt | None = Field(
        None, description="cap on thinking tokens; default: the server's limit"
    )
    min_thinking_tokens: NonNegativeInt = Field(
        0, description="end-of-thinking attempts before this many tokens become 'Wait'"
    )
    num_ignore: NonNegativeInt = Field(
        0, description="end-of-thinking attempts replaced by 'Wait' regardless"
    )
    # s1 evaluates greedily; OpenAI's default of 1.0 would make the served model disagree with it.
    temperature: Annotated[float, Field(ge=0.0, le=2.0)] = 0.0
    top_p: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0
    seed: StrictInt | None = None


class StreamOptions(_Strict):
    include_usage: StrictBool = False


class OpenAIFields(GenerationFields):
    model: StrictStr
    max_tokens: PositiveInt | None = Field(
        None, description="bound on the whole completion, thinking included (OpenAI semantics); "
        "thinking is capped early enough that the answer still fits"
    )
    n: PositiveInt = Field(1, description="independent samples per prompt, each budget-forced")
    stop: StopString | Annotated[list[StopString], Field(max_length=MAX_STOP_STRINGS)] | None = Field(
        None, description="strings that end the answer (never the thinking); not returned"
    )
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    user: StrictStr | None = None

    def stop_strings(self) -> tuple[str, ...]:
        return (self.stop,) if isinstance(self.stop, str) else tuple(self.stop or ())


class CompletionRequest(OpenAIFields):
    """`POST /openai/v1/completions`: `prompt` is an s1 prompt (see s1.format), or a list of
    them; one without the think delimiter at its end gets it appended. `logprobs`: alternatives
    per token (the legacy completions form)."""

    prompt: StrictStr | Annotated[list[StrictStr], Field(min_length=1)]
    logprobs: TopLogprobs | None = None

    def top_logprobs_wanted(self) -> int | None:
        """Alternatives per token the client asked for; None: no logprobs."""
        return self.logprobs


class TextPart(_Strict):
    type: Literal["text"]
    text: StrictStr


class ChatMessage(_Strict):
    role: Literal["system", "user", "assistant"]
    content: StrictStr | list[TextPart]
    name: StrictStr | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)


class ChatCompletionRequest(OpenAIFields):
    """`POST /openai/v1/chat/completions`; `max_completion_tokens` is OpenAI's newer name."""

    messages: Annotated[list[ChatMessage], Field(min_length=1)]
    max_completion_tokens: PositiveInt | None = None
    logprobs: StrictBool = False
    top_logprobs: TopLogprobs | None = None

    def top_logprobs_wanted(self) -> int | None:
        """Alternatives per token the client asked for; None: no logprobs."""
        return (self.top_logprobs or 0) if self.logprobs else None


class V1Instance(GenerationFields):
    """One KServe V1 instance: a question (wrapped in the s1 prompt) or a full prompt."""

    question: StrictStr | None = None
    prompt: StrictStr | None = None
    max_answer_tokens: PositiveInt | None = None


class V1Request(_Strict):
    instances: Annotated[list[V1Instance | StrictStr], Field(min_length=1)]


def describe_validation_error(error: ValidationError) -> tuple[str, str]:
    """One readable message for all problems, and the first offending field (OpenAI `param`)."""
    parts, params = [], []
    for problem in error.errors():
        loc = ".".join(str(item) for item in problem["loc"] if not _is_union_tag(item))
        params.append(loc)
        message = problem["msg"]
        if problem["type"] == "extra_forbidden":
            message = "unknown field (not supported by this server)"
        elif problem["type"] == "missing":
            message = "field required"
        parts.append(f"{loc or 'body'}: {message}")
    return "; ".join(dict.fromkeys(parts)), params[0] if params else ""


def _is_union_tag(item: object) -> bool:
    # pydantic names union branches in locations ("str", "list[str]", "V1Instance",
    # "constrained-str" for a str with limits).
    return isinstance(item, str) and (
        item[:1].isupper() or "[" in item or item in ("str",) or item.startswith("constrained-"))


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    completion_tokens_details: dict[str, int]


class BudgetReport(BaseModel):
    """s1's accounting per choice, beside the OpenAI fields."""

    thinking_tokens: int
    num_waits: int
    hit_cap: bool


class CompletionLogprobs(BaseModel):
    """The legacy completions form: parallel lists, one entry per token."""

    tokens: list[str]
    token_logprobs: list[float]
    top_logprobs: list[dict[str, float]]
    text_offset: list[int]


class CompletionChoice(BaseModel):
    index: int
    text: str
    reasoning: str | None = None
    reasoning_content: str | None = None
    logprobs: CompletionLogprobs | None = None
    finish_reason: Literal["stop", "length"] | None = None
    stop_reason: str | None = None  # the stop string that ended the answer (vLLM's field)
    budget: BudgetReport | None = None


class CompletionResponse(BaseModel):
    id: str
    object: Literal["text_completion"] = "text_completion"
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: Usage | None = None


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str
    reasoning: str
    reasoning_content: str


class TopLogprob(BaseModel):
    token: str
    logprob: float
    bytes: list[int]


class TokenLogprobEntry(TopLogprob):
    top_logprobs: list[TopLogprob]


class ChatLogprobs(BaseModel):
    """Chat's form: one entry per generated token, thinking and delimiters included."""

    content: list[TokenLogprobEntry]


class ChatChoice(BaseModel):
    index: int
    message: AssistantMessage
    logprobs: ChatLogprobs | None = None
    finish_reason: Literal["stop", "length"]
    stop_reason: str | None = None
    budget: BudgetReport


class ChatCompletionResponse(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage


class ChatDelta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None
    reasoning: str | None = None
    reasoning_content: str | None = None


class ChatChunkChoice(BaseModel):
    index: int
    delta: ChatDelta
    logprobs: ChatLogprobs | None = None
    finish_reason: Literal["stop", "length"] | None = None
    stop_reason: str | None = None
    budget: BudgetReport | None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChatChunkChoice]
    usage: Usage | None = None
