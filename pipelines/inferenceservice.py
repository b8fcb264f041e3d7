"""An s1 model as a KServe InferenceService (serving.kserve.io/v1beta1), and deploying it.

Usage: s1 pipeline manifests   (renders manifests/predictors/*/ from these builders)

Two predictors (`InferenceServiceSpec.predictor`), both in Standard (raw Deployment) mode, so
no Knative is needed; KServe's storage initializer puts the storage URI (e.g.
``pvc://s1-data/runs/RUN/model``) at /mnt/models:
- "s1": a custom predictor container running ``s1 serve --model /mnt/models``: typed budget
  fields, KServe V1/V2 and s1's OpenAI routes; on GPUs vLLM, tensor parallel over every GPU.
- "vllm": stock vLLM's OpenAI server through a ServingRuntime of the service's own
  (`pipelines.servingruntime`) with s1's plugin; the InferenceService names that runtime and
  adds the tensor-parallel size to its arguments.
The pipeline's deploy step and the GitOps manifests are both these builders' output. `deploy`
creates or patches them and waits for Ready; `service_status` interprets what the API returns.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from pipelines.cluster import FS_GROUP, GPU_NODE_SELECTOR, GPU_RESOURCE, GPU_TOLERATIONS, PART_OF, toleration_objects
from pipelines.images import image_for
from pipelines.kube import DNS_LABEL, load_config

API_VERSION = "serving.kserve.io/v1beta1"
KIND = "InferenceService"
PLURAL = "inferenceservices"
# KServe's custom-predictor convention: the storage initializer and the agent look for it.
CONTAINER_NAME = "kserve-container"
MODEL_MOUNT = "/mnt/models"
PORT = 8080
PREDICTORS = ("s1", "vllm")
RUNTIME_API_VERSION = "serving.kserve.io/v1alpha1"
RUNTIME_PLURAL = "servingruntimes"
# The model format the vllm predictor names (its runtime supports it, without auto-selection).
VLLM_MODEL_FORMAT = "vLLM"
# The deploy step's Kubernetes API calls (API group, resource, verb), for the Role (pipelines.rbac):
# the InferenceService (both predictors), the vllm predictor's ServingRuntime (create or patch).
API_CALLS = [("serving.kserve.io", PLURAL, "create"), ("serving.kserve.io", PLURAL, "get"),
             ("serving.kserve.io", PLURAL, "patch"), ("serving.kserve.io", RUNTIME_PLURAL, "create"),
             ("serving.kserve.io", RUNTIME_PLURAL, "patch")]  # fmt: skip


@dataclass(frozen=True)
class InferenceServiceSpec:
    """Where the model is and what to run it on; defaults serve s1-32B on one 8-GPU node."""

    name: str
    storage_uri: str
    # "s1": s1 serve's own predictor; "vllm": stock vLLM's OpenAI server with s1's plugin.
    predictor: str = "s1"
    # None: no namespace in the object (the base manifest; kustomize sets the overlay's).
    namespace: str | None = None
    image: str = field(default_factory=lambda: image_for("serve"))
    gpus: int = 8
    # vLLM's tensor parallelism; None: every GPU the predictor asks for.
    tensor_parallel_size: int | None = None
    cpu: str = "32"
    memory: str = "256Gi"
    min_replicas: int = 1
    # Standard mode scales with an HPA; a replica is a whole 8-GPU node, so the ceiling is small.
    max_replicas: int = 2
    node_selector: dict[str, str] = field(default_factory=lambda: dict(GPU_NODE_SELECTOR))
    tolerations: tuple[tuple[str, str], ...] = GPU_TOLERATIONS
    service_account: str | None = None
    # Loading 64 GB of weights from the volume and capturing CUDA graphs takes minutes.
    startup_seconds: int = 1800
    # vLLM's tensor-parallel workers exchange activations through /dev/shm (64 MiB by default).
    shm_size: str = "32Gi"

    def __post_init__(self) -> None:
        if not DNS_LABEL.match(self.name) or len(self.name) > 45:
            # KServe derives Service/Deployment names from it: "<name>-predictor-..." must fit 63.
            raise ValueError(f"InferenceService name {self.name!r} must be a DNS-1123 label of ≤ 45 characters")
        if "://" not in self.storage_uri:
            raise ValueError(f"storage_uri {self.storage_uri!r} must be a URI such as pvc://CLAIM/path or s3://bucket/path")
        if not 0 <= self.min_replicas <= self.max_replicas or self.max_replicas < 1:
            raise ValueError(f"need 0 ≤ min_replicas ≤ max_replicas, max ≥ 1; got {self.min_replicas}, {self.max_replicas}")
        if self.gpus < 0:
            raise ValueError(f"gpus must be ≥ 0, got {self.gpus}")
        if self.predictor not in PREDICTORS:
            raise ValueError(f"predictor must be one of {', '.join(PREDICTORS)}, got {self.predictor!r}")
        if self.predictor == "vllm" and not self.gpus:
            raise ValueError("the vllm predictor needs GPUs (the serve image's vLLM is the CUDA build); "
                             "the s1 predictor serves on CPU with transformers")
        if self.tensor_parallel_size is not None and not 1 <= self.tensor_parallel_size <= max(self.gpus, 1):
            raise ValueError(f"tensor_parallel_size {self.tensor_parallel_size} needs 1..{self.gpus} GPUs")

    @property
    def tensor_parallel(self) -> int:
        return self.tensor_parallel_size or max(self.gpus, 1)

    @property
    def runtime_name(self) -> str:
        """The vllm predictor's ServingRuntime: one per service, deployed with it, so a pipeline
        run never changes the runtime another service (or Argo CD's) serves with."""
        return f"{self.name}-vllm"


def serve_arguments(spec: InferenceServiceSpec) -> list[str]:
    """`s1 serve`'s arguments in the pod: all interfaces, vLLM tensor parallel on GPUs."""
    arguments = ["--model", MODEL_MOUNT, "--port", str(PORT), "--host", "0.0.0.0", "--name", spec.name]
    if spec.gpus:
        arguments += ["--engine", "vllm", "--tensor-parallel-size", str(spec.tensor_parallel)]
    return arguments


def probe(path: str, period: int, failures: int) -> dict:
    """An HTTP probe on the predictor's port."""
    return {"httpGet": {"path": path, "port": PORT}, "periodSeconds": period, "timeoutSeconds": 5,
            "failureThreshold": failures}  # fmt: skip


# The container's security settings: the images run as uid 1000 without privileges, on a
# read-only root filesystem; what the server writes goes to the emptyDirs of `writable_volumes`.
CONTAINER_SECURITY = {"runAsNonRoot": True, "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                      "readOnlyRootFilesystem": True}  # fmt: skip
# The serve image's home, where every cache lives (images/base-*/Dockerfile: HF, torch, Triton,
# vLLM's cache and config), and scratch space (torch's compile cache, tempfiles): emptyDirs.
WRITABLE_DIRS = {"home": "/home/s1", "tmp": "/tmp"}


def writable_volumes(spec: InferenceServiceSpec, shared_memory: bool) -> tuple[list[dict], list[dict]]:
    """The server container's writable mounts and the pod's volumes behind them: its home and
    /tmp, and with `shared_memory` /dev/shm in memory (tensor-parallel workers' activations)."""
    volumes = [{"name": name, "emptyDir": {}} for name in WRITABLE_DIRS]
    mounts = [{"name": name, "mountPath": path} for name, path in WRITABLE_DIRS.items()]
    if shared_memory:
        volumes.append({"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": spec.shm_size}})
        mounts.append({"name": "dshm", "mountPath": "/dev/shm"})
    return mounts, volumes


def build_inferenceservice(spec: InferenceServiceSpec) -> dict:
    """The InferenceService as a plain dict with the API's camelCase keys."""
    limits = {"cpu": spec.cpu, "memory": spec.memory}
    if spec.gpus:
        limits[GPU_RESOURCE] = str(spec.gpus)
    # Requests equal limits: Guaranteed QoS, GPU pods are not the first evicted.
    resources = {"requests": dict(limits), "limits": limits}
    predictor: dict = {"minReplicas": spec.min_replicas, "maxReplicas": spec.max_replicas}
    if spec.node_selector:
        predictor["nodeSelector"] = dict(spec.node_selector)
    if spec.tolerations:
        predictor["tolerations"] = toleration_objects(spec.tolerations)
    if spec.service_account:
        predictor["serviceAccountName"] = spec.service_account
    # The images run as uid 1000: fsGroup keeps volumes it writes to (caches) writable.
    predictor["securityContext"] = {"fsGroup": FS_GROUP}
    if spec.predictor == "vllm":
        # The runtime holds the server's command, flags, probes and /dev/shm; KServe appends these args.
        predictor["model"] = {
            "modelFormat": {"name": VLLM_MODEL_FORMAT},
            "runtime": spec.runtime_name,
            "storageUri": spec.storage_uri,
            "args": [f"--tensor-parallel-size={spec.tensor_parallel}"],
            "resources": resources,
        }
    else:
        predictor.update(_s1_predictor(spec, resources))
    metadata: dict = {"name": spec.name}
    if spec.namespace:
        metadata["namespace"] = spec.namespace
    metadata["labels"] = {"app.kubernetes.io/name": "s1-serve", **PART_OF}
    metadata["annotations"] = {"serving.kserve.io/deploymentMode": "Standard"}
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata, "spec": {"predictor": predictor}}


def _s1_predictor(spec: InferenceServiceSpec, resources: dict) -> dict:
    """The s1 predictor's container and its writable volumes."""
    container = {
        "name": CONTAINER_NAME,
        "image": spec.image,
        "command": ["s1", "serve"],
        "args": serve_arguments(spec),
        "env": [{"name": "STORAGE_URI", "value": spec.storage_uri}],
        "ports": [{"name": "http1", "containerPort": PORT, "protocol": "TCP"}],
        "resources": resources,
        # The server answers only once the weights are loaded: the startup probe gives it time,
        # then readiness follows /v2/health/ready (503 until the model is ready), liveness /live.
        "startupProbe": probe("/v2/health/live", 10, max(spec.startup_seconds // 10, 1)),
        "readinessProbe": probe("/v2/health/ready", 10, 3),
        "livenessProbe": probe("/v2/health/live", 30, 3),
        "securityContext": dict(CONTAINER_SECURITY),
    }
    container["volumeMounts"], volumes = writable_volumes(spec, shared_memory=spec.tensor_parallel > 1)
    return {"volumes": volumes, "containers": [container]}


@dataclass(frozen=True)
class ServiceStatus:
    """Whether an InferenceService serves its current spec, and if not, why."""

    ready: bool
    failed: bool = False
    reason: str = ""
    url: str = ""


def service_status(service: dict) -> ServiceStatus:
    """Interpret an InferenceService object: Ready for its current generation, failed, or pending.

    A status from before the last update (observedGeneration behind metadata.generation) is not
    ready, however it reads; a failed model load or an invalid spec is final.
    """
    status = service.get("status") or {}
    generation = (service.get("metadata") or {}).get("generation")
    observed = status.get("observedGeneration")
    model = status.get("modelStatus") or {}
    if model.get("transitionStatus") in ("BlockedByFailedLoad", "InvalidSpec"):
        failure = model.get("lastFailureInfo") or {}
        reason = ": ".join(p for p in (failure.get("reason", model["transitionStatus"]), failure.get("message", "")) if p)
        return ServiceStatus(ready=False, failed=True, reason=reason)
    if generation is not None and observed is not None and observed < generation:
        return ServiceStatus(ready=False, reason=f"generation {generation} not yet observed ({observed})")
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    ready = conditions.get("Ready") or {}
    if str(ready.get("status")) == "True":
        return ServiceStatus(ready=True, url=status.get("url", ""))
    waiting = [c for c in conditions.values() if str(c.get("status")) != "True"]
    reason = "; ".join(
        f"{c.get('type')}: {c.get('reason') or c.get('message') or c.get('status')}" for c in waiting
    )
    return ServiceStatus(ready=False, reason=reason or "no status yet")


def deploy(spec: InferenceServiceSpec, timeout_seconds: float = 3600, poll_seconds: float = 10, log=print) -> dict:
    """Create the InferenceService (and the vllm predictor's ServingRuntime first), or patch them
    to this spec, then wait until the service is Ready."""
    from kubernetes import client

    from pipelines.servingruntime import build_servingruntime

    if not spec.namespace:
        raise ValueError("deploy needs the InferenceService's namespace")
    load_config()
    api = client.CustomObjectsApi()
    if spec.predictor == "vllm":
        _apply(api, RUNTIME_API_VERSION, RUNTIME_PLURAL, build_servingruntime(spec), log)
    _apply(api, API_VERSION, PLURAL, build_inferenceservice(spec), log)
    group, version = API_VERSION.split("/")
    deadline, last = time.monotonic() + timeout_seconds, None
    while True:
        status = service_status(api.get_namespaced_custom_object(group, version, spec.namespace, PLURAL, spec.name))
        if status != last:
            log(f"[{spec.name}] {'Ready ' + status.url if status.ready else status.reason}")
            last = status
        if status.ready:
            return {"name": spec.name, "namespace": spec.namespace, "url": status.url}
        if status.failed:
            raise RuntimeError(f"InferenceService {spec.namespace}/{spec.name} failed: {status.reason}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"InferenceService {spec.name} not Ready after {timeout_seconds:.0f} s: {status.reason}")
        time.sleep(poll_seconds)


def _apply(api, api_version: str, plural: str, body: dict, log) -> None:
    """Create a namespaced custom object, or patch the existing one to `body`."""
    from kubernetes.client.exceptions import ApiException

    group, version = api_version.split("/")
    namespace, name = body["metadata"]["namespace"], body["metadata"]["name"]
    try:
        api.create_namespaced_custom_object(group, version, namespace, plural, body)
        log(f"created {body['kind']} {namespace}/{name}")
    except ApiException as error:
        if error.status != 409:
            raise
        api.patch_namespaced_custom_object(group, version, namespace, plural, name, body)
        log(f"updated {body['kind']} {namespace}/{name}")
