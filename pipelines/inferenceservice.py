"""The s1 predictor as a KServe InferenceService (serving.kserve.io/v1beta1), and deploying it.

A custom predictor container runs ``s1 serve --model /mnt/models`` (KServe's storage
initializer puts `STORAGE_URI`, e.g. ``pvc://s1-data/runs/RUN/model``, at /mnt/models) in
Standard (raw Deployment) mode, so no Knative is needed. `deploy` creates or patches it and
waits for Ready; `service_status` interprets what the API returns.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from pipelines.images import image_for
from pipelines.kube import DNS_LABEL, GPU_RESOURCE, create_custom_object, load_config, resources, tolerations

API_VERSION = "serving.kserve.io/v1beta1"
KIND = "InferenceService"
PLURAL = "inferenceservices"
# KServe's custom-predictor convention: the storage initializer and the agent look for it.
CONTAINER_NAME = "kserve-container"
MODEL_MOUNT = "/mnt/models"
PORT = 8080


@dataclass(frozen=True)
class InferenceServiceSpec:
    """Where the model is and what to run it on; defaults serve s1-32B on one 8-GPU node."""

    name: str
    storage_uri: str
    namespace: str = "kubeflow-user"
    image: str = field(default_factory=lambda: image_for("serve"))
    gpus: int = 8
    cpu: str = "16"
    memory: str = "200Gi"
    min_replicas: int = 1
    max_replicas: int = 2
    node_selector: dict[str, str] = field(
        default_factory=lambda: {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}
    )
    tolerations: tuple[tuple[str, str], ...] = ((GPU_RESOURCE, "NoSchedule"),)
    service_account: str | None = None
    # Loading 32B weights from a PVC takes minutes; the startup probe allows this long.
    startup_seconds: int = 1800

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


def serve_command(name: str) -> list[str]:
    """The predictor's command: the same `s1 serve` as locally, on all interfaces in the pod."""
    return ["s1", "serve", "--model", MODEL_MOUNT, "--port", str(PORT), "--host", "0.0.0.0", "--name", name]


def build_inferenceservice(spec: InferenceServiceSpec) -> dict:
    """The InferenceService as a plain dict with camelCase keys (KServe SDK models, serialised)."""
    from kserve import models as kserve_models
    from kserve.api_client import ApiClient
    from kubernetes import client as k8s

    def probe(path: str, period: int, failures: int) -> k8s.V1Probe:
        return k8s.V1Probe(
            http_get=k8s.V1HTTPGetAction(path=path, port=PORT),
            period_seconds=period,
            failure_threshold=failures,
            timeout_seconds=5,
        )

    container = k8s.V1Container(
        name=CONTAINER_NAME,
        image=spec.image,
        command=serve_command(spec.name),
        env=[k8s.V1EnvVar(name="STORAGE_URI", value=spec.storage_uri)],
        ports=[k8s.V1ContainerPort(container_port=PORT, name="http1", protocol="TCP")],
        resources=resources(spec.cpu, spec.memory, spec.gpus),
        # KServe's routes: ready once the model has loaded; alive while the server runs.
        startup_probe=probe("/v2/health/live", 10, max(spec.startup_seconds // 10, 1)),
        readiness_probe=probe(f"/v1/models/{spec.name}", 10, 3),
        liveness_probe=probe("/v2/health/live", 30, 3),
    )
    predictor = kserve_models.V1beta1PredictorSpec(
        containers=[container],
        min_replicas=spec.min_replicas,
        max_replicas=spec.max_replicas,
        node_selector=dict(spec.node_selector) or None,
        tolerations=tolerations(spec.tolerations),
        service_account_name=spec.service_account,
    )
    service = kserve_models.V1beta1InferenceService(
        api_version=API_VERSION,
        kind=KIND,
        metadata=k8s.V1ObjectMeta(
            name=spec.name,
            namespace=spec.namespace,
            labels={"app.kubernetes.io/name": "s1-serve", "app.kubernetes.io/part-of": "s1"},
            annotations={"serving.kserve.io/deploymentMode": "Standard"},
        ),
        spec=kserve_models.V1beta1InferenceServiceSpec(predictor=predictor),
    )
    return ApiClient().sanitize_for_serialization(service)


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
    """Create the InferenceService, or patch it to this spec, then wait until it is Ready."""
    from kubernetes import client

    load_config()
    api = client.CustomObjectsApi()
    group, version = API_VERSION.split("/")
    body = build_inferenceservice(spec)
    if create_custom_object(api, API_VERSION, spec.namespace, PLURAL, body):
        log(f"created InferenceService {spec.namespace}/{spec.name}")
    else:
        api.patch_namespaced_custom_object(group, version, spec.namespace, PLURAL, spec.name, body)
        log(f"updated InferenceService {spec.namespace}/{spec.name}")
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
