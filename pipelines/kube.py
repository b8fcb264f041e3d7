"""Small pieces shared by the Kubernetes object builders and the code that talks to the API."""

from __future__ import annotations

import re

GPU_RESOURCE = "nvidia.com/gpu"
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def load_config() -> None:
    """In a pod, the service account's credentials; elsewhere, the user's kubeconfig."""
    from kubernetes import config

    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()


def resources(cpu: str, memory: str, gpus: int):
    """Requests equal to limits (Guaranteed QoS: GPU pods are not the ones to evict first)."""
    from kubernetes.client import V1ResourceRequirements

    limits = {"cpu": cpu, "memory": memory}
    if gpus:
        limits[GPU_RESOURCE] = str(gpus)
    return V1ResourceRequirements(requests=dict(limits), limits=limits)


def tolerations(taints: tuple[tuple[str, str], ...]):
    """Tolerate each (key, effect) taint whatever its value; None when there are none."""
    from kubernetes.client import V1Toleration

    return [V1Toleration(key=key, operator="Exists", effect=effect) for key, effect in taints] or None


def create_custom_object(api, api_version: str, namespace: str, plural: str, body: dict) -> bool:
    """Create `body`; False (and nothing changed) when an object of that name already exists."""
    from kubernetes.client.exceptions import ApiException

    group, version = api_version.split("/")
    try:
        api.create_namespaced_custom_object(group, version, namespace, plural, body)
    except ApiException as error:
        if error.status != 409:
            raise
        return False
    return True


def dns_label(text: str) -> str:
    """`text` as a DNS-1123 label (lowercase, a-z0-9 and '-', ≤ 63): a name Kubernetes accepts."""
    label = re.sub(r"[^a-z0-9-]+", "-", text.lower())[:63].strip("-")
    if not label:
        raise ValueError(f"{text!r} has no characters usable in a Kubernetes name")
    return label


def current_namespace(default: str = "default") -> str:
    """The pod's own namespace (in KFP multi-user mode, the user's profile), else `default`."""
    from pathlib import Path

    path = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
    return path.read_text().strip() if path.is_file() else default
