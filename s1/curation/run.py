"""`curate(config)`: the whole s1 curation, stage by stage, with a report of every drop.

Stage order puts the cheap, model-free filters first so no teacher or attempt call is paid for a
question that decontamination or the question-format rules would drop anyway:
ingest → dedupe → decontaminate → quality (questions) → traces (teacher) → trace quality →
trace length → difficulty → teacher grading (only for s1's pre-selection) → domains → selection.
Model stages run only when their roles are configured (an endpoint, or a local model run
through the engine layer, one loaded at a time); every call goes through the cache, and a role
that fails beyond the allowed share stops the run (`calls.RoleFailed`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable

from s1.curation import dedupe, decontaminate, difficulty, quality, selection
from s1.curation.cache import CallCache
from s1.curation.calls import Calls, FailurePolicy
from s1.curation.client import OpenAIChatClient
from s1.curation.config import CurationConfig, LocalModelConfig, RoleModel
from s1.curation.domains import classify_domains
from s1.curation.ingest import ingest, read_eval_questions
from s1.curation.local_models import LocalModelClient, LocalModels
from s1.curation.records import Drop, Question
from s1.curation.report import write_outputs
from s1.curation.tokens import batched_token_counts, load_tokenizer
from s1.curation.traces import add_teacher_traces

log = logging.getLogger(__name__)


@dataclass
class _Run:
    """Accumulates drops and per-stage counts/timings while questions flow through."""

    questions: list[Question]
    drops: list[Drop] = field(default_factory=list)
    stages: list[dict] = field(default_factory=list)

    def stage(self, name: str, step: Callable[[list[Question]], tuple[list[Question], list[Drop]]]) -> None:
        start, before = time.perf_counter(), len(self.questions)
        self.questions, drops = step(self.questions)
        self.drops.extend(drops)
        seconds = time.perf_counter() - start
        self.stages.append({"stage": name, "in": before, "out": len(self.questions),
                            "dropped": len(drops), "seconds": round(seconds, 3)})
        log.info("%-14s %6d -> %6d  (%d dropped, %.1fs)", name, before, len(self.questions),
                 len(drops), seconds)


def curate(config: CurationConfig) -> dict:
    """Run the curation described by `config`; writes OUT/ files and returns the report."""
    cache = CallCache(config.resolved_cache_dir / "calls.jsonl")
    calls = Calls(cache, FailurePolicy(config.max_failed_call_share, config.allow_failed_calls))
    local = LocalModels(config.engine, config.tensor_parallel_size)
    endpoints: list[OpenAIChatClient] = []

    def client(role: RoleModel | None):
        if role is None:
            return None
        if isinstance(role, LocalModelConfig):
            return LocalModelClient(role, local)
        endpoints.append(OpenAIChatClient(role))
        return endpoints[-1]

    try:
        return _curate(config, calls, local, client(config.teacher),
                       [client(role) for role in config.attempt_models], client(config.grader))
    finally:
        local.close()
        for made in endpoints:
            made.close()
        cache.close()


def _curate(config: CurationConfig, calls: Calls, local: LocalModels, teacher, attempt_models,
            grader) -> dict:
    started = time.perf_counter()
    evals, eval_reports = read_eval_questions(config.eval_sets)
    start = time.perf_counter()
    ingested = ingest(config.pool)
    run = _Run(ingested.questions, drops=list(ingested.drops))
    pool_rows = sum(s.rows for s in ingested.sources)
    run.stages.append({"stage": "ingest", "in": pool_rows, "out": len(run.questions),
                       "dropped": len(ingested.drops), "seconds": round(time.perf_counter() - start, 3)})

    run.stage("dedupe", lambda qs: dedupe.dedupe(qs, config.dedupe_ngram,
                                                 config.near_duplicate_threshold))
    contamination: list[dict] = []
    decontamination: dict = {}
    rule = decontaminate.Rule(
        n=config.decontamination_ngram, threshold=config.decontamination_threshold,
        boilerplate_min_questions=config.decontamination_boilerplate_min_questions,
        ignore_boilerplate=config.decontamination_ignore_boilerplate,
        normalise=config.decontamination_normalise)

    def decontaminate_step(qs: list[Question]) -> tuple[list[Question], list[Drop]]:
        kept, drops, rows = decontaminate.decontaminate(qs, evals, rule)
        contamination.extend(rows)
        if evals:
            decontamination.update(decontaminate.summary(qs, evals, rule, rows))
        return kept, drops

    run.stage("decontaminate", decontaminate_step)
    run.stage("quality", lambda qs: quality.filter_questions(qs, config.asy_allowed_sources))
    model_stats: dict = {}
    if teacher is not None:
        def traces_step(qs: list[Question]) -> tuple[list[Question], list[Drop]]:
            model_stats["teacher_questions"] = add_teacher_traces(qs, teacher, calls)
            return qs, []

        run.stage("traces", traces_step)
    run.stage(quality.TRACE_STAGE, quality.filter_traces)
    run.stage("trace length", lambda qs: _measure_traces(qs, config.tokenizer))
    if attempt_models:
        def difficulty_step(qs: list[Question]) -> tuple[list[Question], list[Drop]]:
            kept, drops, stats = difficulty.filter_by_difficulty(qs, attempt_models, grader, calls,
                                                                 config.attempt_sample, config.seed)
            model_stats["attempts"] = stats
            return kept, drops

        run.stage("difficulty", difficulty_step)
    if config.preselect is not None:
        def teacher_grading_step(qs: list[Question]) -> tuple[list[Question], list[Drop]]:
            model_stats["teacher_grading"] = difficulty.grade_teacher(qs, grader, calls)
            return qs, []

        run.stage("teacher grading", teacher_grading_step)

    def domains_step(qs: list[Question]) -> tuple[list[Question], list[Drop]]:
        model_stats["domain_labels"] = dict(classify_domains(qs, grader, calls))
        return qs, []

    run.stage("domains", domains_step)
    candidates = list(run.questions)
    chosen: list[int] = []

    def select_step(qs: list[Question]) -> tuple[list[Question], list[Drop]]:
        picked, pre = selection.select(qs, config.n, config.seed, config.preselect)
        chosen.append(pre)
        return picked, []

    run.stage("selection", select_step)
    local.close()  # the last local model is not needed for writing the outputs
    gradings = [*model_stats.get("attempts", {}).values(), model_stats.get("teacher_grading")]
    model_stats["judge"] = difficulty.judge_share([g for g in gradings if g])
    model_stats["calls"] = calls.log
    model_stats["local_models_loaded"] = local.loads
    if len(run.questions) < config.n:
        log.warning("only %d questions survived the filters; selected all of them (asked for %d)",
                    len(run.questions), config.n)
    report = {
        "config": config.as_dict(),
        "pool_rows": pool_rows,
        "sources": [s.as_dict() for s in ingested.sources],
        "eval_sets": [s.as_dict() for s in eval_reports],
        "eval_questions": len(evals),
        "stages": run.stages,
        "preselected": chosen[0],
        "decontamination": decontamination,
        "contamination": contamination,
        "models": model_stats,
        "seconds": round(time.perf_counter() - started, 3),
    }
    report = write_outputs(config.out, run.questions, candidates, run.drops, report)
    log.info("selected %d questions into %s in %.1fs", report["selected"], config.out,
             report["seconds"])
    return report


def _measure_traces(questions: list[Question], tokenizer_name: str | None
                    ) -> tuple[list[Question], list[Drop]]:
    """Trace length in target-model tokens; a question keeps its count if one was set already."""
    todo = [q for q in questions if q.thinking_tokens is None]
    if todo:
        tokenizer = load_tokenizer(tokenizer_name)
        for question, count in zip(todo, batched_token_counts(tokenizer, [q.thinking or "" for q in todo])):
            question.thinking_tokens = count
    return questions, []
