"""Container image names for the pipeline components: the one place they are spelled.

Each component runs in its own image, built from `images/<component>/Dockerfile` and named
`<registry>/s1-<component>:<tag>`; the tag defaults to the package version so a compiled spec
always points at the images built from the same source.
"""

from __future__ import annotations

import s1

REGISTRY = "ghcr.io/s1-kubeflow"
COMPONENTS = ("curate", "train", "evaluate", "serve", "deploy")


def image_for(component: str, tag: str | None = None, registry: str = REGISTRY) -> str:
    """The image reference for `component`, e.g. ``ghcr.io/s1-kubeflow/s1-train:0.1.0``."""
    if component not in COMPONENTS:
        raise ValueError(f"unknown component {component!r}; expected one of {', '.join(COMPONENTS)}")
    return f"{registry.rstrip('/')}/s1-{component}:{tag or s1.__version__}"
