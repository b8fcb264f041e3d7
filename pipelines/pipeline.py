"""The s1 pipeline, stated once: curate s1K -> SFT (PyTorchJob) -> budget-forcing evaluation -> serve.

Usage: s1 pipeline compile --out pipelines/s1_pipeline.yaml

Parameter defaults are s1's (59K pool with Gemini traces, Qwen2.5-32B-Instruct, 2 x 8 H100,
AIME24/MATH500/GPQA Diamond, thinking budgets 500-16000). The Kubernetes settings below (GPUs,
node selector, tolerations, /dev/shm, the shared PVC, Secrets) apply on the cluster; `kfp.local`
ignores them, so `s1 pipeline run-local` runs this same function with local arguments.
"""

# No `from __future__ import annotations`: KFP reads the real annotation objects.

from kfp import dsl, kubernetes

from pipelines.cluster import (
    ENDPOINTS_ENV,
    ENDPOINTS_SECRET,
    GPU_NODE_SELECTOR,
    GPU_RESOURCE,
    GPU_STEP_RESOURCES,
    GPU_TOLERATIONS,
    PVC_NAME,
    SHARED_MOUNT,
    STORAGE_SECRET,
)
from pipelines.components import curate, curation_placement, deploy, evaluate, train
from pipelines.images import image_for

PIPELINE_NAME = "s1-test-time-scaling"
# s1 evaluates 32B with tensor parallelism 8: one full node, every GPU in one vLLM engine.
EVAL_GPUS = 8


def _on_gpu_node(task: dsl.PipelineTask, gpus: int, cpu: str, memory: str) -> None:
    task.set_accelerator_type(GPU_RESOURCE).set_accelerator_limit(gpus)
    task.set_cpu_limit(cpu).set_memory_limit(memory)
    for key, value in GPU_NODE_SELECTOR.items():
        kubernetes.add_node_selector(task, key, value)
    for key, effect in GPU_TOLERATIONS:
        kubernetes.add_toleration(task, key=key, operator="Exists", effect=effect)
    # vLLM's tensor-parallel workers exchange activations through shared memory.
    kubernetes.empty_dir_mount(task, volume_name="dshm", mount_path="/dev/shm", medium="Memory")


@dsl.pipeline(
    name=PIPELINE_NAME,
    description="s1: simple test-time scaling. Curate s1K, fine-tune Qwen2.5-32B-Instruct as a "
    "2 x 8 GPU PyTorchJob, evaluate with budget forcing across thinking budgets, serve with KServe.",
)
def s1_pipeline(
    pool_sources: list = ["s1_59k=simplescaling/data_ablation_full59K"],
    eval_sets: list = [],
    n: int = 1000,
    seed: int = 0,
    teacher: dict = {},
    grader: dict = {},
    attempt_models: list = [],
    attempt_sample: int = 0,
    curation_engine: str = "auto",
    curation_gpus: int = 8,
    curation_tensor_parallel_size: int = 0,
    base_model: str = "Qwen/Qwen2.5-32B-Instruct",
    recipe: str = "s1-32b",
    train_overrides: dict = {},
    train_launcher: str = "pytorchjob",
    num_nodes: int = 0,
    gpus_per_node: int = 0,
    train_network: str = "pod",
    gang_scheduling: bool = False,
    benchmarks: list = ["aime24", "math500", "gpqa_diamond"],
    budgets: list = [500, 1000, 2000, 4000, 8000, 16000],
    eval_limit: int = 0,
    num_ignore: int = 0,
    max_answer_tokens: int = 512,
    eval_engine: str = "vllm",
    workdir: str = SHARED_MOUNT,
    pvc_name: str = PVC_NAME,
    storage_secret: str = STORAGE_SECRET,
    namespace: str = "",
    deploy_model: bool = True,
    service_name: str = "s1-32b",
    predictor: str = "s1",
    serve_gpus: int = 2,
    serve_min_replicas: int = 1,
    serve_max_replicas: int = 2,
):
    """s1 end to end; every parameter defaults to the paper's setting.

    Args:
        pool_sources: Question pools (ADAPTER=LOCATION; files, folders or Hugging Face ids).
        eval_sets: Sets the training data is decontaminated against; empty: `benchmarks`.
        n: Training examples to select (s1K: 1000).
        seed: Curation seed.
        teacher: Model writing missing reasoning traces: an endpoint {"model", "base_url"} or a
            local model {"model": "local:PATH_OR_HUB_ID", ...}; empty: none.
        grader: The judge (grades what math-verify cannot decide, classifies domains), same
            forms; empty: the pool's domains.
        attempt_models: Models whose correct attempts mark a question too easy, same forms (s1:
            Qwen2.5-7B/32B-Instruct).
        attempt_sample: Attempt only a seeded sample of this many questions; 0: all (s1).
        curation_engine: Engine of local curation models: "auto" (vLLM with a GPU), "vllm" or
            "transformers".
        curation_gpus: GPUs of the curate step when a role is a local model (it then runs on a GPU
            node in the image with vLLM); 0: on CPU.
        curation_tensor_parallel_size: vLLM tensor parallelism of local curation models that set
            none; 0: every GPU of the step.
        base_model: Model to fine-tune (hub id or path); empty: the recipe's.
        recipe: Training recipe (s1-32b, s1.1-32b, ...).
        train_overrides: Recipe keys to override.
        train_launcher: "pytorchjob" (training operator v1) or "trainjob" (Trainer v2) on the
            cluster, "local" in the step's own pod.
        num_nodes: Training nodes; 0: the recipe topology's (s1-32b: 2).
        gpus_per_node: GPUs (processes) per training node; 0: the recipe topology's (s1-32b: 8).
        train_network: "pod" (TCP) or "infiniband" (RDMA devices and NCCL settings).
        gang_scheduling: Schedule all PyTorchJob pods together (needs Volcano or the coscheduler).
        benchmarks: Benchmarks to evaluate (aime24, math500, gpqa_diamond, aime25 or files).
        budgets: Maximum thinking tokens to evaluate at.
        eval_limit: Questions per benchmark; 0: all.
        num_ignore: End-of-thinking attempts replaced by "Wait" during evaluation.
        max_answer_tokens: Cap on each answer section, apart from the thinking budget.
        eval_engine: Evaluation engine: "vllm" (tensor parallel over the step's GPUs),
            "transformers" or "auto".
        workdir: Shared storage root; must be the PVC mount (/mnt/s1) on the cluster.
        pvc_name: Shared ReadWriteMany PVC for data, checkpoints and models.
        storage_secret: Secret with object-store credentials and HF_TOKEN for the training pods.
        namespace: Namespace for the PyTorchJob and the InferenceService; empty: the run's.
        deploy_model: Deploy the model with KServe after evaluation.
        service_name: InferenceService name.
        predictor: "s1" (s1 serve: typed budget fields, KServe V1/V2 and s1's OpenAI routes) or
            "vllm" (stock vLLM's OpenAI server with s1's plugin, for vLLM clients).
        serve_gpus: GPUs per serving replica.
        serve_min_replicas: Fewest serving replicas.
        serve_max_replicas: Most serving replicas.
    """
    # Local curation models run in the curate step itself, on a GPU node, with its cache on the
    # PVC: no model servers to deploy, and a preempted step resumes from its finished sweeps.
    # Where it runs is decided from the roles at run time (KFP cannot read a dict parameter at
    # compile time), so a run with endpoints only never waits for a GPU node.
    placement = curation_placement(
        teacher=teacher,
        grader=grader,
        attempt_models=attempt_models,
        gpus=curation_gpus,
        cpu_image=image_for("curate"),
        gpu_image=image_for("evaluate"),
    ).set_display_name("place curation")
    placement.set_cpu_limit("1").set_memory_limit("1Gi")
    curated = curate(
        pool_sources=pool_sources,
        eval_sets=eval_sets,
        benchmarks=benchmarks,
        n=n,
        seed=seed,
        teacher=teacher,
        grader=grader,
        attempt_models=attempt_models,
        attempt_sample=attempt_sample,
        engine=curation_engine,
        tensor_parallel_size=curation_tensor_parallel_size,
        workdir=workdir,
    ).set_display_name("curate s1K")
    curated.set_container_image(placement.outputs["image"])
    curated.set_accelerator_type(GPU_RESOURCE).set_accelerator_limit(placement.outputs["gpus"])
    curated.set_cpu_limit(placement.outputs["cpu"]).set_memory_limit(placement.outputs["memory"]).set_retry(2)
    kubernetes.add_node_selector_json(curated, placement.outputs["node_selector"])
    kubernetes.add_toleration_json(curated, placement.outputs["tolerations"])
    kubernetes.empty_dir_mount(curated, volume_name="dshm", mount_path="/dev/shm", medium="Memory")
    kubernetes.use_secret_as_env(curated, ENDPOINTS_SECRET, ENDPOINTS_ENV, optional=True)

    trained = train(
        dataset=curated.outputs["dataset"],
        recipe=recipe,
        base_model=base_model,
        overrides=train_overrides,
        launcher=train_launcher,
        num_nodes=num_nodes,
        gpus_per_node=gpus_per_node,
        network=train_network,
        gang_scheduling=gang_scheduling,
        workdir=workdir,
        pvc_name=pvc_name,
        namespace=namespace,
        storage_secret=storage_secret,
    ).set_display_name("train (Kubeflow job)")
    # The step itself only submits and watches the training job: a small CPU pod.
    trained.set_cpu_limit("1").set_memory_limit("2Gi")

    evaluated = evaluate(
        model=trained.outputs["model"],
        benchmarks=benchmarks,
        budgets=budgets,
        limit=eval_limit,
        num_ignore=num_ignore,
        max_answer_tokens=max_answer_tokens,
        engine=eval_engine,
        tensor_parallel_size=EVAL_GPUS,
    ).set_display_name("evaluate (budget forcing)")
    _on_gpu_node(evaluated, EVAL_GPUS, *GPU_STEP_RESOURCES)
    kubernetes.use_secret_as_env(evaluated, ENDPOINTS_SECRET, ENDPOINTS_ENV, optional=True)

    for task in (curated, trained, evaluated):
        kubernetes.mount_pvc(task, pvc_name=pvc_name, mount_path=SHARED_MOUNT)
        # Same inputs, same result: reuse it (training is the expensive part, keyed by its inputs).
        task.set_caching_options(enable_caching=True)

    with dsl.If(deploy_model == True, name="deploy-enabled"):  # noqa: E712 (a KFP condition)
        served = deploy(
            model=trained.outputs["model"],
            service_name=service_name,
            namespace=namespace,
            predictor=predictor,
            gpus=serve_gpus,
            min_replicas=serve_min_replicas,
            max_replicas=serve_max_replicas,
            timeout_seconds=3600,
        ).set_display_name("deploy (KServe)")
        served.after(evaluated)
        # Deploying reconciles the cluster: never answer it from the cache.
        served.set_caching_options(enable_caching=False)
        served.set_cpu_limit("1").set_memory_limit("1Gi")
