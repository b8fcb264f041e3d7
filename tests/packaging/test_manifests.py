"""Every overlay renders offline; the base and the predictor components are what the Python builders
render and the overlays only patch them; every object validates strictly (Kubernetes OpenAPI for
core kinds, the upstream CRDs plus admission rules for InferenceService, ServingRuntime,
PyTorchJob and TrainJob); the objects agree with each other, with the images, with `s1 serve` and
with KServe's stock vLLM runtime; the validators reject bad input."""

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


def predictor_of(overlay: str) -> str:
    """Which predictor component (manifests/predictors/<name>) an overlay adds to the base."""
    kustomization = yaml.safe_load((REPO / "manifests" / "overlays" / overlay / "kustomization.yaml").read_text())
    (component,) = kustomization["components"]
    return Path(component).name


S1_OVERLAYS = [overlay for overlay in OVERLAYS if predictor_of(overlay) == "s1"]
VLLM_OVERLAYS = [overlay for overlay in OVERLAYS if predictor_of(overlay) == "vllm"]


def storage_uri(service: dict) -> str:
    """Where the predictor's model comes from: the s1 container's STORAGE_URI or the model's storageUri."""
    predictor = service["spec"]["predictor"]
    if "model" in predictor:
        return predictor["model"]["storageUri"]
    return {env["name"]: env["value"] for env in predictor_container(service)["env"]}["STORAGE_URI"]


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
    roles = {obj["metadata"]["name"] for obj in of_kind(objects, "Role")}
    accounts = {obj["metadata"]["name"] for obj in of_kind(objects, "ServiceAccount")}
    bound = set()
    for binding in of_kind(objects, "RoleBinding"):
        assert binding["roleRef"]["apiGroup"] == "rbac.authorization.k8s.io" and binding["roleRef"]["kind"] == "Role"
        assert binding["roleRef"]["name"] in roles
        bound.add(binding["roleRef"]["name"])
        for subject in binding["subjects"]:
            assert subject["kind"] == "ServiceAccount" and subject["name"] in accounts
            assert subject["namespace"] in namespaces
    assert bound == roles, "every Role is bound to the pipeline's service account"
    claims = {obj["metadata"]["name"]: obj for obj in of_kind(objects, "PersistentVolumeClaim")}
    service = inference_service(objects)
    storage = storage_uri(service)
    assert storage.startswith("pvc://"), storage
    if "model" in service["spec"]["predictor"]:  # the runtime it names is here and serves its format
        model = service["spec"]["predictor"]["model"]
        runtimes = {obj["metadata"]["name"]: obj for obj in of_kind(objects, "ServingRuntime")}
        assert model["runtime"] in runtimes, f"{overlay}: runtime {model['runtime']!r} not in {sorted(runtimes)}"
        formats = {f["name"] for f in runtimes[model["runtime"]]["spec"]["supportedModelFormats"]}
        assert model["modelFormat"]["name"] in formats
    claim = storage.removeprefix("pvc://").split("/", 1)[0]
    assert claim in claims, f"{overlay}: STORAGE_URI names PVC {claim!r}; the overlay has {sorted(claims)}"
    assert claims[claim]["spec"]["accessModes"] == ["ReadWriteMany"], "multi-node training writes it from every pod"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_roles_are_least_privilege(overlay: str, rendered: dict) -> None:
    """The steps' Role grants exactly the calls the steps declare (tests/pipelines/test_rbac.py
    checks those against the calls really made); no Role has a wildcard."""
    from pipelines.cluster import SERVICE_ACCOUNT
    from pipelines.rbac import STEP_API_CALLS, STEPS_ROLE

    roles = {role["metadata"]["name"]: role for role in of_kind(rendered[overlay], "Role")}
    for role in roles.values():
        for rule in role["rules"]:
            assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"], f"wildcard in {rule}"
    granted = {
        (group, resource, verb)
        for rule in roles[STEPS_ROLE]["rules"]
        for group in rule["apiGroups"] for resource in rule["resources"] for verb in rule["verbs"]
    }  # fmt: skip
    assert granted == {call for calls in STEP_API_CALLS.values() for call in calls}
    assert {obj["metadata"]["name"] for obj in of_kind(rendered[overlay], "ServiceAccount")} == {SERVICE_ACCOUNT}


@pytest.mark.parametrize("overlay", S1_OVERLAYS)
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
    flags = dict(zip(container["args"][0::2], container["args"][1::2]))
    mounts = {mount["mountPath"]: mount["name"] for mount in container.get("volumeMounts", [])}
    if int(flags["--tensor-parallel-size"]) > 1:  # TP workers exchange activations through /dev/shm
        volumes = {volume["name"]: volume for volume in predictor["volumes"]}
        assert volumes[mounts["/dev/shm"]]["emptyDir"]["medium"] == "Memory"
    else:
        assert "/dev/shm" not in mounts


def test_dev_is_one_small_gpu_and_prod_is_32b_on_eight(rendered: dict) -> None:
    dev, prod = (inference_service(rendered[name]) for name in ("dev", "prod"))
    gpus = {name: int(predictor_container(s)["resources"]["limits"]["nvidia.com/gpu"]) for name, s in (("dev", dev), ("prod", prod))}
    assert gpus == {"dev": 1, "prod": 8}
    assert (dev["spec"]["predictor"]["minReplicas"], dev["spec"]["predictor"]["maxReplicas"]) == (1, 1)
    assert prod["spec"]["predictor"]["maxReplicas"] > prod["spec"]["predictor"]["minReplicas"] >= 1
    assert dev["metadata"]["namespace"] != prod["metadata"]["namespace"]


@pytest.mark.parametrize("overlay", S1_OVERLAYS)
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
    docs = list(yaml.safe_load_all(compiled.read_text()))
    images = [image for doc in docs for image in image_values(doc)]
    assert images, f"{compiled}: no executor images"
    # An image a task's output chooses while the pipeline runs (the curate step: CPU or GPU) is
    # one of the constant `*_image` arguments that task is given.
    chosen = [image for image in images if image.startswith("{{$.inputs.parameters[")]
    candidates = [value for doc in docs for value in image_arguments(doc)]
    assert not chosen or candidates, f"{compiled}: images chosen at run time from no constant image argument"
    for image in images + candidates:
        if image not in chosen:
            dockerfile_for(image)


def image_arguments(node: object) -> list[str]:
    """Constant values of task arguments named `*_image` anywhere in a compiled pipeline."""
    if isinstance(node, dict):
        found = [value["runtimeValue"]["constant"] for key, value in node.items()
                 if key.endswith("_image") and isinstance(value, dict) and "constant" in value.get("runtimeValue", {})]
        return found + [image for value in node.values() for image in image_arguments(value)]
    if isinstance(node, list):
        return [image for item in node for image in image_arguments(item)]
    return []


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


@pytest.mark.parametrize("overlay", VLLM_OVERLAYS)
def test_vllm_runtime_runs_kserves_stock_server_with_s1s_plugin(overlay: str, rendered: dict, crd_dir: Path) -> None:
    """KServe's own vLLM runtime's command and conventions (model at /mnt/models, port 8080, the
    InferenceService's name as the served model), then exactly s1's plugin flags once KServe has
    rendered the `{{...}}` placeholders; tensor parallel over the GPUs the service asks for."""
    from pipelines.validation import render_placeholders
    from s1.vllm_plugin import stock_server_args

    stock = yaml.safe_load((crd_dir / "kserve-vllmserver.runtime.yaml").read_text())["spec"]["containers"][0]
    (runtime,) = of_kind(rendered[overlay], "ServingRuntime")
    (container,) = runtime["spec"]["containers"]
    service = inference_service(rendered[overlay])
    assert (container["name"], container["command"]) == (stock["name"], stock["command"])
    assert container["readinessProbe"]["httpGet"] == stock["readinessProbe"]["httpGet"]
    started = render_placeholders(container, service["metadata"])
    assert started["args"] == [arg.replace("{{.Name}}", "s1") for arg in stock["args"]] + stock_server_args()
    model = service["spec"]["predictor"]["model"]
    assert model["args"] == [f"--tensor-parallel-size={model['resources']['limits']['nvidia.com/gpu']}"]
    volumes = {volume["name"]: volume for volume in runtime["spec"]["volumes"]}
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == "/dev/shm"]
    assert volumes[mount["name"]]["emptyDir"]["medium"] == "Memory"


def test_the_vllm_overlay_is_prod_on_another_predictor(rendered: dict) -> None:
    """prod-vllm and prod differ only in how the predictor runs: same objects otherwise, same
    service name, namespace, model, GPUs, replicas and scaling."""
    prod, other = rendered["prod"], rendered["prod-vllm"]
    shared = lambda objects: [o for o in objects if o["kind"] not in ("InferenceService", "ServingRuntime")]  # noqa: E731
    assert shared(prod) == shared(other)
    served, stock = (inference_service(objects) for objects in (prod, other))
    assert served["metadata"] == stock["metadata"]
    assert storage_uri(served) == storage_uri(stock)
    assert predictor_container(served)["resources"] == stock["spec"]["predictor"]["model"]["resources"]
    unchanged = ("minReplicas", "maxReplicas", "scaleMetric", "scaleTarget", "nodeSelector", "tolerations", "securityContext")
    assert {k: served["spec"]["predictor"].get(k) for k in unchanged} == {k: stock["spec"]["predictor"].get(k) for k in unchanged}


def test_training_jobs_the_pipeline_submits_validate_and_run_the_train_image(crd_dir: Path) -> None:
    from pipelines.pytorchjob import build_pytorchjob
    from pipelines.training_job import TrainingJobSpec
    from pipelines.trainjob import build_trainjob

    for job in (build_pytorchjob(TrainingJobSpec(name="s1-train-check")), build_trainjob(TrainingJobSpec(name="s1-train-check"))):
        assert validation_errors(job, crd_dir) == []
        for image in image_values(job):
            assert dockerfile_for(image) == REPO / "images" / "train" / "Dockerfile"


# --- one source: the base is the builders' output, the overlays only patch it -------------------


def test_base_and_predictors_are_rendered_from_the_builders() -> None:
    """Like the compiled pipeline spec: regenerate with `s1 pipeline manifests` when this fails."""
    from pipelines.manifests import MANIFESTS_DIR, manifest_files

    files = manifest_files()
    for folder in sorted({Path(name).parent for name in files}):
        kustomization = yaml.safe_load((MANIFESTS_DIR / folder / "kustomization.yaml").read_text())
        rendered = sorted(Path(name).name for name in files if Path(name).parent == folder)
        assert sorted(kustomization["resources"]) == rendered, f"manifests/{folder} lists exactly the rendered files"
    for name, text in files.items():
        assert (MANIFESTS_DIR / name).read_text() == text, f"manifests/{name} is stale: run `s1 pipeline manifests`"


def _patched_paths(overlay: str) -> dict[tuple[str, str], list[str]]:
    """(kind, name) -> JSON pointers the overlay's JSON 6902 patches touch."""
    folder = REPO / "manifests" / "overlays" / overlay
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    found: dict[tuple[str, str], list[str]] = {}
    for patch in kustomization.get("patches", []):
        operations = yaml.safe_load(patch["patch"] if "patch" in patch else (folder / patch["path"]).read_text())
        assert isinstance(operations, list), f"{overlay}: patches are JSON 6902 operations, so their paths are known"
        target = (patch["target"]["kind"], patch["target"]["name"])
        found.setdefault(target, []).extend(operation["path"] for operation in operations)
    return found


def _differences(left: object, right: object, path: str = "") -> list[str]:
    """JSON pointers where two objects differ (a whole subtree when only one side has it)."""
    if isinstance(left, dict) and isinstance(right, dict):
        return [d for key in sorted(set(left) | set(right), key=str)
                for d in (_differences(left.get(key), right.get(key), f"{path}/{key}")
                          if key in left and key in right else [f"{path}/{key}"])]  # fmt: skip
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        return [d for i, (a, b) in enumerate(zip(left, right)) for d in _differences(a, b, f"{path}/{i}")]
    return [] if left == right else [path or "/"]


def unpatched_differences(overlay: str, objects: list[dict]) -> list[str]:
    """Where the rendered objects differ from the builders' output (the base and the overlay's
    predictor component) other than where the overlay's patches point and what its namespace,
    labels and images transformers set."""
    from pipelines.manifests import manifest_files

    folders = {"base", f"predictors/{predictor_of(overlay)}"}
    base = {(o["kind"], o["metadata"]["name"]): o for name, text in manifest_files().items()
            if str(Path(name).parent) in folders for o in yaml.safe_load_all(text)}  # fmt: skip
    kustomization = yaml.safe_load((REPO / "manifests" / "overlays" / overlay / "kustomization.yaml").read_text())
    patched = _patched_paths(overlay)
    transformed = ["/metadata/namespace", "/metadata/labels", "/subjects/0/namespace"]
    retagged = {f"{entry['name']}:{entry['newTag']}" for entry in kustomization["images"]}
    found = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    problems = [f"{kind}/{name}: not in the base" for kind, name in set(found) - set(base)]
    problems += [f"{kind}/{name}: missing" for kind, name in set(base) - set(found)]
    for key in set(found) & set(base):
        allowed = transformed + patched.get(key, [])
        for difference in _differences(base[key], found[key]):
            if difference.endswith("/image") and _at(found[key], difference) in retagged:
                continue
            if not any(difference == p or difference.startswith(p + "/") for p in allowed):
                problems.append(f"{key[0]}/{key[1]}: differs at {difference}, which no patch targets")
    return problems


def _at(obj: object, pointer: str) -> object:
    for part in pointer.strip("/").split("/"):
        obj = obj[int(part)] if isinstance(obj, list) else obj[part]
    return obj


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlays_only_patch_the_builders_objects(overlay: str, rendered: dict) -> None:
    kustomization = yaml.safe_load((REPO / "manifests" / "overlays" / overlay / "kustomization.yaml").read_text())
    assert kustomization["resources"] == ["../../base"], f"{overlay}: resources other than the base"
    assert kustomization["components"] == [f"../../predictors/{predictor_of(overlay)}"], f"{overlay}: one predictor"
    assert unpatched_differences(overlay, rendered[overlay]) == []


def test_overlay_check_catches_hand_edits_and_extra_objects(rendered: dict) -> None:
    edited = copy.deepcopy(rendered["prod"])
    (service,) = of_kind(edited, "InferenceService")
    service["spec"]["predictor"]["containers"][0]["readinessProbe"]["httpGet"]["path"] = "/v1/models/s1"
    extra = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "hand-made"}}
    assert unpatched_differences("prod", edited + [extra]) == [
        "ConfigMap/hand-made: not in the base",
        "InferenceService/s1: differs at /spec/predictor/containers/0/readinessProbe/httpGet/path, which no patch targets",
    ]


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


def test_servingruntime_validation_rejects_what_kserve_would(rendered: dict, crd_dir: Path) -> None:
    (runtime,) = of_kind(rendered["prod-vllm"], "ServingRuntime")
    assert validation_errors(runtime, crd_dir) == []

    typo = copy.deepcopy(runtime)
    typo["spec"]["supportedModelFormat"] = typo["spec"].pop("supportedModelFormats")
    assert any("supportedModelFormat" in error for error in validation_errors(typo, crd_dir))

    unescaped = copy.deepcopy(runtime)  # a Jinja chat template as is: Go's template parser fails on it
    unescaped["spec"]["containers"][0]["args"][-1] = "{{ '<|im_start|>' + message['role'] }}"
    assert any("template action" in error for error in validation_errors(unescaped, crd_dir))

    misnamed = copy.deepcopy(runtime)
    misnamed["spec"]["containers"][0]["name"] = "vllm"
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
    objects = {obj["kind"]: obj for obj in rendered["dev"]}  # one object of each kind is enough here
    account = copy.deepcopy(objects["ServiceAccount"])
    account["automountServiceAccountTokens"] = False
    assert any("automountServiceAccountTokens" in error for error in kubernetes_errors(account))
    role = copy.deepcopy(objects["Role"])
    role["rules"][0]["verbs"] = "get"
    assert kubernetes_errors(role), "verbs must be a list"
    claim = copy.deepcopy(objects["PersistentVolumeClaim"])
    claim["spec"]["accessModes"] = "ReadWriteMany"
    assert kubernetes_errors(claim), "accessModes must be a list"
