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
        with ThreadPoolExecutor(max_workers=client.concurrency) as pool, \
                tqdm(total=len(pending), desc=desc, unit="call") as progress:
            futures = {pool.submit(client.complete, prompts[indices[0]]): key
                       for key, indices in pending.items()}
            failures = 0
            for future in as_completed(futures):
                key = futures[future]
                try:
                    result = future.result()
                except ModelCallError as error:
                    outcome = CallOutcome(None, error=str(error))
                    failures += 1
                    if failures <= 3:
                        log.warning("%s: %s", desc, error)
                else:
                    cache.put(key, client.model, result)
                    outcome = CallOutcome(result)
                for index in pending[key]:
                    outcomes[index] = outcome
                progress.update(1)
            if failures:
                log.warning("%s: %d of %d calls failed (not cached; a rerun retries them)",
                            desc, failures, len(pending))
    return outcomes  # type: ignore[return-value]
