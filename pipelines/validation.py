"""Offline validation of PyTorchJob and InferenceService objects against their upstream CRDs.

Usage: python -m pipelines.validation --crd-dir ../shared/crds OBJECTS.yaml...  (exit 1 on any error)

The API server validates custom resources with the CRD's `openAPIV3Schema` and prunes unknown
fields silently; here unknown fields are errors instead (`additionalProperties: false` wherever
`properties` is given and `x-kubernetes-preserve-unknown-fields` is not set), so a typo such as
`nprocPerNod` fails a test rather than vanishing on the cluster. The rules the training
operator's webhook adds on top of the schema are checked by `pytorchjob_webhook_errors`.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

import yaml

# The upstream CRD file for each kind checked here, as named in kubeflow/trainer and kserve/kserve.
CRD_FILES = {
    "PyTorchJob": "kubeflow.org_pytorchjobs.yaml",
    "InferenceService": "serving.kserve.io_inferenceservices.yaml",
}
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
    """KServe's expectations for a custom predictor that its CRD schema does not state."""
    errors = []
    predictor = (service.get("spec") or {}).get("predictor") or {}
    containers = predictor.get("containers") or []
    if len(containers) != 1 or containers[0].get("name") != "kserve-container":
        errors.append("spec.predictor.containers: exactly one container named 'kserve-container' is required")
    low, high = predictor.get("minReplicas", 1), predictor.get("maxReplicas", 1)
    if isinstance(low, int) and isinstance(high, int) and low > high:
        errors.append(f"spec.predictor: minReplicas {low} > maxReplicas {high}")
    return errors


def validation_errors(obj: dict, crd_dir: str | Path) -> list[str]:
    """Schema and admission-rule errors of a PyTorchJob or InferenceService; [] for other kinds."""
    kind = obj.get("kind")
    if kind not in CRD_FILES:
        return []
    rules = pytorchjob_webhook_errors if kind == "PyTorchJob" else inferenceservice_rules_errors
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
