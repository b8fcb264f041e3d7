"""The vllm predictor's KServe ServingRuntime: stock vLLM's OpenAI server with s1's plugin.

Usage: s1 pipeline manifests   (renders manifests/predictors/vllm/servingruntime.yaml)

Built as KServe's own vLLM runtime is (kserve/kserve config/runtimes/kserve-vllmserver.yaml):
`python -m vllm.entrypoints.openai.api_server --port=8080 --served-model-name={{.Name}}
--model=/mnt/models`, readiness on `/v1/models`, /dev/shm in memory. The image is s1's serve
image (CUDA vLLM with the s1 package, so the plugin, installed), and s1's flags follow
(`s1.vllm_plugin.stock_server_args`: the budget-forcing logits processor, the reasoning parser,
s1's chat template). The InferenceService appends the per-deployment flags (tensor parallelism).

KServe renders the container through Go's text/template with the InferenceService's metadata
(`{{.Name}}`) before it starts the pod; the Jinja chat template's own `{{` would be read as
template actions, so they are written as actions that print them (`kserve_literal`). The runtime
has no `serving.kserve.io/server-type` annotation and a name of its own, so KServe never swaps
its image for a "-cpu" sibling as it does for its stock vLLM runtime.
"""

from __future__ import annotations

from pipelines.cluster import PART_OF
from pipelines.inferenceservice import (
    CONTAINER_NAME,
    CONTAINER_SECURITY,
    MODEL_MOUNT,
    PORT,
    RUNTIME_API_VERSION,
    VLLM_MODEL_FORMAT,
    InferenceServiceSpec,
    probe,
    writable_volumes,
)
from s1.vllm_plugin import stock_server_args

KIND = "ServingRuntime"
COMMAND = ["python", "-m", "vllm.entrypoints.openai.api_server"]
# KServe fills this in from the InferenceService: clients send its name as `model`.
SERVED_MODEL_NAME = "{{.Name}}"


def kserve_literal(text: str) -> str:
    """`text` as KServe's Go template rendering leaves it: each `{{` becomes an action printing
    `{{` (a raw-string literal: JSON escaping, applied first, leaves backquotes alone)."""
    return text.replace("{{", "{{`{{`}}")


def runtime_arguments() -> list[str]:
    """The server's arguments: KServe's conventions, then s1's plugin flags."""
    conventions = [f"--port={PORT}", f"--served-model-name={SERVED_MODEL_NAME}", f"--model={MODEL_MOUNT}"]
    return conventions + [kserve_literal(argument) for argument in stock_server_args()]


def build_servingruntime(spec: InferenceServiceSpec) -> dict:
    """The ServingRuntime named by `spec.runtime_name`, running `spec.image`."""
    container = {
        "name": CONTAINER_NAME,
        "image": spec.image,
        "command": list(COMMAND),
        "args": runtime_arguments(),
        # As KServe's stock runtime: tensor-parallel workers start fresh, not forked from the API server.
        "env": [{"name": "VLLM_WORKER_MULTIPROC_METHOD", "value": "spawn"}],
        "ports": [{"name": "http1", "containerPort": PORT, "protocol": "TCP"}],
        # vLLM answers only once the weights are loaded; /v1/models lists the model from then on.
        "startupProbe": probe("/health", 10, max(spec.startup_seconds // 10, 1)),
        "readinessProbe": probe("/v1/models", 10, 3),
        "livenessProbe": probe("/health", 30, 3),
        "securityContext": dict(CONTAINER_SECURITY),
    }
    # vLLM's tensor-parallel workers exchange activations through /dev/shm.
    container["volumeMounts"], volumes = writable_volumes(spec, shared_memory=True)
    metadata: dict = {"name": spec.runtime_name}
    if spec.namespace:
        metadata["namespace"] = spec.namespace
    metadata["labels"] = {"app.kubernetes.io/name": "s1-serve", **PART_OF}
    return {
        "apiVersion": RUNTIME_API_VERSION,
        "kind": KIND,
        "metadata": metadata,
        "spec": {
            "annotations": {"prometheus.kserve.io/port": str(PORT), "prometheus.kserve.io/path": "/metrics"},
            # Chosen by name only: never auto-selected for other vLLM InferenceServices.
            "supportedModelFormats": [{"name": VLLM_MODEL_FORMAT, "version": "1", "autoSelect": False}],
            "containers": [container],
            "volumes": volumes,
        },
    }
