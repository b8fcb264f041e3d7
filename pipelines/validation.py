"""Offline validation of PyTorchJob, TrainJob, InferenceService and ServingRuntime objects against upstream CRDs.

Usage: python -m pipelines.validation --crd-dir ../shared/crds OBJECTS.yaml...  (exit 1 on any error)

The API server validates custom resources with the CRD's `openAPIV3Schema` and prunes unknown
fields silently; here unknown fields are errors instead (`additionalProperties: false` wherever
`properties` is given and `x-kubernetes-preserve-unknown-fields` is not set), so a typo such as
`nprocPerNod` fails a test rather than vanishing on the cluster. The rules the operators'
webhooks add on top of the schema are checked by `pytorchjob_webhook_errors` (training operator
v1.9) and `trainjob_webhook_errors` (Trainer v2.3: its CEL name rule, the torch plugin's
reserved env, the JobSet plugin's runtimePatches rules, checked against the runtime's template);
`servingruntime_rules_errors` checks what KServe's controller needs of a runtime, including that
its container survives KServe's Go-template rendering of `{{.Name}}`-style placeholders.
"""

from __future__ import annotations

import json
import re
import sys
from functools import lru_cache
from pathlib import Path

import yaml

# The upstream CRD file for each kind checked here, as named in kubeflow/trainer and kserve/kserve.
CRD_FILES = {
    "PyTorchJob": "kubeflow.org_pytorchjobs.yaml",
    "TrainJob": "trainer.kubeflow.org_trainjobs.yaml",
    "InferenceService": "serving.kserve.io_inferenceservices.yaml",
    "ServingRuntime": "serving.kserve.io_servingruntimes.yaml",
}
# ClusterTrainingRuntimes whose template is at hand (kubeflow/trainer v2.3.0 charts/.../runtimes/).
RUNTIME_FILES = {"torch-distributed": "runtime-torch-distributed.helm.yaml"}
RFC1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
# Kubernetes' IsDomainPrefixedPath: a DNS subdomain, "/", then a non-empty path.
DOMAIN_PREFIXED_PATH = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/\S+$")
TORCH_RESERVED_ENV = ("PET_NNODES", "PET_NPROC_PER_NODE", "PET_NODE_RANK", "PET_MASTER_ADDR", "PET_MASTER_PORT")
# Fields the API server accepts on every object whatever the CRD's schema says about them.
_OBJECT_META = {"type": "object"}


def to_json_schema(node: object) -> object:
    """Convert an OpenAPI v3 schema (as used in CRDs) to a strict JSON Schema, recursively."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    schema = {key: to_json_schema(value) for key, value in node.items() if not key.startswith("x-kubernetes-")}
    if node.get("x-kubernetes-int-or-string"):
        schema.pop("type", None)
        schema["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable"):
        schema.pop("nullable")
        if isinstance(schema.get("type"), str):
            schema["type"] = [schema["type"], "null"]
    if "properties" in node and not node.get("x-kubernetes-preserve-unknown-fields") and "additionalProperties" not in node:
        schema["additionalProperties"] = False
    return schema


@lru_cache(maxsize=8)
def crd_schema(crd_path: str | Path, version: str | None = None) -> dict:
    """The strict JSON Schema of one served version of the CRD in `crd_path` (default: storage)."""
    # The C loader: the InferenceService CRD is ~40K lines (seconds in pure Python).
    crd = yaml.load(Path(crd_path).read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    versions = crd["spec"]["versions"]
    chosen = [v for v in versions if v["name"] == version] if version else [v for v in versions if v.get("storage")]
    if not chosen:
        names = ", ".join(v["name"] for v in versions)
        raise ValueError(f"{crd_path}: no version {version or '(storage)'} in {crd['metadata']['name']} (has {names})")
    schema = to_json_schema(chosen[0]["schema"]["openAPIV3Schema"])
    # metadata is validated by the API server itself (ObjectMeta), not by the CRD schema.
    schema.setdefault("properties", {})["metadata"] = _OBJECT_META
    return schema


def schema_errors(obj: dict, crd_path: str | Path) -> list[str]:
    """Every schema violation of `obj`, as "path: message", for the CRD version its apiVersion names."""
    import jsonschema

    version = obj.get("apiVersion", "").split("/")[-1] or None
    validator = jsonschema.Draft7Validator(crd_schema(str(crd_path), version))
    return [
        f"{'.'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path)))
    ]


def pytorchjob_webhook_errors(job: dict) -> list[str]:
    """The training operator's admission rules for PyTorchJob that the CRD schema does not state."""
    errors = []
    spec = job.get("spec") or {}
    replicas = spec.get("pytorchReplicaSpecs") or {}
    if not replicas:
        errors.append("spec.pytorchReplicaSpecs: at least one replica spec is required")
    for kind, replica in replicas.items():
        if kind not in ("Master", "Worker"):
            errors.append(f"spec.pytorchReplicaSpecs.{kind}: replica type must be Master or Worker")
        containers = (((replica or {}).get("template") or {}).get("spec") or {}).get("containers") or []
        if not any(c.get("name") == "pytorch" for c in containers):
            errors.append(f"spec.pytorchReplicaSpecs.{kind}: a container named 'pytorch' is required")
        for index, container in enumerate(containers):
            if not container.get("image"):
                errors.append(f"spec.pytorchReplicaSpecs.{kind}.template.spec.containers[{index}]: image is required")
    if "Master" in replicas and replicas["Master"].get("replicas", 1) != 1:
        errors.append("spec.pytorchReplicaSpecs.Master.replicas: must be 1")
    if spec.get("elasticPolicy") and "Worker" not in replicas:
        errors.append("spec.elasticPolicy: needs a Worker replica spec")
    return errors


def inferenceservice_rules_errors(service: dict) -> list[str]:
    """KServe's expectations for a predictor that its CRD schema does not state: a custom
    container named as KServe looks for it, or a model with a format and a storage URI."""
    errors = []
    predictor = (service.get("spec") or {}).get("predictor") or {}
    containers = predictor.get("containers") or []
    model = predictor.get("model")
    if model is not None:
        if containers:
            errors.append("spec.predictor: give a model (run by a ServingRuntime) or containers, not both")
        if not (model.get("modelFormat") or {}).get("name"):
            errors.append("spec.predictor.model.modelFormat.name: required to match a ServingRuntime")
        if not model.get("storageUri"):
            errors.append("spec.predictor.model.storageUri: required (the storage initializer fills /mnt/models)")
    elif len(containers) != 1 or containers[0].get("name") != "kserve-container":
        errors.append("spec.predictor.containers: exactly one container named 'kserve-container' is required")
    low, high = predictor.get("minReplicas", 1), predictor.get("maxReplicas", 1)
    if isinstance(low, int) and isinstance(high, int) and low > high:
        errors.append(f"spec.predictor: minReplicas {low} > maxReplicas {high}")
    return errors


# KServe renders a runtime's container (as JSON) with Go's text/template and the InferenceService's
# metadata (pkg/controller/v1beta1/inferenceservice/utils/utils.go ReplacePlaceholders). The
# actions used here: a metadata field, or a raw-string literal (how `{{` itself is written).
_TEMPLATE_ACTION = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_METADATA_FIELD = re.compile(r"^\s*\.(Name|Namespace)\s*$")
_RAW_STRING = re.compile(r"^\s*`([^`]*)`\s*$")


def render_placeholders(container: dict, metadata: dict) -> dict:
    """The container as KServe starts it for an InferenceService with `metadata` (name,
    namespace); ValueError for an action this emulation (and likely KServe) cannot render."""

    def action(match: re.Match) -> str:
        body = match.group(1)
        if field := _METADATA_FIELD.match(body):
            return json.dumps(metadata[field.group(1).lower()])[1:-1]
        if literal := _RAW_STRING.match(body):
            return literal.group(1)
        raise ValueError(f"template action {{{{{body}}}}} is not a metadata field or a literal")

    return json.loads(_TEMPLATE_ACTION.sub(action, json.dumps(container)))


def servingruntime_rules_errors(runtime: dict) -> list[str]:
    """What KServe's controller needs of a ServingRuntime beyond its schema: the container it
    merges the InferenceService's model into (by name), a model format, renderable placeholders."""
    errors = []
    spec = runtime.get("spec") or {}
    containers = spec.get("containers") or []
    if [c.get("name") for c in containers].count("kserve-container") != 1:
        errors.append("spec.containers: exactly one container named 'kserve-container' is required")
    if not spec.get("supportedModelFormats"):
        errors.append("spec.supportedModelFormats: an InferenceService's model format must match one")
    for index, container in enumerate(containers):
        try:
            render_placeholders(container, {"name": "check", "namespace": "check"})
        except ValueError as error:
            errors.append(f"spec.containers[{index}]: {error}")
    return errors


def runtime_containers(crd_dir: str | Path, runtime: str) -> dict[str, set[str]] | None:
    """Replicated job name -> container names of a ClusterTrainingRuntime we hold; None if unknown."""
    if runtime not in RUNTIME_FILES:
        return None
    # A Helm template: its `{{ }}` lines are chart labels, not part of the job template.
    text = "\n".join(line for line in (Path(crd_dir) / RUNTIME_FILES[runtime]).read_text().splitlines() if "{{" not in line)
    template = yaml.safe_load(text)["spec"]["template"]["spec"]
    return {
        job["name"]: {c["name"] for c in job["template"]["spec"]["template"]["spec"].get("containers", [])}
        for job in template["replicatedJobs"]
    }


def trainjob_webhook_errors(job: dict, crd_dir: str | Path) -> list[str]:
    """Trainer v2.3's rules for a TrainJob beyond its schema, as its admission webhook checks them."""
    errors = []
    name = (job.get("metadata") or {}).get("name") or ""
    if not RFC1035_LABEL.match(name) or len(name) > 63:
        errors.append(f"metadata.name {name!r}: must be an RFC 1035 label of at most 63 characters")
    spec = job.get("spec") or {}
    reserved = sorted({env.get("name") for env in (spec.get("trainer") or {}).get("env") or []} & set(TORCH_RESERVED_ENV))
    if reserved:
        errors.append(f"spec.trainer.env: must not set the torch plugin's reserved {reserved}")
    runtime = (spec.get("runtimeRef") or {}).get("name", "")
    containers = runtime_containers(crd_dir, runtime)
    for index, patch in enumerate(spec.get("runtimePatches") or []):
        where = f"spec.runtimePatches[{index}]"
        if not DOMAIN_PREFIXED_PATH.match(patch.get("manager") or ""):
            errors.append(f"{where}.manager {patch.get('manager')!r}: must be a domain-prefixed path (example.com/name)")
        replicated = ((((patch.get("trainingRuntimeSpec") or {}).get("template") or {}).get("spec") or {})
                      .get("replicatedJobs") or [])  # fmt: skip
        for job_patch in replicated:
            if containers is None:
                continue
            if job_patch.get("name") not in containers:
                errors.append(f"{where}: replicated job {job_patch.get('name')!r} is not in runtime {runtime!r}")
                continue
            pod = (((job_patch.get("template") or {}).get("spec") or {}).get("template") or {}).get("spec") or {}
            for container in pod.get("containers") or []:
                if container.get("name") not in containers[job_patch["name"]]:
                    errors.append(f"{where}: container {container.get('name')!r} is not in runtime job {job_patch['name']!r}")
                elif container.get("env") and container["name"] == "node":
                    errors.append(f"{where}: env of the 'node' container belongs in spec.trainer.env")
    return errors


def validation_errors(obj: dict, crd_dir: str | Path) -> list[str]:
    """Schema and admission-rule errors of a PyTorchJob, TrainJob, InferenceService or ServingRuntime;
    [] for others."""
    kind = obj.get("kind")
    if kind not in CRD_FILES:
        return []
    rules = {
        "PyTorchJob": pytorchjob_webhook_errors,
        "TrainJob": lambda job: trainjob_webhook_errors(job, crd_dir),
        "InferenceService": inferenceservice_rules_errors,
        "ServingRuntime": servingruntime_rules_errors,
    }[kind]
    return schema_errors(obj, Path(crd_dir) / CRD_FILES[kind]) + rules(obj)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m pipelines.validation", description=__doc__.split("\n")[0])
    parser.add_argument("--crd-dir", type=Path, required=True, help="folder with the upstream CRD YAML files")
    parser.add_argument("objects", type=Path, nargs="+", help="YAML files (multi-document) to check")
    args = parser.parse_args(argv)
    failed = False
    for path in args.objects:
        for obj in yaml.safe_load_all(path.read_text()):
            for error in validation_errors(obj or {}, args.crd_dir):
                print(f"{path}: {obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}: {error}")
                failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
