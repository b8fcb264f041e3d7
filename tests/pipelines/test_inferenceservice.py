"""The InferenceService for the s1 predictor: shape, schema (strict), KServe's rules, readiness logic."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from pipelines.images import image_for
from pipelines.inferenceservice import InferenceServiceSpec, build_inferenceservice, service_status
from pipelines.servingruntime import build_servingruntime
from pipelines.validation import inferenceservice_rules_errors, validation_errors
from tests.packaging.packaging_support import REPO

SPEC = InferenceServiceSpec(name="s1-32b", storage_uri="pvc://s1-data/runs/train-abc/train/model", gpus=2)


@pytest.fixture
def service() -> dict:
    return build_inferenceservice(SPEC)


def test_custom_predictor(service):
    assert service["apiVersion"] == "serving.kserve.io/v1beta1" and service["kind"] == "InferenceService"
    assert service["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Standard"
    predictor = service["spec"]["predictor"]
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (1, 2)
    (container,) = predictor["containers"]
    assert container["name"] == "kserve-container" and container["image"] == image_for("serve")
    assert {"name": "STORAGE_URI", "value": SPEC.storage_uri} in container["env"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert container["readinessProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": 8080}
    assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    # The startup probe covers loading 32B weights: ~30 minutes before the pod is restarted.
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 1800
    assert container["securityContext"]["runAsNonRoot"] and predictor["securityContext"] == {"fsGroup": 1000}


def test_serves_with_vllm_tensor_parallel_over_its_gpus(service):
    """The pod runs the same `s1 serve` the README shows: vLLM, TP = the GPUs it asks for."""
    from s1.cli import build_parser

    container = service["spec"]["predictor"]["containers"][0]
    args = build_parser().parse_args(container["command"][1:] + container["args"])
    assert (str(args.model), args.port, args.host, args.name) == ("/mnt/models", 8080, "0.0.0.0", "s1-32b")
    assert (args.engine, args.tensor_parallel_size) == ("vllm", 2)
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in service["spec"]["predictor"]["volumes"]}
    assert volumes[mounts["/dev/shm"]]["emptyDir"]["medium"] == "Memory"


def test_one_gpu_needs_no_shared_memory_and_cpu_picks_its_engine():
    one = build_inferenceservice(InferenceServiceSpec(name="s1", storage_uri="pvc://c/p", gpus=1))
    assert "/dev/shm" not in {mount["mountPath"] for mount in one["spec"]["predictor"]["containers"][0]["volumeMounts"]}
    assert "dshm" not in {volume["name"] for volume in one["spec"]["predictor"]["volumes"]}
    assert one["spec"]["predictor"]["containers"][0]["args"][-2:] == ["--tensor-parallel-size", "1"]
    cpu = build_inferenceservice(InferenceServiceSpec(name="s1", storage_uri="pvc://c/p", gpus=0))
    assert "--engine" not in cpu["spec"]["predictor"]["containers"][0]["args"]
    assert "nvidia.com/gpu" not in cpu["spec"]["predictor"]["containers"][0]["resources"]["limits"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"name": "a" * 46}, "≤ 45"),
        ({"storage_uri": "/mnt/models"}, "must be a URI"),
        ({"min_replicas": 3, "max_replicas": 2}, "min_replicas"),
        ({"gpus": 2, "tensor_parallel_size": 4}, "tensor_parallel_size 4 needs 1..2"),
    ],
)
def test_bad_specs_fail_early(kwargs, message):
    with pytest.raises(ValueError, match=message):
        InferenceServiceSpec(**{"name": "s1", "storage_uri": "pvc://c/p", **kwargs})


def test_valid_against_the_crd(service, crd_dir):
    assert validation_errors(service, crd_dir) == []
    assert inferenceservice_rules_errors(service) == []


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda s: s["spec"]["predictor"].update(minReplica=1), "'minReplica' was unexpected"),
        (lambda s: s["spec"]["predictor"].update(maxReplicas="2"), "is not of type 'integer'"),
        (lambda s: s["spec"]["predictor"]["containers"][0].update(port=8080), "'port' was unexpected"),
    ],
)
def test_schema_rejects_unknown_fields_and_wrong_types(service, crd_dir, mutate, expected):
    broken = copy.deepcopy(service)
    mutate(broken)
    assert any(expected in error for error in validation_errors(broken, crd_dir))


def test_kserve_rules(service):
    renamed = copy.deepcopy(service)
    renamed["spec"]["predictor"]["containers"][0]["name"] = "main"
    assert inferenceservice_rules_errors(renamed) == [
        "spec.predictor.containers: exactly one container named 'kserve-container' is required"
    ]


def _service(generation=2, observed=2, conditions=(), **status) -> dict:
    return {
        "metadata": {"generation": generation},
        "status": {"observedGeneration": observed, "conditions": list(conditions), **status},
    }


def test_ready_for_the_current_generation():
    ready = _service(conditions=[{"type": "PredictorReady", "status": "True"}, {"type": "Ready", "status": "True"}],
                     url="http://s1-32b.ns.example.com")  # fmt: skip
    assert service_status(ready).ready and service_status(ready).url == "http://s1-32b.ns.example.com"


def test_stale_ready_is_not_ready():
    stale = _service(generation=3, observed=2, conditions=[{"type": "Ready", "status": "True"}])
    status = service_status(stale)
    assert not status.ready and not status.failed and "generation 3" in status.reason


def test_waiting_names_the_unready_conditions():
    waiting = _service(conditions=[{"type": "PredictorReady", "status": "False", "reason": "MinimumReplicasUnavailable"},
                                   {"type": "Ready", "status": "Unknown"}])  # fmt: skip
    status = service_status(waiting)
    assert not status.ready and not status.failed
    assert "PredictorReady: MinimumReplicasUnavailable" in status.reason
    assert service_status({}).reason == "no status yet"


def test_failed_model_load_is_final():
    failed = _service(modelStatus={"transitionStatus": "BlockedByFailedLoad",
                                   "lastFailureInfo": {"reason": "ModelLoadFailed", "message": "CUDA out of memory"}})  # fmt: skip
    status = service_status(failed)
    assert status.failed and not status.ready and status.reason == "ModelLoadFailed: CUDA out of memory"


def test_vllm_predictor_names_its_runtime_and_asks_for_tensor_parallelism():
    spec = InferenceServiceSpec(name="s1-32b", storage_uri="pvc://s1-data/m", gpus=4, predictor="vllm")
    service = build_inferenceservice(spec)
    predictor = service["spec"]["predictor"]
    assert "containers" not in predictor and "volumes" not in predictor  # the runtime has them
    model = predictor["model"]
    assert (model["runtime"], model["modelFormat"], model["storageUri"]) == ("s1-32b-vllm", {"name": "vLLM"}, "pvc://s1-data/m")
    assert model["args"] == ["--tensor-parallel-size=4"] and model["resources"]["limits"]["nvidia.com/gpu"] == "4"
    assert predictor["nodeSelector"] and predictor["securityContext"] == {"fsGroup": 1000}
    assert inferenceservice_rules_errors(service) == []


@pytest.mark.parametrize(("fields", "message"), [
    ({"predictor": "triton"}, "predictor must be one of s1, vllm"),
    ({"predictor": "vllm", "gpus": 0}, "the vllm predictor needs GPUs"),
])
def test_predictor_choice_is_checked(fields, message):
    with pytest.raises(ValueError, match=message):
        InferenceServiceSpec(name="s1", storage_uri="pvc://c/p", **fields)


def test_kserve_renders_the_runtime_to_exactly_the_plugins_flags():
    """KServe renders the runtime's container with Go's text/template (checked against Go 1.19's:
    the chat template unescaped fails to parse); the emulation here gives the plugin's flags."""
    from pipelines.servingruntime import build_servingruntime, kserve_literal
    from pipelines.validation import render_placeholders
    from s1.vllm_plugin import stock_server_args

    spec = InferenceServiceSpec(name="s1-32b", storage_uri="pvc://c/p", predictor="vllm")
    (container,) = build_servingruntime(spec)["spec"]["containers"]
    started = render_placeholders(container, {"name": "s1-32b", "namespace": "s1"})
    assert started["args"] == ["--port=8080", "--served-model-name=s1-32b", "--model=/mnt/models", *stock_server_args()]
    assert kserve_literal("{{ x }} {%- y %}") == "{{`{{`}} x }} {%- y %}"
    with pytest.raises(ValueError, match="template action"):
        render_placeholders({"args": stock_server_args()}, {"name": "s1", "namespace": "s1"})


def _image_environment(dockerfile: Path) -> dict[str, str]:
    """The ENV a Dockerfile sets (`ENV KEY=VALUE \\` continuation lines)."""
    text = dockerfile.read_text().replace("\\\n", " ")
    pairs = (pair for line in text.splitlines() if line.startswith("ENV ") for pair in line[4:].split())
    return dict(pair.split("=", 1) for pair in pairs)


@pytest.mark.parametrize("predictor", ["s1", "vllm"])
@pytest.mark.parametrize("gpus", [1, 8])
def test_the_server_runs_on_a_read_only_root_with_its_home_and_caches_writable(predictor, gpus):
    """Both predictors' containers: read-only root filesystem, emptyDirs at the serve image's
    HOME and /tmp; every cache the image points its libraries to lies under one of them."""
    spec = InferenceServiceSpec(name="s1", storage_uri="pvc://c/p", gpus=gpus, predictor=predictor)
    if predictor == "vllm":
        pod = build_servingruntime(spec)["spec"]
    else:
        pod = build_inferenceservice(spec)["spec"]["predictor"]
    (container,) = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    writable = [mount["mountPath"] for mount in container["volumeMounts"] if "emptyDir" in volumes[mount["name"]]]
    for dockerfile in (REPO / "images" / "base-gpu" / "Dockerfile", REPO / "images" / "base-cpu" / "Dockerfile"):
        environment = _image_environment(dockerfile)
        caches = [value for key, value in environment.items()
                  if value.startswith("/") and (key == "HOME" or key.endswith(("_HOME", "_DIR", "_ROOT")))]
        assert len(caches) >= 6 and "/tmp" in writable, environment
        for path in caches:
            assert any(path == mount or path.startswith(mount + "/") for mount in writable), f"{dockerfile}: {path}"
