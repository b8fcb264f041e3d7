"""Small pieces shared by the Kubernetes object builders and the code that talks to the API."""

from __future__ import annotations

import re

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def load_config() -> None:
    """In a pod, the service account's credentials; elsewhere, the user's kubeconfig."""
    from kubernetes import config

    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()


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
