"""Run a role's prompts through its model: cache first, then the calls, with progress, accounting
and the failure rule.

Endpoints get concurrent calls (`ModelClient.complete`), local models batched sweeps
(`BatchModelClient.sweeps`); either way every finished call is cached as soon as it finishes,
so a killed run repeats none of them. A role whose calls fail beyond the allowed share, or all
of them, stops the run (`RoleFailed`) unless failures are explicitly allowed; what was answered
stays cached, and failed calls are never cached, so a rerun retries exactly those.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

from s1.curation.cache import CallCache, key_prefix, prompt_key
from s1.curation.client import BatchModelClient, ChatResult, ModelCallError, ModelClient

log = logging.getLogger(__name__)


class RoleFailed(RuntimeError):
    """A model role failed beyond what the run allows; the message names role, model and the
    first failure."""


@dataclass(frozen=True)
class CallOutcome:
    """A result, or the error that stopped the call (never both)."""

    result: ChatResult | None
    error: str | None = None
    cached: bool = False


@dataclass(frozen=True)
class FailurePolicy:
    """When a role's failed calls stop the run: all of them, or more than `max_share` of its
    prompts; `allow` never stops, it warns."""

    max_share: float = 0.1
    allow: bool = False


class Calls:
    """The curation run's model calls: one cache, one failure policy, one log for the report."""

    def __init__(self, cache: CallCache, policy: FailurePolicy = FailurePolicy()) -> None:
        self.cache = cache
        self.policy = policy
        self.log: list[dict] = []  # one entry per role sweep (report.json `models.calls`)

    def run(self, client: ModelClient | BatchModelClient, prompts: list[str], role: str,
            desc: str | None = None, system: str | None = None) -> list[CallOutcome]:
        """One outcome per prompt, in order; raises RoleFailed per the policy."""
        from tqdm.auto import tqdm

        desc = desc or role
        start = time.perf_counter()
        outcomes: list[CallOutcome | None] = [None] * len(prompts)
        pending: dict[str, list[int]] = {}
        prefix = key_prefix(client.model, client.settings, system)
        for index, prompt in enumerate(prompts):
            key = prompt_key(prefix, prompt)
            hit = self.cache.get(key)
            if hit is not None:
                outcomes[index] = CallOutcome(hit, cached=True)
            else:
                pending.setdefault(key, []).append(index)
        failures: list[str] = []

        def finish(key: str, result: ChatResult | Exception) -> None:
            if isinstance(result, ChatResult):
                outcome = CallOutcome(result)
            else:
                message = str(result) if isinstance(result, ModelCallError) else (
                    f"{client.model}: unexpected {type(result).__name__}: {result}")
                outcome = CallOutcome(None, error=message)
                failures.append(message)
                if len(failures) <= 3:
                    log.warning("%s: %s", desc, message)
            for index in pending[key]:
                outcomes[index] = outcome

        if pending:
            log.info("%s: %d cached, %d calls to %s", desc, len(prompts) - sum(map(len, pending.values())),
                     len(pending), client.model)
            keys = list(pending)
            with tqdm(total=len(keys), desc=desc, unit="call") as progress:
                if hasattr(client, "sweeps"):
                    self._sweep(client, keys, [prompts[pending[k][0]] for k in keys], system, finish, progress)
                else:
                    self._concurrent(client, keys, [prompts[pending[k][0]] for k in keys], system, finish,
                                     progress)
        entry = {"role": role, "step": desc, "model": client.model, "prompts": len(prompts),
                 "cached": len(prompts) - sum(map(len, pending.values())), "calls": len(pending),
                 "failed": len(failures), "first_error": failures[0] if failures else None,
                 "seconds": round(time.perf_counter() - start, 3)}
        self.log.append(entry)
        self._check(entry)
        return outcomes  # type: ignore[return-value]

    def _concurrent(self, client: ModelClient, keys, prompts, system, finish, progress) -> None:
        pool = ThreadPoolExecutor(max_workers=client.concurrency)
        try:
            futures = {pool.submit(client.complete, prompt, system): key for key, prompt in zip(keys, prompts)}
            for future in as_completed(futures):
                key = futures[future]
                try:
                    result = future.result()
                except Exception as error:  # noqa: BLE001 - one bad call must not end the run
                    finish(key, error)
                else:
                    self.cache.put(key, client.model, result)
                    finish(key, result)
                progress.update(1)
        finally:
            # On Ctrl-C or a crash, do not wait for thousands of queued calls: what finished is
            # already in the cache, and a rerun resumes from there.
            pool.shutdown(wait=False, cancel_futures=True)

    def _sweep(self, client: BatchModelClient, keys, prompts, system, finish, progress) -> None:
        for finished in client.sweeps(prompts, system):
            answered = [(keys[i], client.model, r) for i, r in finished if isinstance(r, ChatResult)]
            if answered:
                self.cache.put_many(answered)  # one fsync per sweep
            for index, result in finished:
                finish(keys[index], result)
            progress.update(len(finished))

    def _check(self, entry: dict) -> None:
        """The policy over the role's prompts (cached answers count as answered, so a rerun that
        retries the failed calls is judged as the first run was)."""
        failed, prompts = entry["failed"], entry["prompts"]
        if not failed:
            return
        share = failed / prompts
        summary = (f"{entry['role']} {entry['model']}: {failed} of {prompts} calls failed ({share:.0%}); "
                   f"first failure: {entry['first_error']}")
        if self.policy.allow or (failed < prompts and share <= self.policy.max_share):
            log.warning("%s (not cached; a rerun retries them)", summary)
            return
        raise RoleFailed(
            f"{summary}. That is more than the allowed {self.policy.max_share:.0%}"
            f"{'' if failed < prompts else ' (all of them)'}: the run stops. The "
            f"{prompts - failed} answered calls are cached in {self.cache.path}; a rerun retries "
            "only the failed ones. To go on without them, allow failed calls "
            "(--allow-failed-calls, or allow_failed_calls: true in the config)."
        )
