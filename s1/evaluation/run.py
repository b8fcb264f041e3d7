"""A model's test-time-scaling sweep: every benchmark at every budget point, graded and reported.

    evaluate(EvaluationConfig(model=Path("out/model"), benchmarks=("aime24",),
                              budgets=(512, 1024, 2048), out=Path("eval")))

Writes ``OUT/samples.jsonl`` (every graded sample, appended batch by batch), ``metrics.json``,
``scaling.png``, ``report.md`` and ``report.html``. Rerunning with the same settings resumes:
samples already in ``samples.jsonl`` are not generated again.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Sequence

from s1.data.registry import DatasetSpec
from s1.evaluation.benchmarks import EvalQuestion, load_questions, resolve_benchmark
from s1.evaluation.config import BudgetPoint, EvaluationConfig
from s1.evaluation.grading import grade_answer
from s1.evaluation.report import write_reports
from s1.evaluation.summary import benchmark_summary, kfp_metrics
from s1.format import generation_prompt
from s1.jsonl import load_jsonl
from s1.generation.engine import Engine, load_engine, prepare

logger = logging.getLogger(__name__)


def evaluate(config: EvaluationConfig, engine: Engine | None = None) -> dict[str, Any]:
    """Run (or resume) the sweep and return the metrics written to ``OUT/metrics.json``.

    ``engine``: an engine already loaded for ``config.model`` (default: ``config.engine``'s).
    """
    specs = [resolve_benchmark(ref, config.kind, config.fields) for ref in config.benchmarks]
    if len({spec.name for spec in specs}) != len(specs):
        raise ValueError(f"benchmarks repeat: {[spec.name for spec in specs]}")
    # Loading every benchmark first: a bad field mapping fails before the model is loaded.
    questions = {spec.name: load_questions(spec, config.limit) for spec in specs}
    empty = [name for name, loaded in questions.items() if not loaded]
    if empty:
        raise ValueError(f"benchmarks without questions: {', '.join(empty)}")
    config.out.mkdir(parents=True, exist_ok=True)
    samples_path = config.out / "samples.jsonl"
    done = _resume(config, samples_path)
    todo = [(spec, point, sample, question)
            for spec in specs for point in config.points() for sample in range(config.samples)
            for question in questions[spec.name]
            if _key(spec.name, point.label, question.id, sample) not in done]
    logger.info("%d samples to generate (%d already in %s)", len(todo), len(done), samples_path)
    if todo:
        _generate(config, todo, samples_path, engine)
    return _finish(config, specs, questions, samples_path)


def _resume(config: EvaluationConfig, samples_path: Path) -> set[tuple]:
    """Keys of the samples an earlier run with the same settings already wrote."""
    config_path = config.out / "config.json"
    identity = config.identity()
    if config_path.exists():
        previous = json.loads(config_path.read_text())
        if previous != identity:
            changed = sorted(k for k in identity.keys() | previous.keys()
                             if identity.get(k) != previous.get(k))
            raise ValueError(f"{config.out} holds a run with other settings ({', '.join(changed)}"
                             "); use another --out folder")
    config_path.write_text(json.dumps(identity, indent=2) + "\n")
    if not samples_path.exists():
        return set()
    return {_key(r["benchmark"], r["budget"], r["id"], r["sample"]) for r in load_jsonl(samples_path)}


def _key(benchmark: str, budget: str, qid: str, sample: int) -> tuple:
    return benchmark, budget, qid, sample


def _generate(
    config: EvaluationConfig,
    todo: list[tuple[DatasetSpec, BudgetPoint, int, EvalQuestion]],
    samples_path: Path,
    engine: Engine | None,
) -> None:
    """Every sample planned first (a budget that cannot fit fails before any generation), then
    sent to the engine in chunks it can run at once (vLLM schedules a whole chunk; each request
    carries its own budget and seed), appended to ``samples.jsonl`` chunk by chunk."""
    from tqdm.auto import tqdm

    own = engine is None
    if own:
        engine = load_engine(config.model, config.engine, tensor_parallel_size=config.tensor_parallel_size,
                             batch_size=config.batch_size)
    try:
        requests = [prepare(engine, generation_prompt(question.question), config.budget(point),
                            config.sampling(sample))
                    for _, point, sample, question in todo]
        chunk = max(config.batch_size, engine.max_running)
        with samples_path.open("a", encoding="utf-8") as sink, \
                tqdm(total=len(todo), desc=f"evaluate ({engine.name})", unit="sample") as bar:
            for start in range(0, len(todo), chunk):
                items, batch = todo[start:start + chunk], requests[start:start + chunk]
                for (spec, point, sample, question), request, generation in zip(
                        items, batch, engine.generate(batch)):
                    record = _record(config, spec, point, sample, question, request.prompt, generation)
                    sink.write(json.dumps(record, ensure_ascii=False) + "\n")
                sink.flush()
                bar.update(len(items))
    finally:
        if own:
            engine.shutdown()


def _record(config, spec, point, sample, question, prompt, generation) -> dict[str, Any]:
    section = generation.answer if generation.closed else generation.thinking
    grade = grade_answer(question.kind, question.answer, section, closed=generation.closed)
    return {
        "benchmark": spec.name,
        "kind": question.kind,
        "id": question.id,
        "sample": sample,
        "budget": point.label,
        "max_thinking_tokens": point.max_thinking_tokens,
        "min_thinking_tokens": config.min_thinking_tokens,
        "num_ignore": point.num_ignore,
        "prompt": prompt,
        "gold": question.answer,
        "output": generation.text,
        "thinking_tokens": generation.thinking_tokens,
        "answer_tokens": generation.answer_tokens,
        "num_waits": generation.num_waits,
        "hit_cap": generation.hit_cap,
        "closed": generation.closed,
        "answer": generation.answer,
        "extracted": grade.extracted,
        "correct": grade.correct,
        "reason": grade.reason,
    }


def _finish(
    config: EvaluationConfig,
    specs: Sequence[DatasetSpec],
    questions: dict[str, list[EvalQuestion]],
    samples_path: Path,
) -> dict[str, Any]:
    """Metrics over exactly this run's questions and points (a resumed file may hold more)."""
    labels = [point.label for point in config.points()]
    wanted = {(name, q.id) for name, qs in questions.items() for q in qs}
    records = [r for r in load_jsonl(samples_path)
               if (r["benchmark"], r["id"]) in wanted and r["budget"] in labels
               and r["sample"] < config.samples]
    benchmarks = {}
    for spec in specs:
        own = [r for r in records if r["benchmark"] == spec.name]
        benchmarks[spec.name] = {"title": spec.display_name, "source": spec.location,
                                 **benchmark_summary(own, labels)}
    metrics = {
        "model": str(config.model),
        "model_name": config.model_name or Path(config.model).resolve().name,
        "samples_per_question": config.samples,
        "temperature": config.temperature,
        "min_thinking_tokens": config.min_thinking_tokens,
        "budgets": labels,
        "benchmarks": benchmarks,
        "kfp_metrics": kfp_metrics(benchmarks),
    }
    (config.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    write_reports(metrics, config.out)
    return metrics
