"""Container image names for the pipeline components: the one place they are spelled.

Each image is built from `images/<image>/Dockerfile` and named `<registry>/s1-<image>:<tag>`;
the tag defaults to the package version so a compiled spec always points at the images built
from the same source. `train` is what the training pods run (CUDA, DeepSpeed, flash-attn);
`launch` is the pipeline's train step, which only submits and watches that job. The images that
need a GPU on the cluster have a CPU flavour built from the same Dockerfile over the CPU base,
tagged `<tag>-cpu`: what `s1 pipeline run-local --runner docker` runs on a laptop.
"""

from __future__ import annotations

import s1

REGISTRY = "ghcr.io/s1-kubeflow"
COMPONENTS = ("curate", "launch", "train", "evaluate", "serve", "deploy")
# Their cluster images are CUDA builds (images/base-gpu); the rest are CPU images already.
GPU_COMPONENTS = ("train", "evaluate", "serve")
CPU_FLAVOUR_SUFFIX = "-cpu"


def image_for(component: str, tag: str | None = None, registry: str = REGISTRY) -> str:
    """The image reference for `component`, e.g. ``ghcr.io/s1-kubeflow/s1-train:0.1.0``."""
    if component not in COMPONENTS:
        raise ValueError(f"unknown component {component!r}; expected one of {', '.join(COMPONENTS)}")
    return f"{registry.rstrip('/')}/s1-{component}:{tag or s1.__version__}"


def cpu_image_for(component: str, tag: str | None = None, registry: str = REGISTRY) -> str:
    """The image that runs `component` without a GPU: its CPU flavour, else its own image."""
    tag = tag or s1.__version__
    return image_for(component, tag + CPU_FLAVOUR_SUFFIX if component in GPU_COMPONENTS else tag, registry)
