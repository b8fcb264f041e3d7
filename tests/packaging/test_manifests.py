"""Every overlay renders offline; every object validates strictly (Kubernetes OpenAPI for core
kinds, the upstream CRDs plus admission rules for InferenceService and PyTorchJob); the objects
agree with each other, with the images and with `s1 serve`; the validators reject bad input."""

from __future__ import annotations

import copy
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from tests.packaging.packaging_support import OVERLAYS, REPO, dockerfile_for, image_values, of_kind

from pipelines.validation import CRD_FILES, validation_errors

# The oldest Kubernetes that KServe 0.21 and the training operator v1.9 support in common.
KUBERNETES_VERSION = "1.31"
ROLE_RULES = {
    ("kubeflow.org", "pytorchjobs"): {"create", "get", "list", "watch", "patch", "delete"},
    ("serving.kserve.io", "inferenceservices"): {"create", "get", "list", "watch", "patch", "delete"},
    ("", "pods"): {"get", "list", "watch"},
    ("", "pods/log"): {"get"},
}


def kubernetes_errors(obj: dict) -> list[str]:
    """Errors of a core object against the strict Kubernetes OpenAPI schema (unknown fields too)."""
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{'.'.join(map(str, error.path))}: {error.message}"]
    return []


def inference_service(objects: list[dict]) -> dict:
    (service,) = of_kind(objects, "InferenceService")
    return service


def predictor_container(service: dict) -> dict:
    (container,) = service["spec"]["predictor"]["containers"]
    return container


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_core_objects_validate_strictly(overlay: str, rendered: dict) -> None:
    objects = rendered[overlay]
    assert {obj["kind"] for obj in objects} >= {
        "ServiceAccount", "Role", "RoleBinding", "PersistentVolumeClaim", "InferenceService"
    }
    for obj in objects:
        if obj["kind"] in CRD_FILES:
            continue
        # A kind with no schema (a CRD we hold no copy of) raises SchemaNotFoundError: it fails.
        errors = kubernetes_errors(obj)
        assert not errors, f"{overlay}: {obj['kind']}/{obj['metadata']['name']}: {errors}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_custom_resources_validate_against_the_upstream_crds(overlay: str, rendered: dict, crd_dir: Path) -> None:
    custom = [obj for obj in rendered[overlay] if obj["kind"] in CRD_FILES]
    assert custom, f"{overlay}: no InferenceService rendered"
    for obj in custom:
        errors = validation_errors(obj, crd_dir)
        assert not errors, f"{overlay}: {obj['kind']}/{obj['metadata']['name']}: {errors}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_objects_are_namespaced_together_and_reference_each_other(overlay: str, rendered: dict) -> None:
    objects = rendered[overlay]
    namespaces = {obj["metadata"].get("namespace") for obj in objects}
    assert len(namespaces) == 1 and None not in namespaces, f"{overlay}: one namespace for all, got {namespaces}"
    (binding,) = of_kind(objects, "RoleBinding")
    (role,) = of_kind(objects, "Role")
    accounts = {obj["metadata"]["name"] for obj in of_kind(objects, "ServiceAccount")}
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role["metadata"]["name"]}
    for subject in binding["subjects"]:
        assert subject["kind"] == "ServiceAccount" and subject["name"] in accounts
        assert subject["namespace"] in namespaces
    claims = {obj["metadata"]["name"]: obj for obj in of_kind(objects, "PersistentVolumeClaim")}
    storage = {env["name"]: env["value"] for env in predictor_container(inference_service(objects))["env"]}["STORAGE_URI"]
    assert storage.startswith("pvc://"), storage
    claim = storage.removeprefix("pvc://").split("/", 1)[0]
    assert claim in claims, f"{overlay}: STORAGE_URI names PVC {claim!r}; the overlay has {sorted(claims)}"
    assert claims[claim]["spec"]["accessModes"] == ["ReadWriteMany"], "multi-node training writes it from every pod"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_role_is_least_privilege(overlay: str, rendered: dict) -> None:
    (role,) = of_kind(rendered[overlay], "Role")
    granted = {}
    for rule in role["rules"]:
        assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"], f"wildcard in {rule}"
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                granted.setdefault((group, resource), set()).update(rule["verbs"])
    assert granted == ROLE_RULES


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_predictor_follows_kserve_conventions(overlay: str, rendered: dict) -> None:
    service = inference_service(rendered[overlay])
    predictor = service["spec"]["predictor"]
    container = predictor_container(service)
    assert service["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Standard"
    assert container["command"] == ["s1", "serve"]
    args = container["args"]
    flags = dict(zip(args[0::2], args[1::2]))
    assert flags["--model"] == "/mnt/models" and flags["--port"] == "8080" and flags["--host"] == "0.0.0.0"
    assert container["ports"][0]["containerPort"] == 8080
    assert container["readinessProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": 8080}
    assert container["livenessProbe"]["httpGet"] == {"path": "/v2/health/live", "port": 8080}
    assert container["startupProbe"]["httpGet"]["path"] == "/v2/health/live"
    resources = container["resources"]
    assert resources["requests"] == resources["limits"], "GPU pods: requests equal limits (Guaranteed QoS)"
    assert 1 <= predictor["minReplicas"] <= predictor["maxReplicas"]
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in predictor["volumes"]}
    assert volumes[mounts["/dev/shm"]]["emptyDir"]["medium"] == "Memory"


def test_dev_is_one_small_gpu_and_prod_is_32b_on_eight(rendered: dict) -> None:
    dev, prod = (inference_service(rendered[name]) for name in ("dev", "prod"))
    gpus = {name: int(predictor_container(s)["resources"]["limits"]["nvidia.com/gpu"]) for name, s in (("dev", dev), ("prod", prod))}
    assert gpus == {"dev": 1, "prod": 8}
    assert (dev["spec"]["predictor"]["minReplicas"], dev["spec"]["predictor"]["maxReplicas"]) == (1, 1)
    assert prod["spec"]["predictor"]["maxReplicas"] > prod["spec"]["predictor"]["minReplicas"] >= 1
    assert dev["metadata"]["namespace"] != prod["metadata"]["namespace"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_predictor_arguments_parse_with_the_real_cli(overlay: str, rendered: dict) -> None:
    from s1.cli import build_parser

    container = predictor_container(inference_service(rendered[overlay]))
    args = build_parser().parse_args(container["command"][1:] + container["args"])
    assert (args.command, str(args.model), args.port, args.host, args.name) == ("serve", "/mnt/models", 8080, "0.0.0.0", "s1")
    assert args.engine == "vllm", "the GPU predictor must not fall back to transformers"
    assert args.tensor_parallel_size == int(container["resources"]["limits"]["nvidia.com/gpu"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_image_is_built_here_with_a_pinned_tag(overlay: str, rendered: dict) -> None:
    images = image_values(rendered[overlay])
    assert images, f"{overlay}: no images rendered"
    for image in images:
        assert dockerfile_for(image) == REPO / "images" / "serve" / "Dockerfile"
    kustomization = yaml.safe_load((REPO / "manifests" / "overlays" / overlay / "kustomization.yaml").read_text())
    tags = {entry["name"]: entry["newTag"] for entry in kustomization["images"]}
    assert images == [f"ghcr.io/s1-kubeflow/s1-serve:{tags['ghcr.io/s1-kubeflow/s1-serve']}"], "the images: transformer sets the tag"


def test_compiled_pipeline_uses_only_images_built_here() -> None:
    compiled = REPO / "pipelines" / "s1_pipeline.yaml"
    if not compiled.exists():
        pytest.skip("pipelines/s1_pipeline.yaml is not compiled yet")
    images = [image for doc in yaml.safe_load_all(compiled.read_text()) for image in image_values(doc)]
    assert images, f"{compiled}: no executor images"
    for image in images:
        dockerfile_for(image)


def test_argocd_application_deploys_an_overlay_into_its_namespace(rendered: dict) -> None:
    application = yaml.safe_load((REPO / "manifests" / "argocd" / "application.yaml").read_text())
    assert (application["apiVersion"], application["kind"]) == ("argoproj.io/v1alpha1", "Application")
    source, destination = application["spec"]["source"], application["spec"]["destination"]
    overlay = Path(source["path"])
    assert overlay.parent == Path("manifests/overlays") and overlay.name in OVERLAYS, source["path"]
    assert source["repoURL"].startswith("https://") and source["targetRevision"]
    assert {obj["metadata"]["namespace"] for obj in rendered[overlay.name]} == {destination["namespace"]}
    assert application["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    (claim,) = of_kind(rendered[overlay.name], "PersistentVolumeClaim")
    options = claim["metadata"]["annotations"]["argocd.argoproj.io/sync-options"].split(",")
    assert {"Prune=false", "Delete=false"} <= set(options), "Argo CD must never delete the data volume"


def test_pytorchjob_the_pipeline_submits_validates_and_runs_the_train_image(crd_dir: Path) -> None:
    from pipelines.pytorchjob import TrainingJobSpec, build_pytorchjob

    job = build_pytorchjob(TrainingJobSpec(name="s1-train-check"))
    assert validation_errors(job, crd_dir) == []
    for image in image_values(job):
        assert dockerfile_for(image) == REPO / "images" / "train" / "Dockerfile"


# --- the validators must be able to fail -------------------------------------------------------


def test_crd_validation_rejects_unknown_fields_wrong_types_and_admission_violations(rendered: dict, crd_dir: Path) -> None:
    service = inference_service(rendered["dev"])
    assert validation_errors(service, crd_dir) == []

    typo = copy.deepcopy(service)
    predictor_container(typo)["imagePullPolicyy"] = "Always"
    assert any("imagePullPolicyy" in error for error in validation_errors(typo, crd_dir))

    wrong_type = copy.deepcopy(service)
    predictor_container(wrong_type)["ports"][0]["containerPort"] = "eighty"
    assert any("containerPort" in error for error in validation_errors(wrong_type, crd_dir))

    misnamed = copy.deepcopy(service)
    predictor_container(misnamed)["name"] = "server"
    assert any("kserve-container" in error for error in validation_errors(misnamed, crd_dir))


def test_pytorchjob_validation_rejects_unknown_fields_and_two_masters(crd_dir: Path) -> None:
    from pipelines.pytorchjob import TrainingJobSpec, build_pytorchjob

    job = build_pytorchjob(TrainingJobSpec(name="s1-train-check"))
    typo = copy.deepcopy(job)
    typo["spec"]["nprocPerNod"] = "8"
    assert any("nprocPerNod" in error for error in validation_errors(typo, crd_dir))
    masters = copy.deepcopy(job)
    masters["spec"]["pytorchReplicaSpecs"]["Master"]["replicas"] = 2
    assert any("Master" in error for error in validation_errors(masters, crd_dir))


def test_kubernetes_validation_rejects_unknown_fields_and_wrong_types(rendered: dict) -> None:
    objects = {obj["kind"]: obj for obj in rendered["dev"]}
    account = copy.deepcopy(objects["ServiceAccount"])
    account["automountServiceAccountTokens"] = False
    assert any("automountServiceAccountTokens" in error for error in kubernetes_errors(account))
    role = copy.deepcopy(objects["Role"])
    role["rules"][0]["verbs"] = "get"
    assert kubernetes_errors(role), "verbs must be a list"
    claim = copy.deepcopy(objects["PersistentVolumeClaim"])
    claim["spec"]["accessModes"] = "ReadWriteMany"
    assert kubernetes_errors(claim), "accessModes must be a list"
