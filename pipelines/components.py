"""The s1 pipeline's KFP components: lightweight Python components, one image each.

Each runs in its own image (`pipelines.images`), which has `s1` and kfp installed, so nothing is
pip-installed at start-up; the body is one call into `pipelines.steps`, which calls the library.
Because they are lightweight components, `kfp.local`'s subprocess runner runs exactly these
functions on a laptop, and the cluster runs them in their images.
"""

# No `from __future__ import annotations`: KFP reads the real annotation objects.

from kfp import dsl
from kfp.dsl import HTML, Dataset, Input, Markdown, Metrics, Model, Output

from pipelines.images import image_for


@dsl.component(base_image=image_for("curate"), install_kfp_package=False)
def curate(
    pool_sources: list,
    eval_sets: list,
    n: int,
    seed: int,
    teacher: dict,
    grader: dict,
    attempt_models: list,
    workdir: str,
    dataset: Output[Dataset],
    report: Output[Markdown],
    metrics: Output[Metrics],
):
    """Curate s1K: select `n` hard, diverse, decontaminated questions with reasoning traces.

    Pool sources and eval sets are files, folders or Hugging Face dataset ids (optionally
    ADAPTER=LOCATION). Teacher, grader and attempt models are OpenAI-compatible endpoints
    ({"model": ..., "base_url": ...}); empty means the pool's own traces and domains are used.
    Writes selected.jsonl, dropped.jsonl, report.json and plots into `dataset`; model calls are
    cached under `workdir`.
    """
    from pipelines.steps import curate_step

    curate_step(pool_sources, eval_sets, n, seed, teacher, grader, attempt_models, workdir, dataset, report,
                metrics)  # fmt: skip


@dsl.component(base_image=image_for("train"), install_kfp_package=False)
def train(
    dataset: Input[Dataset],
    recipe: str,
    base_model: str,
    overrides: dict,
    launcher: str,
    num_nodes: int,
    gpus_per_node: int,
    workdir: str,
    pvc_name: str,
    namespace: str,
    storage_secret: str,
    model: Output[Model],
    metrics: Output[Metrics],
):
    """Supervised fine-tuning on the curated data (s1's SFT recipe).

    launcher "pytorchjob" submits a Kubeflow PyTorchJob (`num_nodes` x `gpus_per_node` GPUs,
    DeepSpeed ZeRO-3) and streams its master's log; "local" runs the same entry point here.
    `base_model` (a hub id or path; empty: the recipe's) and `overrides` (recipe keys) adjust the
    recipe. Checkpoints under `workdir` make a retried or repeated step resume, not restart.
    """
    from pipelines.steps import train_step

    train_step(dataset, recipe, base_model, overrides, launcher, num_nodes, gpus_per_node, workdir,
               pvc_name, namespace, storage_secret, model, metrics)  # fmt: skip


@dsl.component(base_image=image_for("evaluate"), install_kfp_package=False)
def evaluate(
    model: Input[Model],
    benchmarks: list,
    budgets: list,
    limit: int,
    num_ignore: int,
    results: Output[Dataset],
    report: Output[HTML],
    summary: Output[Markdown],
    metrics: Output[Metrics],
):
    """Evaluate with budget forcing: accuracy per benchmark at each max-thinking budget.

    Benchmarks are registry names (aime24, math500, gpqa_diamond, aime25), NAME=FILE mirrors or
    JSONL files; `limit` > 0 caps questions per benchmark; `num_ignore` suppresses that many
    end-of-thinking attempts with "Wait". The report plots accuracy against thinking budget.
    """
    from pipelines.steps import evaluate_step

    evaluate_step(model, benchmarks, budgets, limit, num_ignore, results, report, summary, metrics)


@dsl.component(base_image=image_for("deploy"), install_kfp_package=False)
def deploy(
    model: Input[Model],
    service_name: str,
    namespace: str,
    gpus: int,
    min_replicas: int,
    max_replicas: int,
    timeout_seconds: int,
) -> str:
    """Serve the model: create or update a KServe InferenceService and wait until it is Ready.

    The predictor runs `s1 serve` (KServe V1 and OpenAI-compatible routes with per-request
    thinking budgets) on the weights at the model's PVC location. Returns the service URL.
    """
    from pipelines.steps import deploy_step

    return deploy_step(model, service_name, namespace, gpus, min_replicas, max_replicas, timeout_seconds)
