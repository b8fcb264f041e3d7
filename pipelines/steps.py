"""What each pipeline component does, as plain functions: the component bodies only call these.

Kept out of the `@dsl.component` bodies so they can be imported and read like any module; they
take KFP artifact objects (anything with `.path`, `.metadata` and, for metrics, `log_metric`) and
call the `s1` library. Large files (the training data, the 32B weights) live under `workdir`,
the shared volume every step mounts on the cluster; the Model artifact records where.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import shutil
from pathlib import Path
from typing import Any

# Keys of a report worth a metric are numbers; deep or long reports are cut here, not in the UI.
MAX_METRICS = 200


def numeric_leaves(values: Any, prefix: str = "") -> dict[str, float]:
    """Flatten a (nested) report into ``{"a/b": number}``, keeping finite numbers only."""
    found: dict[str, float] = {}
    if isinstance(values, dict):
        for key, value in values.items():
            found.update(numeric_leaves(value, f"{prefix}{key}/"))
    elif isinstance(values, bool):
        return {}
    elif isinstance(values, (int, float)) and math.isfinite(values):
        found[prefix.rstrip("/")] = float(values)
    return found


def log_metrics(metrics, report: dict, skip: tuple[str, ...] = ("config",)) -> None:
    """Every number in `report` as a KFP metric (the UI's metrics tab and run comparison).

    Top-level sections in `skip` are settings, not results, and stay out of the metrics.
    """
    results = {key: value for key, value in report.items() if key not in skip}
    for key, value in list(numeric_leaves(results).items())[:MAX_METRICS]:
        metrics.log_metric(re.sub(r"[^A-Za-z0-9_./@-]", "_", key), value)


def inline_images(html: str, folder: Path) -> str:
    """Embed relative PNG references as data URIs: the KFP UI shows one HTML file, no folder."""

    def embed(match: re.Match) -> str:
        image = folder / match.group(2)
        if not image.is_file():
            return match.group(0)
        data = base64.b64encode(image.read_bytes()).decode()
        return f"{match.group(1)}data:image/png;base64,{data}{match.group(3)}"

    return re.sub(r'(src=["\'])([^"\':]+\.png)(["\'])', embed, html)


def copy_file(source: Path, artifact) -> None:
    """Copy one file to an artifact's path (a missing report is an error, not a blank tab)."""
    if not source.is_file():
        raise FileNotFoundError(f"expected {source} to be written by the step; it is missing")
    Path(artifact.path).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, artifact.path)


# The curate pod's CPU and memory with endpoint roles only (the pool in memory); with local
# models on GPUs it gets what the evaluate step gets (cluster.GPU_STEP_RESOURCES).
CURATION_CPU_RESOURCES = ("8", "32Gi")


def curation_placement_step(teacher: dict, grader: dict, attempt_models: list, gpus: int, cpu_image: str,
                            gpu_image: str) -> dict:  # fmt: skip
    """The curate task's image, GPUs, node selector, tolerations, CPU and memory: a GPU node and
    the vLLM image when any role is a local model and `gpus` > 0 (vLLM there), else a CPU pod
    (endpoints; or small local models on the transformers engine)."""
    from pipelines.cluster import GPU_NODE_SELECTOR, GPU_STEP_RESOURCES, GPU_TOLERATIONS, toleration_objects
    from s1.curation.config import LocalModelConfig, role_model

    roles = [role_model(role, name) for name, role in (("teacher", teacher), ("grader", grader),
                                                         *(("attempt_models", r) for r in attempt_models)) if role]
    if gpus > 0 and any(isinstance(role, LocalModelConfig) for role in roles):
        cpu, memory = GPU_STEP_RESOURCES
        return {"image": gpu_image, "gpus": gpus, "node_selector": dict(GPU_NODE_SELECTOR),
                "tolerations": toleration_objects(GPU_TOLERATIONS),
                "cpu": cpu, "memory": memory}  # fmt: skip
    cpu, memory = CURATION_CPU_RESOURCES
    return {"image": cpu_image, "gpus": 0, "node_selector": {}, "tolerations": [], "cpu": cpu, "memory": memory}


def curate_step(pool_sources: list, eval_sets: list, benchmarks: list, n: int, seed: int, teacher: dict, grader: dict,
                attempt_models: list, attempt_sample: int, engine: str, tensor_parallel_size: int, workdir: str,
                dataset, report, summary, metrics) -> dict:  # fmt: skip
    """s1's curation (quality, difficulty, diversity, decontamination) into `dataset/`.

    Model calls are cached under `workdir` (the shared volume), so a retried, preempted or
    repeated run never pays twice for a teacher trace, an attempt or a grade: local models
    included, whose finished sweeps are cached as they finish.
    """
    from s1.curation.config import CurationConfig
    from s1.curation.report import REPORT_HTML, REPORT_MD
    from s1.curation.run import curate

    config = CurationConfig.from_dict(
        {
            "pool": list(pool_sources),
            # Decontaminate against what will be evaluated unless told otherwise: one list, no drift.
            "eval_sets": list(eval_sets) or list(benchmarks),
            "n": n,
            "seed": seed,
            "out": dataset.path,
            "cache_dir": str(Path(workdir) / "cache" / "curation"),
            "teacher": teacher or None,
            "grader": grader or None,
            "attempt_models": list(attempt_models),
            "attempt_sample": attempt_sample or None,
            "engine": engine,
            "tensor_parallel_size": tensor_parallel_size or None,
        }
    )
    figures = curate(config)
    out = Path(dataset.path)
    dataset.metadata.update({"examples": figures["selected"], "format": "s1 training examples (JSONL)"})
    copy_file(out / REPORT_HTML, report)
    copy_file(out / REPORT_MD, summary)
    log_metrics(metrics, figures)
    return figures


def train_step(dataset, recipe: str, base_model: str, overrides: dict, launcher: str, num_nodes: int,
               gpus_per_node: int, network: str, gang_scheduling: bool, workdir: str, pvc_name: str,
               namespace: str, storage_secret: str, model, metrics) -> dict:  # fmt: skip
    """Fine-tune on `dataset` with the chosen launcher; the final model lands in `model`.

    Data and checkpoints go to ``workdir/runs/<fingerprint>/`` (the shared PVC on the cluster),
    named by what determines the result: the data, recipe, settings, shape, network and image. A retried step
    or a repeated run with the same inputs therefore attaches to the same job (a Failed one is
    recreated) and resumes from its checkpoints instead of training again. The run's
    `summary.json` (steps, loss, tokens, throughput) becomes the step's metrics. Locally the
    final model is also copied into the artifact; on the cluster the artifact records the PVC
    location (32B weights stay put).
    """
    from pipelines.cluster import load_network
    from pipelines.images import image_for
    from pipelines.kube import current_namespace
    from pipelines.launchers import launcher_for
    from pipelines.training_job import job_shape, job_spec
    from s1.curation.report import SELECTED
    from s1.train.run import SUMMARY_FILE

    examples = Path(dataset.path) / SELECTED
    settings = dict(overrides or {})
    if base_model:
        settings["model"] = base_model
    image = image_for("train")
    nodes, processes, _ = job_shape(recipe, settings, num_nodes, gpus_per_node)
    fingerprint = training_fingerprint(examples, recipe, settings, nodes, processes, network, image)
    run_dir = Path(workdir) / "runs" / f"train-{fingerprint}"
    data_dir = run_dir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(examples, data_dir / SELECTED)
    out = run_dir / "train"
    spec = job_spec(
        recipe, str(data_dir), str(out), settings,
        num_nodes=nodes, processes_per_node=processes,
        name=f"s1-train-{fingerprint}", namespace=namespace or current_namespace(), image=image,
        pvc_name=pvc_name, pvc_mount=workdir, secret_name=storage_secret or None,
        network=load_network(network), gang_scheduling=gang_scheduling,
    )  # fmt: skip
    result = launcher_for(launcher).run(spec)
    summary = {**json.loads((out / SUMMARY_FILE).read_text()), "seconds": result["seconds"]}
    final = out / "model"
    relative = final.relative_to(workdir)
    model.metadata.update(
        {"path": str(final), "storage_uri": f"pvc://{pvc_name}/{relative}", "recipe": recipe, "base_model": base_model}
    )
    if launcher == "local":
        shutil.copytree(final, model.path, dirs_exist_ok=True)
    else:
        Path(model.path).mkdir(parents=True, exist_ok=True)
        (Path(model.path) / "LOCATION").write_text(f"{final}\npvc://{pvc_name}/{relative}\n")
    log_metrics(metrics, summary)
    return summary


def training_fingerprint(examples: Path, recipe: str, settings: dict, num_nodes: int, processes_per_node: int,
                         network: str, image: str) -> str:  # fmt: skip
    """12 hex digits naming one training result: same data, settings and shape, same name."""
    from s1.train.launch import override_text

    digest = hashlib.sha256(examples.read_bytes())
    values = sorted((key, override_text(value)) for key, value in settings.items())
    digest.update(json.dumps([recipe, values, num_nodes, processes_per_node, network, image]).encode())
    return digest.hexdigest()[:12]


def model_dir(model) -> Path:
    """Where a Model artifact's weights are: on the shared volume if recorded, else the artifact."""
    recorded = model.metadata.get("path")
    if recorded and Path(recorded).is_dir():
        return Path(recorded)
    return Path(model.path)


def model_label(model) -> str:
    """What the reports call a fine-tuned model: its recipe and base model, not a path."""
    recipe, base = model.metadata.get("recipe"), model.metadata.get("base_model")
    if not recipe:
        return model_dir(model).name
    return f"{recipe} fine-tune" + (f" of {base}" if base else "")


def evaluate_step(model, benchmarks: list, budgets: list, limit: int, num_ignore: int, max_answer_tokens: int,
                  engine: str, tensor_parallel_size: int, results, report, summary, metrics) -> dict:  # fmt: skip
    """Budget-forced generation and grading over each benchmark and thinking budget."""
    from s1.evaluation.config import EvaluationConfig
    from s1.evaluation.run import evaluate

    out = Path(results.path)
    config = EvaluationConfig(
        model=model_dir(model),
        benchmarks=tuple(benchmarks),
        out=out,
        budgets=tuple(int(b) for b in budgets),  # KFP hands list defaults over as floats
        num_ignore=(num_ignore,),
        max_answer_tokens=max_answer_tokens,
        limit=limit or None,
        engine=engine,
        tensor_parallel_size=tensor_parallel_size or None,
        model_name=model_label(model),
    )
    figures = evaluate(config)
    html = (out / "report.html").read_text()
    Path(report.path).write_text(inline_images(html, out))
    copy_file(out / "report.md", summary)
    results.metadata.update({"benchmarks": list(benchmarks), "budgets": [int(b) for b in budgets]})
    log_metrics(metrics, figures.get("kfp_metrics") or figures)
    return figures


def deploy_step(model, service_name: str, namespace: str, predictor: str, gpus: int, min_replicas: int,
                max_replicas: int, timeout_seconds: int) -> str:  # fmt: skip
    """Create or update the InferenceService serving `model`; returns its URL once Ready."""
    from pipelines.images import image_for
    from pipelines.inferenceservice import InferenceServiceSpec, deploy
    from pipelines.kube import current_namespace

    storage_uri = model.metadata.get("storage_uri")
    if not storage_uri:
        raise ValueError("the Model artifact records no storage_uri: deploy needs a model on the shared PVC")
    spec = InferenceServiceSpec(
        name=service_name,
        storage_uri=storage_uri,
        predictor=predictor,
        namespace=namespace or current_namespace(),
        image=image_for("serve"),
        gpus=gpus,  # vLLM tensor parallel over all of them
        min_replicas=min_replicas,
        max_replicas=max_replicas,
    )
    return deploy(spec, timeout_seconds=timeout_seconds)["url"]

