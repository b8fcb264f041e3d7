"""Request and result types shared by every generation driver, evaluation and serving."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from s1.format import FINAL_ANSWER_PREFIX

if TYPE_CHECKING:  # budget_forcing imports this module
    from s1.generation.budget_forcing import ForcingPlan


@dataclass(frozen=True)
class Budget:
    """How long the model may think, per request (s1's budget forcing).

    max_thinking_tokens: cap; at the cap the end-of-thinking delimiter is forced (None: no cap
        beyond the context window).
    min_thinking_tokens: an end-of-thinking attempt before this many thinking tokens is replaced
        by `ignore_string`.
    num_ignore: how many end-of-thinking attempts are replaced by `ignore_string` regardless.
    ignore_string: text appended instead of the delimiter ("Wait" in s1).
    answer_prefix: text forced after the answer delimiter when the cap was hit (s1:
        "Final Answer:").
    max_answer_tokens: cap on the tokens the model generates in the answer section (a forced
        answer prefix does not count), separate from the thinking budget, so the answer is never
        cut off by the thinking cap; at the cap `<|im_end|>` is forced.
    max_tokens: bound on every generated token, thinking and forced tokens included (OpenAI's
        `max_tokens`). When it, not the thinking cap, runs out first, thinking is capped early
        enough that the answer still gets its share (`budget_forcing.ANSWER_SHARE`).
    """

    max_thinking_tokens: int | None = None
    min_thinking_tokens: int = 0
    num_ignore: int = 0
    ignore_string: str = "Wait"
    answer_prefix: str = FINAL_ANSWER_PREFIX
    max_answer_tokens: int = 512
    max_tokens: int | None = None


@dataclass(frozen=True)
class Sampling:
    """Decoding settings; temperature 0 is greedy, as in s1's evaluation. `seed=None` (served
    requests without one) draws fresh randomness per request.

    stop: strings that end the answer (never the thinking; `s1.generation.stops`).
    logprobs: report each generated token's logprob with this many likeliest alternatives
        (`Generation.logprobs`; None: none).
    """

    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = 0
    stop: tuple[str, ...] = ()
    logprobs: int | None = None


@dataclass(frozen=True)
class PreparedRequest:
    """A validated request: the full s1 prompt, its ids, its resolved plan and its sampling
    (`s1.generation.engine.prepare`), what every engine generates from."""

    prompt: str
    prompt_ids: tuple[int, ...]
    plan: ForcingPlan
    sampling: Sampling


@dataclass(frozen=True)
class Generation:
    """One sample: the assistant turn split into thinking and answer, with budget accounting."""

    prompt: str
    text: str  # the whole generated assistant turn, special tokens kept
    thinking: str
    answer: str
    thinking_tokens: int
    answer_tokens: int
    num_waits: int  # end-of-thinking attempts replaced by the ignore string
    hit_cap: bool  # the thinking cap forced the answer delimiter
    closed: bool  # an answer section exists (forced or natural)
    # The generated token ids (what `text` decodes from); exact counts need no re-tokenising.
    token_ids: tuple[int, ...] = ()
    # One per generated token, when the request asked for them (`Sampling.logprobs`).
    logprobs: tuple[TokenLogprob, ...] | None = None
    # The stop string that ended the answer (`Sampling.stop`).
    stop_string: str | None = None


@dataclass(frozen=True)
class TokenLogprob:
    """The model's log-probability of one generated token and of the likeliest tokens there.

    Raw: the model's own next-token distribution, before temperature, top-p and budget forcing
    (vLLM's default `logprobs_mode`), so a token budget forcing put in its place shows how
    unlikely the model found it. Engines stream one per token when asked, beside the text.
    """

    token: int
    logprob: float
    top: tuple[tuple[int, float], ...] = ()  # (token, logprob), likeliest first
