"""Run many prompts through a ModelClient: cache first, then concurrent calls, with progress."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

from s1.curation.cache import CallCache, key_prefix, prompt_key
from s1.curation.client import ChatResult, ModelCallError, ModelClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CallOutcome:
    """A result, or the error that stopped the call (never both)."""

    result: ChatResult | None
    error: str | None = None
    cached: bool = False


def call_all(client: ModelClient, prompts: list[str], cache: CallCache, desc: str) -> list[CallOutcome]:
    """One outcome per prompt, in order. Finished calls are cached as they finish."""
    from tqdm.auto import tqdm

    outcomes: list[CallOutcome | None] = [None] * len(prompts)
    pending: dict[str, list[int]] = {}
    prefix = key_prefix(client.model, client.settings)
    for index, prompt in enumerate(prompts):
        key = prompt_key(prefix, prompt)
        hit = cache.get(key)
        if hit is not None:
            outcomes[index] = CallOutcome(hit, cached=True)
        else:
            pending.setdefault(key, []).append(index)
    cached = len(prompts) - sum(len(v) for v in pending.values())
    if pending:
        log.info("%s: %d cached, %d calls to %s", desc, cached, len(pending), client.model)
        failures = 0
        pool = ThreadPoolExecutor(max_workers=client.concurrency)
        try:
            futures = {pool.submit(client.complete, prompts[indices[0]]): key
                       for key, indices in pending.items()}
            with tqdm(total=len(pending), desc=desc, unit="call") as progress:
                for future in as_completed(futures):
                    key = futures[future]
                    try:
                        result = future.result()
                    except Exception as error:  # noqa: BLE001 - one bad call must not end the run
                        message = str(error) if isinstance(error, ModelCallError) else (
                            f"{client.model}: unexpected {type(error).__name__}: {error}")
                        outcome = CallOutcome(None, error=message)
                        failures += 1
                        if failures <= 3:
                            log.warning("%s: %s", desc, message)
                    else:
                        cache.put(key, client.model, result)
                        outcome = CallOutcome(result)
                    for index in pending[key]:
                        outcomes[index] = outcome
                    progress.update(1)
        finally:
            # On Ctrl-C or a crash, do not wait for thousands of queued calls: what finished is
            # already in the cache, and a rerun resumes from there.
            pool.shutdown(wait=False, cancel_futures=True)
        if failures:
            log.warning("%s: %d of %d calls failed (not cached; a rerun retries them)",
                        desc, failures, len(pending))
    return outcomes  # type: ignore[return-value]
