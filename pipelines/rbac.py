"""The identity pipeline runs use, and exactly what it may do.

`s1 pipeline submit` starts runs as `SERVICE_ACCOUNT`. Two Roles bind to it:

- `s1-runner`: the Kubernetes API calls the s1 steps make (`STEP_API_CALLS`, declared by the
  code that makes them; a test records the calls really made and compares).
- `s1-kfp-runtime`: what KFP's own driver and launcher and Argo's executor call in the run's
  namespace once the run's pods use this account instead of KFP's default runner (read in KFP
  2.17.0's sources and Argo's docs, not run here): the pod reads itself (driver
  `backend/src/v2/driver/k8s.go`, launcher `backend/src/v2/component/launcher_v2.go`), the
  `kfp-launcher` ConfigMap (`backend/src/v2/config/env.go`), the artifact store's Secret
  (`backend/src/v2/objectstore/object_store.go`), and Argo's executor reports outputs as
  `workflowtaskresults` (argo-workflows `docs/workflow-rbac.md`: "the minimum for the executor").
"""

from __future__ import annotations

from pipelines import inferenceservice, launchers
from pipelines.cluster import SERVICE_ACCOUNT

# (API group, resource, verb) per pipeline step that talks to the Kubernetes API.
STEP_API_CALLS = {"train": launchers.API_CALLS, "deploy": inferenceservice.API_CALLS}
KFP_RUNTIME_RULES = [
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},
    {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["kfp-launcher"], "verbs": ["get"]},
    # The artifact store's Secret is named by kfp-launcher's config (mlpipeline-minio-artifact by default).
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]},
    {"apiGroups": ["argoproj.io"], "resources": ["workflowtaskresults"], "verbs": ["create", "patch"]},
]
STEPS_ROLE = "s1-runner"
KFP_ROLE = "s1-kfp-runtime"


def step_rules() -> list[dict]:
    """Role rules granting every step's calls and nothing else, one rule per resource."""
    verbs: dict[tuple[str, str], set[str]] = {}
    for calls in STEP_API_CALLS.values():
        for group, resource, verb in calls:
            verbs.setdefault((group, resource), set()).add(verb)
    return [
        {"apiGroups": [group], "resources": [resource], "verbs": sorted(found)}
        for (group, resource), found in sorted(verbs.items())
    ]


def service_account() -> dict:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": SERVICE_ACCOUNT}}


def role(name: str, rules: list[dict]) -> dict:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": name}, "rules": rules}


def role_binding(role_name: str) -> dict:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": role_name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role_name},
        "subjects": [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT}],
    }


def rbac_objects() -> list[dict]:
    """The ServiceAccount, both Roles and their RoleBindings."""
    return [
        service_account(),
        role(STEPS_ROLE, step_rules()),
        role_binding(STEPS_ROLE),
        role(KFP_ROLE, KFP_RUNTIME_RULES),
        role_binding(KFP_ROLE),
    ]
