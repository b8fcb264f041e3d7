"""The budget-forcing state machine against a scripted fake model (no real model anywhere)."""

from __future__ import annotations

import random

import pytest

from s1.format import Delimiters
from s1.generation.budget_forcing import BudgetForcer, ForcingPlan, Phase, plan_for, wait_owed
from s1.generation.types import Budget

EOT, IM_START, IM_END = 0, 1, 2
THINK, ANSWER, NEWLINE = 10, 11, 9
WAIT = (50,)
FINAL_ANSWER = (60, 61, 62)
WORD, OTHER = 5, 7  # the fake model's filler and its second choice
DELIMITERS = Delimiters(
    im_start=IM_START, im_end=IM_END, think=(IM_START, THINK), answer=(IM_START, ANSWER),
    newline=(NEWLINE,), stop=(IM_END, EOT),
)
CAP_DELIMITER = (NEWLINE, IM_START, ANSWER, NEWLINE, *FINAL_ANSWER)


class FakeTokenizer:
    """Encodes only the strings budget forcing tokenizes."""

    vocab = {"Wait": list(WAIT), "Hmm Wait": [51, 50], "Final Answer:": list(FINAL_ANSWER), "": []}

    def encode(self, text, add_special_tokens=False):
        return list(self.vocab[text])

    def convert_tokens_to_ids(self, token):
        return {"<|im_start|>": IM_START, "<|im_end|>": IM_END}.get(token)


def plan(window=10_000, prompt_tokens=10, **budget) -> ForcingPlan:
    return plan_for(FakeTokenizer(), Budget(**budget), prompt_tokens, window, DELIMITERS)


def counters(forcer: BudgetForcer) -> tuple:
    return (forcer.thinking_tokens, forcer.num_waits, forcer.hit_cap, forcer.answer_tokens,
            forcer.phase, forcer.step() if not forcer.done else None)


def run(forcer: BudgetForcer, proposals, limit=10_000, snapshots=None) -> list[int]:
    """Drive `forcer` with a scripted model: at each free position it proposes the next scripted
    token (a stop token once the script runs out); a banned proposal falls back to OTHER.
    `snapshots` collects `counters` after every token."""
    script = iter(proposals)
    while not forcer.done:
        assert len(forcer.tokens) <= limit, "the state machine never finished"
        step = forcer.step()
        if step.forced is not None:
            forcer.resolve(step.forced)
        else:
            proposed = next(script, IM_END)
            forcer.resolve(OTHER if proposed in step.banned else proposed)
        if snapshots is not None:
            snapshots.append(counters(forcer))
    return forcer.tokens


def test_cap_forces_delimiter_then_answer_runs_to_its_own_end():
    forcer = BudgetForcer(plan(max_thinking_tokens=8))
    tokens = run(forcer, [WORD] * 8 + [OTHER, OTHER, IM_END])
    assert tokens == [WORD] * 8 + list(CAP_DELIMITER) + [OTHER, OTHER, IM_END]
    assert (forcer.thinking_tokens, forcer.hit_cap, forcer.num_waits) == (8, True, 0)
    assert forcer.answer_tokens == len(FINAL_ANSWER) + 2


def test_natural_end_forces_rest_of_delimiter_and_no_prefix():
    forcer = BudgetForcer(plan(max_thinking_tokens=100))
    tokens = run(forcer, [WORD] * 5 + [IM_START, OTHER, IM_END])
    assert tokens == [WORD] * 5 + [IM_START, ANSWER, NEWLINE, OTHER, IM_END]
    assert (forcer.thinking_tokens, forcer.hit_cap, forcer.answer_tokens) == (5, False, 1)


def test_stop_token_while_thinking_is_replaced_by_the_answer_delimiter():
    forcer = BudgetForcer(plan(max_thinking_tokens=100))
    tokens = run(forcer, [WORD, WORD, IM_END, OTHER, EOT])
    assert tokens == [WORD, WORD, IM_START, ANSWER, NEWLINE, OTHER, EOT]
    assert forcer.phase is Phase.DONE and not forcer.hit_cap


@pytest.mark.parametrize("k", [0, 1, 2, 3, 5])
def test_num_ignore_replaces_exactly_k_end_attempts_with_wait(k):
    forcer = BudgetForcer(plan(max_thinking_tokens=1000, num_ignore=k))
    # The model tries to end thinking after every three words, five times.
    attempt = [WORD, WORD, WORD, IM_START]
    tokens = run(forcer, attempt * 6 + [OTHER, IM_END])
    assert forcer.num_waits == k
    assert tokens.count(WAIT[0]) == k
    # Each wait sits exactly where the model emitted <|im_start|>; the next attempt ends thinking.
    thinking = tokens[: tokens.index(IM_START)]
    assert thinking == [WORD, WORD, WORD, *WAIT] * k + [WORD, WORD, WORD]
    assert tokens[len(thinking):][:3] == [IM_START, ANSWER, NEWLINE]
    assert forcer.thinking_tokens == len(thinking)


def test_first_token_after_wait_may_not_end_thinking():
    forcer = BudgetForcer(plan(max_thinking_tokens=100, num_ignore=1))
    run(forcer, [WORD, IM_START, IM_START, IM_START, OTHER, IM_END])
    # The second <|im_start|> (right after "Wait") was banned, so the model's OTHER came instead.
    assert forcer.tokens[:4] == [WORD, *WAIT, OTHER, IM_START]


def test_multi_token_ignore_string_counts_as_thinking():
    forcer = BudgetForcer(plan(max_thinking_tokens=100, num_ignore=1, ignore_string="Hmm Wait"))
    run(forcer, [WORD, IM_END, IM_START, WORD, IM_START, IM_END])
    assert forcer.tokens[:6] == [WORD, 51, 50, OTHER, WORD, IM_START]
    assert forcer.thinking_tokens == 5 and forcer.num_waits == 1


def test_min_thinking_tokens_keeps_waiting_until_reached():
    forcer = BudgetForcer(plan(max_thinking_tokens=100, min_thinking_tokens=10))
    run(forcer, [WORD, IM_START] * 20)
    # Attempts at 1, 3, 5, 7 and 9 thinking tokens become "Wait"; the one at 11 ends thinking.
    assert forcer.tokens[:forcer.thinking_tokens] == [WORD, *WAIT] * 5 + [WORD]
    assert forcer.num_waits == 5
    assert not forcer.hit_cap


def test_wait_is_not_forced_when_it_would_not_fit_the_budget():
    forcer = BudgetForcer(plan(max_thinking_tokens=4, num_ignore=3))
    run(forcer, [WORD, WORD, WORD, IM_START, OTHER, IM_END])
    # 3 + len("Wait") = 4 leaves no room for another token: thinking ends instead.
    assert forcer.num_waits == 0 and forcer.thinking_tokens == 3 and not forcer.hit_cap


def test_answer_cap_forces_end_of_turn_and_prefix_does_not_eat_it():
    forcer = BudgetForcer(plan(max_thinking_tokens=2, max_answer_tokens=3))
    tokens = run(forcer, [WORD] * 100)
    assert tokens == [WORD, WORD, *CAP_DELIMITER, WORD, WORD, WORD, IM_END]
    assert forcer.answer_tokens == len(FINAL_ANSWER) + 3
    assert len(tokens) == forcer.plan.max_new_tokens


def test_zero_thinking_budget_forces_the_answer_at_once():
    forcer = BudgetForcer(plan(max_thinking_tokens=0, num_ignore=2))
    assert run(forcer, [OTHER, IM_END]) == [*CAP_DELIMITER, OTHER, IM_END]
    assert forcer.hit_cap and forcer.thinking_tokens == 0


def test_random_scripts_never_exceed_the_budget():
    rng = random.Random(0)
    vocab = [WORD, OTHER, IM_START, IM_END, EOT]
    for _ in range(300):
        cap = rng.randint(0, 40)
        budget = dict(
            max_thinking_tokens=cap,
            min_thinking_tokens=rng.randint(0, cap),
            num_ignore=rng.randint(0, 4),
            max_answer_tokens=rng.randint(1, 6),
        )
        forcer = BudgetForcer(plan(**budget))
        tokens = run(forcer, rng.choices(vocab, weights=[6, 2, 1, 1, 1], k=200))
        assert forcer.thinking_tokens <= cap
        assert len(tokens) <= forcer.plan.max_new_tokens
        thinking = forcer.thinking_tokens
        # Thinking holds no delimiter; the answer section opens right after it, and closes.
        assert IM_START not in tokens[:thinking] and tokens[-1] in (IM_END, EOT)
        if forcer.hit_cap:
            assert thinking == cap
            assert tokens[thinking:thinking + len(CAP_DELIMITER)] == list(CAP_DELIMITER)
        else:
            assert tokens[thinking:thinking + 3] == [IM_START, ANSWER, NEWLINE]
        assert forcer.num_waits <= max(budget["num_ignore"], budget["min_thinking_tokens"])


def test_driver_mistakes_are_loud():
    forcer = BudgetForcer(plan(max_thinking_tokens=0))
    with pytest.raises(ValueError, match="was forced"):
        forcer.feed(WORD)
    forcer = BudgetForcer(plan(max_thinking_tokens=10, num_ignore=1))
    with pytest.raises(ValueError, match="must be intercepted"):
        forcer.feed(IM_START)
    with pytest.raises(ValueError, match="not replaceable|does not end"):
        forcer.intercept(WORD)


def test_wait_owed_rule():
    p = plan(max_thinking_tokens=10, num_ignore=1, min_thinking_tokens=5)
    assert wait_owed(p, 0, 0) and wait_owed(p, 4, 1) and not wait_owed(p, 5, 1)
    assert not wait_owed(p, 9, 0)  # "Wait" would leave no room


def test_plan_round_trips_through_json_types():
    p = plan(max_thinking_tokens=10, num_ignore=2)
    assert ForcingPlan.from_dict({k: list(v) if isinstance(v, tuple) else v
                                  for k, v in p.to_dict().items()}) == p
    with pytest.raises(ValueError, match="missing"):
        ForcingPlan.from_dict({"num_ignore": 1})


@pytest.mark.parametrize(
    ("budget", "message"),
    [
        (dict(max_thinking_tokens=-1), "max_thinking_tokens must be >= 0"),
        (dict(min_thinking_tokens=-2), "min_thinking_tokens must be >= 0"),
        (dict(num_ignore=-1), "num_ignore must be >= 0"),
        (dict(max_thinking_tokens=5, min_thinking_tokens=6), "exceeds max_thinking_tokens"),
        (dict(max_answer_tokens=0), "max_answer_tokens must be >= 1"),
        (dict(max_thinking_tokens=9_500), "does not fit the 10000-token context window"),
        (dict(num_ignore=1, ignore_string=""), "ignore_string must be non-empty"),
        (dict(max_tokens=24.0), "max_tokens must be a whole number of tokens, got 24.0"),
        (dict(max_thinking_tokens=True), "max_thinking_tokens must be a whole number"),
    ],
)
def test_bad_budgets_are_rejected(budget, message):
    with pytest.raises(ValueError, match=message):
        plan(**budget)


def test_auto_budget_is_what_the_context_leaves():
    p = plan(window=1000, prompt_tokens=100, max_answer_tokens=50)
    assert p.max_thinking_tokens == 1000 - 100 - len(CAP_DELIMITER) - 50 - 1
    assert 100 + p.max_new_tokens == 1000
    with pytest.raises(ValueError, match="leave no room"):
        plan(window=100, prompt_tokens=90, max_answer_tokens=50)


def test_replay_rebuilds_the_state_of_a_restarted_sequence():
    rng = random.Random(1)
    for _ in range(100):
        cap = rng.randint(0, 30)
        p = plan(max_thinking_tokens=cap, num_ignore=rng.randint(0, 3),
                 min_thinking_tokens=rng.choice([0, min(8, cap)]), max_answer_tokens=4)
        snapshots = []
        live = BudgetForcer(p)
        # The model also writes the ignore string itself, also while a forced wait is owed.
        tokens = run(live, rng.choices([WORD, OTHER, IM_START, IM_END, *WAIT], [5, 2, 2, 1, 2], k=80),
                     snapshots=snapshots)
        # Restarting after any prefix gives the state the sequence had there (pending forced
        # tokens, waits, bans included).
        for cut in range(1, len(tokens) + 1):
            positions = [i for i in live.wait_positions if i < cut]
            assert counters(BudgetForcer.replay(p, tokens[:cut], positions)) == snapshots[cut - 1]


def test_replay_tells_a_written_wait_from_a_forced_one():
    """The same tokens with different wait positions are different states; both replay exactly."""
    p = plan(max_thinking_tokens=20, num_ignore=1, max_answer_tokens=2)
    written = BudgetForcer(p)
    run(written, [WORD, *WAIT, WORD, IM_START, WORD, IM_START, WORD])  # "Wait" by the model first
    forced = BudgetForcer(p)
    run(forced, [WORD, IM_START, WORD, *WAIT, WORD, IM_START, WORD])  # the end attempt first
    assert forced.tokens == written.tokens and forced.num_waits == written.num_waits == 1
    assert (forced.wait_positions, written.wait_positions) == ([1], [3])
    for live in (written, forced):
        again = BudgetForcer.replay(p, live.tokens, live.wait_positions)
        assert (again.tokens, again.num_waits, again.thinking_tokens) == (live.tokens, live.num_waits, live.thinking_tokens)
    with pytest.raises(ValueError):
        BudgetForcer.replay(p, written.tokens, [1, 3])  # one wait was owed, not two


@pytest.mark.parametrize("max_tokens", [9, 16, 40, 64])
def test_max_tokens_bounds_the_whole_turn_and_leaves_room_for_an_answer(max_tokens):
    """OpenAI's max_tokens: thinking is capped early so the answer still fits (a model that
    never stops thinking still gets "Final Answer:" and at least one answer token)."""
    p = plan(max_tokens=max_tokens, max_answer_tokens=100)
    forcer = BudgetForcer(p)
    tokens = run(forcer, [WORD] * 1000)
    assert len(tokens) <= max_tokens == p.max_new_tokens
    assert forcer.hit_cap and tokens[-1] == IM_END
    assert forcer.answer_tokens > len(FINAL_ANSWER)  # the model's own answer, not just the prefix
    # A looser bound than the budget changes nothing.
    loose = plan(max_thinking_tokens=5, max_answer_tokens=3, max_tokens=1000)
    assert loose == plan(max_thinking_tokens=5, max_answer_tokens=3)
    with pytest.raises(ValueError, match="no room for an answer"):
        plan(max_tokens=len(CAP_DELIMITER) + 1)


def test_a_small_max_tokens_fits_a_small_context_window():
    """The default 512-token answer cap would not fit; the max_tokens bound makes it fit."""
    p = plan(window=200, prompt_tokens=40, max_tokens=64)
    assert p.max_new_tokens == 64 and p.max_thinking_tokens > 0
    with pytest.raises(ValueError, match="leave no room"):
        plan(window=200, prompt_tokens=40)
