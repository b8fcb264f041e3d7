"""Budget-forced generation with transformers: load a model, generate in batches, or stream.

    model, tokenizer = load_model("models/tiny-qwen")
    [result] = generate(model, tokenizer, [generation_prompt("What is 2+2?")],
                        Budget(max_thinking_tokens=512, num_ignore=1))

Each batch is ONE `model.generate` call; budget forcing runs inside it as a logits processor
(`transformers_logits.BudgetForcingLogitsProcessor`), so there is no re-prefill between rounds.
`Sampling.stop` strings end the answer (`s1.generation.stops`: a stream ends its generation
there, a batch cuts its result); `Sampling.logprobs` asks for logprobs (`transformers_streaming`).
"""

from __future__ import annotations

import secrets
import threading
from pathlib import Path
from typing import Iterator, Sequence

import torch
from tqdm.auto import tqdm
from transformers import LogitsProcessorList, StoppingCriteria, StoppingCriteriaList

from s1.format import delimiter_ids
from s1.generation.budget_forcing import BudgetForcer, ForcingPlan, plan_for
from s1.generation.stops import StopWatch, find_stop, split_with_stops, tokens_through
from s1.generation.transformers_logits import (
    BudgetForcingLogitsProcessor,
    generate_kwargs,
    sampling_processors,
)
from s1.generation.transformers_streaming import LogprobCollector, LogprobRecorder, TurnStreamer
from s1.generation.types import Budget, Generation, Sampling, TokenLogprob


def load_model(path_or_id: str | Path):
    """(model, tokenizer) in eval mode: bf16 on the first GPU when one is visible, else float32
    on CPU (CPUs have no fast bf16 matmuls, and the tests compare exact greedy tokens)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path_or_id)
    gpu = torch.cuda.is_available()
    model = AutoModelForCausalLM.from_pretrained(path_or_id, dtype=torch.bfloat16 if gpu else torch.float32)
    if gpu:
        model.to("cuda")
    model.eval()
    return model, tokenizer


def context_window(model) -> int:
    """The longest sequence the model handles (prompt + generation)."""
    window = getattr(model.config, "max_position_embeddings", None)
    if not window:
        raise ValueError("model config has no max_position_embeddings; cannot bound the budget")
    return int(window)


def encode_prompts(tokenizer, prompts: Sequence[str]) -> list[list[int]]:
    """Prompt ids exactly as written: the s1 prompt already carries every special token."""
    return [tokenizer.encode(prompt, add_special_tokens=False) for prompt in prompts]


def plan_all(model, tokenizer, prompt_ids: Sequence[Sequence[int]], budget: Budget) -> list[ForcingPlan]:
    """Validate the budget against every prompt before generating anything."""
    delimiters = delimiter_ids(tokenizer)
    window = context_window(model)
    plans = []
    for index, ids in enumerate(prompt_ids):
        try:
            plans.append(plan_for(tokenizer, budget, len(ids), window, delimiters))
        except ValueError as error:
            raise ValueError(f"prompt {index}: {error}") from None
    return plans


def to_generation(
    tokenizer,
    prompt: str,
    tokens: Sequence[int],
    *,
    thinking_tokens: int,
    answer_tokens: int,
    num_waits: int,
    hit_cap: bool,
    stops: Sequence[str] = (),
    logprobs: Sequence[TokenLogprob] | None = None,
) -> Generation:
    """The result record for one generated assistant turn (special tokens kept in `text`); with
    `stops`, the answer ends before the first stop string in it (`stops.split_with_stops`)."""
    text = tokenizer.decode(tokens, skip_special_tokens=False)
    parts, hit = split_with_stops(text, stops)
    return Generation(
        prompt=prompt,
        text=text,
        thinking=parts.thinking,
        answer=parts.answer,
        thinking_tokens=thinking_tokens,
        answer_tokens=answer_tokens,
        num_waits=num_waits,
        hit_cap=hit_cap,
        closed=parts.closed,
        token_ids=tuple(tokens),
        logprobs=None if logprobs is None else tuple(logprobs),
        stop_string=None if hit is None else hit.stop,
    )


def finished_turn(tokenizer, prompt: str, forcer: BudgetForcer, stops: Sequence[str] = (),
                  logprobs: Sequence[TokenLogprob] | None = None) -> Generation:
    """The result record from the forcer that drove (or replayed) a turn. With `stops`, the turn
    keeps the fewest tokens through the answer's first stop string, counted by an exact replay
    (an engine notices the stop string a few tokens late, or not at all in a batch)."""
    if stops:
        text = tokenizer.decode(forcer.tokens, skip_special_tokens=False)
        hit = find_stop(text, stops)
        if hit is not None:
            kept = tokens_through(tokenizer, forcer.tokens, text[:hit.end])
            waits = [position for position in forcer.wait_positions if position < len(kept)]
            forcer = BudgetForcer.replay(forcer.plan, kept, waits)
    return to_generation(
        tokenizer, prompt, forcer.tokens,
        thinking_tokens=forcer.thinking_tokens,
        answer_tokens=forcer.answer_tokens,
        num_waits=forcer.num_waits,
        hit_cap=forcer.hit_cap,
        stops=stops,
        logprobs=None if logprobs is None else logprobs[:len(forcer.tokens)],
    )


def generate(
    model,
    tokenizer,
    prompts: Sequence[str],
    budget: Budget,
    sampling: Sampling = Sampling(),
    batch_size: int = 8,
) -> list[Generation]:
    """Budget-forced generations for full s1 prompts (`s1.format.generation_prompt`), in order."""
    prompt_ids = encode_prompts(tokenizer, prompts)
    plans = plan_all(model, tokenizer, prompt_ids, budget)
    return generate_planned(model, tokenizer, prompts, prompt_ids, plans, sampling, batch_size)


def generate_planned(
    model,
    tokenizer,
    prompts: Sequence[str],
    prompt_ids: Sequence[Sequence[int]],
    plans: Sequence[ForcingPlan],
    sampling: Sampling = Sampling(),
    batch_size: int = 8,
) -> list[Generation]:
    """`generate` for prompts already encoded and planned (one plan each, any budgets).

    A batch runs each row to its own end, then cuts it at its first stop string (`sampling.stop`).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    recorder = None if sampling.logprobs is None else LogprobRecorder(sampling.logprobs)
    results: list[Generation] = []
    batches = range(0, len(prompts), batch_size)
    with tqdm(total=len(prompts), desc="generate", unit="prompt", disable=len(batches) < 2) as bar:
        for start in batches:
            stop = start + batch_size
            forcers = [BudgetForcer(plan) for plan in plans[start:stop]]
            collector = LogprobCollector(recorder, len(forcers)) if recorder else None
            _generate_batch(model, tokenizer, prompt_ids[start:stop], forcers, sampling, start,
                            streamer=collector, recorder=recorder)
            for row, (prompt, forcer) in enumerate(zip(prompts[start:stop], forcers)):
                entries = collector.rows[row] if collector else None
                results.append(finished_turn(tokenizer, prompt, forcer, sampling.stop, entries))
            bar.update(len(forcers))
    return results


def stream(
    model,
    tokenizer,
    prompt: str,
    budget: Budget,
    sampling: Sampling = Sampling(),
) -> Iterator[str | Generation]:
    """Yield text deltas (special tokens kept) as they are produced, then the `Generation`."""
    [ids] = encode_prompts(tokenizer, [prompt])
    [plan] = plan_all(model, tokenizer, [ids], budget)
    return stream_planned(model, tokenizer, prompt, ids, plan, sampling)


def stream_planned(
    model,
    tokenizer,
    prompt: str,
    prompt_ids: Sequence[int],
    plan: ForcingPlan,
    sampling: Sampling = Sampling(),
    stop: threading.Event | None = None,
) -> Iterator[str | TokenLogprob | Generation]:
    """`stream` for a prompt already encoded and planned.

    The same single `generate` call as `generate`, run in a thread that feeds a streamer. A
    consumer that stops reading (closes the generator), or `stop` being set, ends the generation
    too, so a server can cancel a request whose client went away, or all of them at shutdown.
    A stop string in the answer (`sampling.stop`) ends it as well: the text that completes it is
    the last item before the result. With `sampling.logprobs`, each token's `TokenLogprob` comes
    before the text it completes.
    """
    forcer = BudgetForcer(plan)
    recorder = None if sampling.logprobs is None else LogprobRecorder(sampling.logprobs)
    streamer = TurnStreamer(tokenizer, recorder)
    failure: list[BaseException] = []
    closed = threading.Event()
    events = (closed,) if stop is None else (closed, stop)
    watch = StopWatch(sampling.stop) if sampling.stop else None

    def run() -> None:
        try:
            _generate_batch(model, tokenizer, [list(prompt_ids)], [forcer], sampling, 0, streamer, events, recorder)
        except BaseException as error:  # re-raised in the caller's thread
            failure.append(error)
            streamer.end()

    worker = threading.Thread(target=run, name="s1-generate", daemon=True)
    worker.start()
    try:
        for item in streamer:
            yield item
            if watch is not None and isinstance(item, str) and watch.feed(item):
                break  # `closed` ends the generation within a step; the result is cut there
    finally:
        closed.set()
        worker.join()
    if failure:
        raise failure[0]
    yield finished_turn(tokenizer, prompt, forcer, sampling.stop, streamer.entries if recorder else None)


def _generate_batch(
    model,
    tokenizer,
    prompt_ids: Sequence[Sequence[int]],
    forcers: Sequence[BudgetForcer],
    sampling: Sampling,
    seed_offset: int,
    streamer=None,
    stops: Sequence[threading.Event] = (),
    recorder: LogprobRecorder | None = None,
) -> None:
    """One left-padded `generate` call driving `forcers`; they end up holding the outputs.

    recorder: first of the logits processors, so it sees the model's raw scores (the streamer
    then reads each chosen token's logprob from it).
    """
    width = max(len(ids) for ids in prompt_ids)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else forcers[0].plan.stop[0]
    input_ids = torch.full((len(prompt_ids), width), pad, dtype=torch.long)
    attention_mask = torch.zeros((len(prompt_ids), width), dtype=torch.long)
    for row, ids in enumerate(prompt_ids):
        input_ids[row, width - len(ids):] = torch.tensor(ids, dtype=torch.long)
        attention_mask[row, width - len(ids):] = 1
    # Unseeded (served) requests draw a fresh seed: identical prompts get different samples.
    seed = (sampling.seed if sampling.seed is not None else secrets.randbits(62)) + seed_offset
    generator = torch.Generator().manual_seed(seed)
    processor = BudgetForcingLogitsProcessor(
        forcers, prompt_length=width, greedy=sampling.temperature <= 0, generator=generator
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        sequences = model.generate(
            input_ids=input_ids.to(model.device),
            attention_mask=attention_mask.to(model.device),
            max_new_tokens=max(forcer.plan.max_new_tokens for forcer in forcers),
            logits_processor=LogitsProcessorList(
                [*([recorder] if recorder else []), *sampling_processors(sampling), processor]
            ),
            eos_token_id=list(forcers[0].plan.stop),
            pad_token_id=pad,
            streamer=streamer,
            stopping_criteria=StoppingCriteriaList([_StopWhenSet(stops)] if stops else []),
            **generate_kwargs(sampling),
        )
    processor.finish(sequences.cpu())


class _StopWhenSet(StoppingCriteria):
    """Ends a running `generate` once one of `stops` is set (transformers' only early exit)."""

    def __init__(self, stops: Sequence[threading.Event]):
        self.stops = stops

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs) -> torch.BoolTensor:
        stopped = any(stop.is_set() for stop in self.stops)
        return torch.full((input_ids.shape[0],), stopped, dtype=torch.bool, device=input_ids.device)
