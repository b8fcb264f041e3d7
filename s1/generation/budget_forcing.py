"""s1's budget forcing as one engine-independent, per-sequence token state machine.

Every driver (transformers `LogitsProcessor`, vLLM logits processor, the multi-round reference
driver, the KServe predictor) runs the same protocol, one position at a time:

    forcer = BudgetForcer(plan_for(tokenizer, budget, prompt_tokens=len(prompt_ids),
                                   context_window=model_max_length))
    while not forcer.done:
        step = forcer.step()                  # what the next position may be
        if step.forced is not None:
            token = step.forced               # mask every other token
        else:
            # mask step.banned; let the model choose (greedy or sampled)
            token = model_choice
            if token in step.replace:         # the model tried to end thinking too early
                token = forcer.intercept(token)   # e.g. "Wait" at this same position
        forcer.feed(token)

`resolve(proposed)` bundles that loop body for drivers that see the model's choice before it
is committed (a KServe predictor's own decode loop). Engines that only see logits decide
"would the model pick a token in `step.replace`?" themselves (argmax, or a coin with the
probability mass of those tokens, which leaves the sampling distribution exactly as s1's
"sample, then replace" would) and otherwise mask `step.replace` out; `s1.generation.logits` does
this for transformers and vLLM. `BudgetForcer.replay(plan, tokens, wait_positions)` rebuilds the
state of a sequence an engine restarts; `ForcingPlan.to_dict()` is what travels with a request.

Semantics (s1, `simplescaling/s1` README and lm-evaluation-harness vLLM model):
- The prompt ends with `<|im_start|>think`. Every token generated while thinking counts as
  thinking, forced ignore-string tokens included.
- When thinking reaches `max_thinking_tokens`, `\\n<|im_start|>answer\\n` and the answer prefix
  ("Final Answer:") are forced: `hit_cap`.
- An end-of-thinking attempt (`<|im_start|>`, or a stop token such as `<|im_end|>`) while a wait
  is owed (fewer than `num_ignore` waits so far, or thinking below `min_thinking_tokens`) is
  replaced by the ignore string ("Wait"), provided the ignore string fits in the remaining
  budget with room for one more token. As in s1 (vLLM `min_tokens=1` after appending "Wait"),
  the first free token after the ignore string cannot end thinking.
- Otherwise thinking ends: after the model's own `<|im_start|>` the rest of the delimiter
  (`answer\\n`) is forced; a stop token is replaced by `<|im_start|>` first.
- The answer section has its own cap (`max_answer_tokens` tokens chosen by the model), after
  which `<|im_end|>` is forced; it ends on a stop token. The thinking cap never cuts the answer.
- A reply plan (`reply_plan`) has no thinking section: the sequence starts in the answer section
  and nothing but the stop at its length cap is forced (a chat model's plain reply).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum
from typing import Sequence

from s1.format import TURN_STOPS, Delimiters, Tokenizer, delimiter_ids
from s1.generation.types import Budget


class Phase(Enum):
    THINKING = "thinking"
    ANSWER = "answer"  # includes the forced delimiter that opens it
    DONE = "done"


class _Count(Enum):
    """Which counter a forced token adds to."""

    THINKING = 1
    ANSWER = 2
    NONE = 3


# When `Budget.max_tokens` bounds the whole completion, at least this fraction of what is left
# after the forced delimiter is kept for the answer (thinking is capped before it): a short
# "Final Answer: 42" fits, and most of a small bound still goes to thinking.
ANSWER_SHARE = 0.25


@dataclass(frozen=True)
class ForcingPlan:
    """Everything one request's state machine needs, as plain ints (picklable, JSON-able)."""

    max_thinking_tokens: int  # resolved cap (the context window bounds "no cap")
    min_thinking_tokens: int
    num_ignore: int
    max_answer_tokens: int
    end_of_thinking: int  # <|im_start|>
    stop: tuple[int, ...]  # <|im_end|>, <|endoftext|>
    ignore: tuple[int, ...]  # "Wait"
    cap_delimiter: tuple[int, ...]  # "\n<|im_start|>answer\n" + answer prefix, forced at the cap
    cap_prefix_length: int  # how many trailing cap_delimiter tokens are the answer prefix
    delimiter_rest: tuple[int, ...]  # "answer\n", forced after <|im_start|> ends thinking
    # Bound on generated tokens (thinking, delimiter, answer, stop token); the turn's end is
    # forced at it, so an engine's own length limit never cuts a turn.
    max_new_tokens: int

    @property
    def reply_only(self) -> bool:
        """A plan with no thinking section (`reply_plan`): the model writes one plain reply."""
        return self.max_thinking_tokens == 0 and not self.cap_delimiter

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: dict) -> ForcingPlan:
        fields = cls.__dataclass_fields__
        missing = sorted(set(fields) - set(data))
        if missing:
            raise ValueError(f"budget-forcing plan is missing {missing}")
        return cls(**{
            name: tuple(data[name]) if isinstance(data[name], (list, tuple)) else int(data[name])
            for name in fields
        })


def validate_budget(budget: Budget) -> None:
    """Reject budgets that cannot be honoured, before any generation starts."""
    for name in ("max_thinking_tokens", "min_thinking_tokens", "num_ignore", "max_answer_tokens", "max_tokens"):
        value = getattr(budget, name)
        # A count given as 24.0 (JSON numbers from KFP or YAML) would reach vLLM as a float,
        # which its engine process cannot decode: the request then never finishes.
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError(f"budget: {name} must be a whole number of tokens, got {value!r}")
    for name in ("min_thinking_tokens", "num_ignore"):
        if getattr(budget, name) < 0:
            raise ValueError(f"budget: {name} must be >= 0, got {getattr(budget, name)}")
    cap = budget.max_thinking_tokens
    if cap is not None and cap < 0:
        raise ValueError(f"budget: max_thinking_tokens must be >= 0 (or None), got {cap}")
    if cap is not None and budget.min_thinking_tokens > cap:
        raise ValueError(
            f"budget: min_thinking_tokens ({budget.min_thinking_tokens}) exceeds "
            f"max_thinking_tokens ({cap})"
        )
    if budget.max_answer_tokens < 1:
        raise ValueError(f"budget: max_answer_tokens must be >= 1, got {budget.max_answer_tokens}")
    if budget.max_tokens is not None and budget.max_tokens < 1:
        raise ValueError(f"budget: max_tokens must be >= 1 (or None), got {budget.max_tokens}")
    if (budget.num_ignore or budget.min_thinking_tokens) and not budget.ignore_string:
        raise ValueError("budget: ignore_string must be non-empty when num_ignore or "
                         "min_thinking_tokens asks for waits")


def plan_for(
    tokenizer: Tokenizer,
    budget: Budget,
    prompt_tokens: int,
    context_window: int,
    delimiters: Delimiters | None = None,
) -> ForcingPlan:
    """Validate `budget` for one prompt and resolve it into token ids.

    `context_window` is the model's maximum sequence length; the prompt, the whole thinking
    budget, the forced delimiter and the answer must fit in it, so a request can never be cut
    off by the engine's length limit. With `max_thinking_tokens=None` the cap is whatever the
    context leaves (s1's "auto" budget).
    """
    validate_budget(budget)
    delimiters = delimiters or delimiter_ids(tokenizer)
    ignore = tuple(tokenizer.encode(budget.ignore_string, add_special_tokens=False))
    ends = {delimiters.end_of_thinking, *delimiters.stop}
    if ends & set(ignore):
        raise ValueError(f"budget: ignore_string {budget.ignore_string!r} contains an "
                         "end-of-thinking token")
    prefix = tuple(tokenizer.encode(budget.answer_prefix, add_special_tokens=False))
    cap_delimiter = delimiters.newline + delimiters.answer + delimiters.newline + prefix
    # The answer never outgrows max_tokens, so a small bound leaves room for thinking.
    answer = min(budget.max_answer_tokens, budget.max_tokens or budget.max_answer_tokens)
    room = context_window - prompt_tokens - len(cap_delimiter) - answer - 1
    cap = budget.max_thinking_tokens
    if cap is None:
        if room < 0:
            raise ValueError(
                f"budget: the prompt ({prompt_tokens} tokens) plus max_answer_tokens "
                f"({answer}) leave no room in the {context_window}-token context window"
            )
        cap = room
    elif cap > room:
        raise ValueError(
            f"budget: max_thinking_tokens={cap} does not fit the {context_window}-token context "
            f"window: the prompt has {prompt_tokens} tokens, the forced delimiter "
            f"{len(cap_delimiter)} and max_answer_tokens {answer}; at most "
            f"{max(room, 0)} thinking tokens fit"
        )
    if budget.min_thinking_tokens > cap:
        raise ValueError(
            f"budget: min_thinking_tokens ({budget.min_thinking_tokens}) exceeds the "
            f"{cap} thinking tokens that fit the context window"
        )
    max_new_tokens = cap + len(cap_delimiter) + answer + 1
    if budget.max_tokens is not None and budget.max_tokens < max_new_tokens:
        cap, max_new_tokens = _cap_for_max_tokens(budget, cap, len(cap_delimiter))
    return ForcingPlan(
        max_thinking_tokens=cap,
        min_thinking_tokens=budget.min_thinking_tokens,
        num_ignore=budget.num_ignore,
        max_answer_tokens=budget.max_answer_tokens,
        end_of_thinking=delimiters.end_of_thinking,
        stop=delimiters.stop,
        ignore=ignore,
        cap_delimiter=cap_delimiter,
        cap_prefix_length=len(prefix),
        delimiter_rest=delimiters.answer[1:] + delimiters.newline,
        max_new_tokens=max_new_tokens,
    )


def reply_stop_ids(tokenizer) -> tuple[int, ...]:
    """The tokens that end a chat model's turn: its tokenizer's end-of-sequence token, and
    ChatML's `<|im_end|>` / `<|endoftext|>` where they are single tokens."""
    stop = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    for token in TURN_STOPS:
        token_id = tokenizer.convert_tokens_to_ids(token)
        if token_id is not None and tokenizer.encode(token, add_special_tokens=False) == [token_id]:
            stop.append(token_id)
    if not stop:
        raise ValueError("tokenizer has no end-of-sequence token: a reply would never end")
    return tuple(dict.fromkeys(stop))


def reply_plan(tokenizer, max_tokens: int, prompt_tokens: int, context_window: int) -> ForcingPlan:
    """A plan that forces nothing: the model writes its own reply after a chat prompt (no
    think/answer sections) until it emits a stop token, at most `max_tokens` tokens or what the
    context window leaves (as an OpenAI-compatible server's `max_tokens`), then a stop is forced.

    What curation's model roles use: an instruct model answering a question, a judge grading.
    """
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
    room = context_window - prompt_tokens - 1
    if room < 1:
        raise ValueError(f"the prompt ({prompt_tokens} tokens) leaves no room in the "
                         f"{context_window}-token context window")
    length = min(max_tokens, room)
    stop = reply_stop_ids(tokenizer)
    return ForcingPlan(
        max_thinking_tokens=0, min_thinking_tokens=0, num_ignore=0, max_answer_tokens=length,
        end_of_thinking=stop[0], stop=stop, ignore=(), cap_delimiter=(), cap_prefix_length=0,
        delimiter_rest=(), max_new_tokens=length + 1,
    )


def _cap_for_max_tokens(budget: Budget, cap: int, delimiter: int) -> tuple[int, int]:
    """(thinking cap, token bound) when `budget.max_tokens` is tighter than the budget itself."""
    total = budget.max_tokens
    room = total - delimiter - 1  # what thinking and the answer share
    if room < 1:
        raise ValueError(
            f"budget: max_tokens={total} leaves no room for an answer after the "
            f"{delimiter}-token forced delimiter and the stop token"
        )
    answer = min(budget.max_answer_tokens, max(1, round(room * ANSWER_SHARE)))
    cap = min(cap, room - answer)
    if budget.min_thinking_tokens > cap:
        raise ValueError(
            f"budget: min_thinking_tokens ({budget.min_thinking_tokens}) exceeds the {cap} "
            f"thinking tokens max_tokens={total} leaves"
        )
    return cap, total


@dataclass(frozen=True)
class Step:
    """What the next position may hold.

    forced: the only allowed token, or None when the model chooses.
    replace: tokens that, if the model chooses them, must be handed to `intercept()`, which
        returns the token emitted in their place: `replacement`.
    banned: tokens the model may not choose (mask them out before choosing).
    """

    forced: int | None = None
    replace: frozenset[int] = frozenset()
    replacement: int | None = None
    banned: frozenset[int] = frozenset()


_FREE = Step()


def wait_owed(plan: ForcingPlan, thinking_tokens: int, num_waits: int) -> bool:
    """Whether an end-of-thinking attempt now is replaced by the ignore string."""
    fits = thinking_tokens + len(plan.ignore) < plan.max_thinking_tokens
    wanted = num_waits < plan.num_ignore or thinking_tokens < plan.min_thinking_tokens
    return fits and wanted


class BudgetForcer:
    """The budget-forcing state of one sequence; see the module docstring for the protocol.

    Counters: `thinking_tokens` (forced waits included), `answer_tokens` (answer section,
    forced prefix included, stop token excluded), `num_waits`, `hit_cap`; `tokens` holds every
    token fed so far (the generated assistant turn).
    """

    def __init__(self, plan: ForcingPlan):
        self.plan = plan
        self.phase = Phase.THINKING
        self.thinking_tokens = 0
        self.answer_tokens = 0
        self.num_waits = 0
        self.hit_cap = False
        self.tokens: list[int] = []
        # Where each forced ignore string starts in `tokens`: the one thing the tokens alone
        # cannot tell (a model may write "Wait" itself while a wait is owed), so `replay` needs it.
        self.wait_positions: list[int] = []
        self._free_answer_tokens = 0
        self._queue: deque[tuple[int, _Count]] = deque()
        self._after_wait = False  # the next free token may not end thinking (s1's min_tokens=1)
        self._ends = frozenset((plan.end_of_thinking, *plan.stop))
        self._stops = frozenset(plan.stop)
        self._ban_ends = Step(banned=self._ends)
        self._replace_ends = Step(replace=self._ends, replacement=(plan.ignore or (None,))[0])
        self._replace_stops = Step(replace=self._stops, replacement=plan.end_of_thinking)
        if plan.reply_only:
            self.phase = Phase.ANSWER  # nothing to force: the whole reply is the answer section
        else:
            self._check_cap()

    @property
    def done(self) -> bool:
        return self.phase is Phase.DONE

    def step(self) -> Step:
        """The rule for the next position (cheap: no allocation on the common free path)."""
        if self._queue:
            return Step(forced=self._queue[0][0])
        if self.phase is Phase.THINKING:
            if self._after_wait:
                return self._ban_ends
            if wait_owed(self.plan, self.thinking_tokens, self.num_waits):
                return self._replace_ends
            return self._replace_stops
        if self.phase is Phase.ANSWER:
            if (self._free_answer_tokens >= self.plan.max_answer_tokens
                    or len(self.tokens) + 1 >= self.plan.max_new_tokens):
                return Step(forced=self.plan.stop[0])
            return _FREE
        raise RuntimeError("budget forcing: the sequence is finished")

    def intercept(self, token: int) -> int:
        """The model chose `token` from `step().replace`; return what is emitted instead.

        The returned token must be fed next (it is queued as forced).
        """
        if self._queue or self.phase is not Phase.THINKING or self._after_wait:
            raise ValueError(f"budget forcing: token {token} is not replaceable here")
        if wait_owed(self.plan, self.thinking_tokens, self.num_waits):
            if token not in self._ends:
                raise ValueError(f"budget forcing: token {token} does not end thinking")
            self.num_waits += 1
            self.wait_positions.append(len(self.tokens))
            self._queue.extend((t, _Count.THINKING) for t in self.plan.ignore)
        else:
            if token not in self._stops:
                raise ValueError(f"budget forcing: token {token} is not a stop token")
            self._open_answer(with_end_of_thinking=True)
        return self._queue[0][0]

    def feed(self, token: int) -> None:
        """Advance by the token actually emitted at the next position."""
        if self.phase is Phase.DONE:
            raise RuntimeError("budget forcing: the sequence is finished")
        self.tokens.append(token)
        if self._queue:
            expected, count = self._queue.popleft()
            if token != expected:
                raise ValueError(f"budget forcing: token {expected} was forced, got {token}")
            if count is _Count.THINKING:
                self.thinking_tokens += 1
                self._after_wait = not self._queue
                self._check_cap()
            elif count is _Count.ANSWER:
                self.answer_tokens += 1
            return
        if self.phase is Phase.THINKING:
            if token == self.plan.end_of_thinking and not self._after_wait and not wait_owed(
                self.plan, self.thinking_tokens, self.num_waits
            ):
                self._open_answer(with_end_of_thinking=False)  # the model emitted it
                return
            if token in self._ends:
                raise ValueError(
                    f"budget forcing: end-of-thinking token {token} must be intercepted or masked"
                )
            self.thinking_tokens += 1
            self._after_wait = False
            self._check_cap()
        elif token in self._stops:
            self.phase = Phase.DONE
        else:
            self.answer_tokens += 1
            self._free_answer_tokens += 1

    def resolve(self, proposed: int) -> int:
        """Feed the model's choice for the next position; return the token actually emitted."""
        step = self.step()
        if step.forced is not None:
            token = step.forced
        elif proposed in step.replace:
            token = self.intercept(proposed)
        elif proposed in step.banned:
            raise ValueError(f"budget forcing: token {proposed} is banned here; mask it first")
        else:
            token = proposed
        self.feed(token)
        return token

    @classmethod
    def replay(cls, plan: ForcingPlan, tokens: Sequence[int], wait_positions: Sequence[int]) -> BudgetForcer:
        """Rebuild the state of a sequence that already emitted `tokens` (a preempted request,
        an engine's finished output), given where its forced waits started (`wait_positions` of
        the forcer that emitted them). Exact: the same state, counters and pending forced tokens.
        """
        forcer = cls(plan)
        waits = set(wait_positions)
        for index, token in enumerate(tokens):
            if index in waits:
                forcer.intercept(plan.end_of_thinking)
            forcer.feed(token)
        if forcer.wait_positions != sorted(waits):
            raise ValueError(f"budget forcing: wait positions {sorted(waits)} do not match the tokens")
        return forcer

    def _check_cap(self) -> None:
        if self.phase is Phase.THINKING and self.thinking_tokens >= self.plan.max_thinking_tokens:
            self.hit_cap = True
            self.phase = Phase.ANSWER
            prefix_start = len(self.plan.cap_delimiter) - self.plan.cap_prefix_length
            self._queue.extend(
                (t, _Count.NONE if i < prefix_start else _Count.ANSWER)
                for i, t in enumerate(self.plan.cap_delimiter)
            )

    def _open_answer(self, with_end_of_thinking: bool) -> None:
        self.phase = Phase.ANSWER
        if with_end_of_thinking:
            self._queue.append((self.plan.end_of_thinking, _Count.NONE))
        self._queue.extend((t, _Count.NONE) for t in self.plan.delimiter_rest)
