"""The s1 pipeline's KFP components: lightweight Python components, one image each.

Each runs in its own image (`pipelines.images`), which has `s1` and kfp installed, so nothing is
pip-installed at start-up; the body is one call into `pipelines.steps`, which calls the library.
Because they are lightweight components, `kfp.local`'s subprocess runner runs exactly these
functions on a laptop, and the cluster runs them in their images.
"""

# No `from __future__ import annotations`: KFP reads the real annotation objects.

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import HTML, Dataset, Input, Markdown, Metrics, Model, Output

from pipelines.images import image_for


@dsl.component(base_image=image_for("curate"), install_kfp_package=False)
def curation_placement(
    teacher: dict,
    grader: dict,
    attempt_models: list,
    gpus: int,
    cpu_image: str,
    gpu_image: str,
) -> NamedTuple("Placement", [("image", str), ("gpus", int), ("node_selector", dict), ("tolerations", list),
                              ("cpu", str), ("memory", str)]):  # fmt: skip
    """Where the curate step runs: a GPU node in the image with vLLM when any model role is a
    local model (`local:...`) and `gpus` > 0, else a CPU pod in the curate image.

    Args:
        teacher: The curate step's teacher role.
        grader: Its judge role.
        attempt_models: Its attempt model roles.
        gpus: GPUs for local models.
        cpu_image: The curate image.
        gpu_image: The image with vLLM and CUDA.

    Returns:
        The curate task's image, GPU count, node selector, tolerations, CPU and memory limits.
    """
    from collections import namedtuple

    from pipelines.steps import curation_placement_step

    placement = curation_placement_step(teacher, grader, attempt_models, gpus, cpu_image, gpu_image)
    return namedtuple("Placement", placement)(**placement)


@dsl.component(base_image=image_for("curate"), install_kfp_package=False)
def curate(
    pool_sources: list,
    eval_sets: list,
    benchmarks: list,
    n: int,
    seed: int,
    teacher: dict,
    grader: dict,
    attempt_models: list,
    attempt_sample: int,
    engine: str,
    tensor_parallel_size: int,
    workdir: str,
    dataset: Output[Dataset],
    report: Output[HTML],
    summary: Output[Markdown],
    metrics: Output[Metrics],
):
    """Curate s1K: select `n` hard, diverse, decontaminated questions with reasoning traces.

    Args:
        pool_sources: Question pools: registered datasets (NAME), NAME=LOCATION (a file, folder or
            Hugging Face id read with that dataset's mapping) or LOCATION (s1/data/datasets/).
        eval_sets: Sets to decontaminate against (word 8-gram overlap), same form; empty: benchmarks.
        benchmarks: The benchmarks the pipeline evaluates: the default decontamination sets.
        n: How many questions to select (s1: 1000).
        seed: Seed of the domain-uniform sampling.
        teacher: Model writing missing traces: an OpenAI-compatible endpoint {"model", "base_url",
            ...} or a local model {"model": "local:PATH_OR_HUB_ID", ...}; empty: none.
        grader: The judge (grades what math-verify cannot decide, classifies domains), same forms;
            empty: the pool's domains.
        attempt_models: Models whose correct attempts mark a question too easy, same forms.
        attempt_sample: Attempt only a seeded sample of this many questions; 0: all.
        engine: Engine of local models: "auto" (vLLM with a GPU), "vllm" or "transformers".
        tensor_parallel_size: vLLM: GPUs per local model unless its role sets one; 0: all.
        workdir: Shared storage root; model calls are cached under it (a retried step resumes).
        dataset: selected.jsonl, dropped.jsonl, report.json and plots.
        report: The curation report (HTML): the funnel, drop reasons, difficulty, model calls.
        summary: The same report as Markdown.
        metrics: Counts per stage.
    """
    from pipelines.steps import curate_step

    curate_step(pool_sources, eval_sets, benchmarks, n, seed, teacher, grader, attempt_models, attempt_sample,
                engine, tensor_parallel_size, workdir, dataset, report, summary, metrics)  # fmt: skip


# The step only submits and watches the job (or, launcher "local", trains a small model on CPU):
# the light CPU image, not the multi-GB CUDA image the training pods run.
@dsl.component(base_image=image_for("launch"), install_kfp_package=False)
def train(
    dataset: Input[Dataset],
    recipe: str,
    base_model: str,
    overrides: dict,
    launcher: str,
    num_nodes: int,
    gpus_per_node: int,
    network: str,
    gang_scheduling: bool,
    workdir: str,
    pvc_name: str,
    namespace: str,
    storage_secret: str,
    model: Output[Model],
    metrics: Output[Metrics],
):
    """Supervised fine-tuning on the curated data with s1's SFT recipe.

    Args:
        dataset: The curated training examples.
        recipe: Training recipe name or file (s1/recipes/train/): s1-32b, s1.1-32b, smollm2, ...
        base_model: Hub id or path of the model to fine-tune; empty: the recipe's model.
        overrides: Recipe keys to override, e.g. {"epochs": 3, "block_size": 20000}.
        launcher: "pytorchjob" submits a Kubeflow PyTorchJob (training operator v1), "trainjob"
            a Trainer v2 TrainJob on the torch-distributed runtime; both stream rank 0's log.
            "local" runs the same entry point in this pod or on this machine.
        num_nodes: Training nodes (pods); 0: the recipe topology's.
        gpus_per_node: GPUs (processes) per node; 0: the recipe topology's.
        network: How the pods talk: "pod" (TCP) or "infiniband" (RDMA devices, NCCL settings;
            pipelines/networks.yaml).
        gang_scheduling: PyTorchJob: schedule all pods together (Volcano or the coscheduler).
        workdir: Shared storage root (the PVC mount); data, checkpoints and the model go under
            it, so a retried or repeated step resumes instead of starting over.
        pvc_name: The shared ReadWriteMany PersistentVolumeClaim the training pods mount.
        namespace: Namespace of the PyTorchJob; empty: this pod's namespace.
        storage_secret: Secret with object-store credentials and HF_TOKEN, as env of the pods.
        model: The fine-tuned model (safetensors + tokenizer); metadata records its PVC location.
        metrics: The run's summary.json: steps, final loss, tokens, throughput, seconds.
    """
    from pipelines.steps import train_step

    train_step(dataset, recipe, base_model, overrides, launcher, num_nodes, gpus_per_node, network, gang_scheduling,
               workdir, pvc_name, namespace, storage_secret, model, metrics)  # fmt: skip


@dsl.component(base_image=image_for("evaluate"), install_kfp_package=False)
def evaluate(
    model: Input[Model],
    benchmarks: list,
    budgets: list,
    limit: int,
    num_ignore: int,
    max_answer_tokens: int,
    engine: str,
    tensor_parallel_size: int,
    results: Output[Dataset],
    report: Output[HTML],
    summary: Output[Markdown],
    metrics: Output[Metrics],
):
    """Evaluate with budget forcing: accuracy per benchmark at each maximum thinking budget.

    Args:
        model: The fine-tuned model.
        benchmarks: Registry names (aime24, math500, gpqa_diamond, aime25), NAME=FILE mirrors,
            or JSONL files of questions.
        budgets: Maximum thinking tokens to evaluate at (s1: 500 to 16000).
        limit: Questions per benchmark; 0: all.
        num_ignore: End-of-thinking attempts replaced by "Wait" (s1's extrapolation).
        max_answer_tokens: Cap on the answer section, apart from the thinking budget.
        engine: "vllm" on GPUs, "transformers", or "auto" (vLLM when installed and usable).
        tensor_parallel_size: vLLM's tensor parallelism (the step's GPUs); 0: every visible GPU.
        results: samples.jsonl, metrics.json and the scaling plot.
        report: HTML report with the accuracy-vs-thinking-budget plot.
        summary: The report as Markdown.
        metrics: Accuracy per benchmark and budget; control, scaling and performance.
    """
    from pipelines.steps import evaluate_step

    evaluate_step(model, benchmarks, budgets, limit, num_ignore, max_answer_tokens, engine, tensor_parallel_size,
                  results, report, summary, metrics)  # fmt: skip


@dsl.component(base_image=image_for("deploy"), install_kfp_package=False)
def deploy(
    model: Input[Model],
    service_name: str,
    namespace: str,
    predictor: str,
    gpus: int,
    min_replicas: int,
    max_replicas: int,
    timeout_seconds: int,
) -> str:
    """Serve the model with KServe: create or update the InferenceService, wait until Ready.

    The predictor runs on the weights at the model's PVC location: `s1 serve` (KServe V1/V2 and
    OpenAI-compatible routes with typed per-request thinking budgets), or stock vLLM's OpenAI
    server with s1's plugin (budgets in `vllm_xargs`) through a ServingRuntime of its own.

    Args:
        model: The fine-tuned model; its metadata gives the PVC location to serve from.
        service_name: InferenceService name (≤ 45 characters).
        namespace: Namespace to deploy in; empty: this pod's namespace.
        predictor: "s1" (s1 serve) or "vllm" (stock vLLM with s1's plugin; needs GPUs).
        gpus: GPUs per predictor replica.
        min_replicas: Fewest predictor replicas.
        max_replicas: Most predictor replicas (autoscaling bound).
        timeout_seconds: How long to wait for Ready before failing the step.

    Returns:
        The service URL.
    """
    from pipelines.steps import deploy_step

    return deploy_step(model, service_name, namespace, predictor, gpus, min_replicas, max_replicas, timeout_seconds)
