"""The local pipeline in containers: kfp.local's DockerRunner, each component in its own image.

Usage: s1 pipeline run-local --runner docker --out runs/docker   (after make -C images build-cpu)

The runner talks to whatever `DOCKER_HOST` names (Docker, or podman's Docker-compatible socket:
`podman system service --time=0 unix:///tmp/podman.sock` and
`DOCKER_HOST=unix:///tmp/podman.sock`). It uses images present locally under their exact
references; components whose cluster image needs a GPU run their CPU flavour (`<tag>-cpu`, built
from the same Dockerfile over the CPU base). Containers see the run's folder and s1's cache at
the same paths as this machine, and run as this machine's user (group 0, as on OpenShift) so
what they write stays yours.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

from pipelines.images import cpu_image_for

IMAGE_PREFIX = "/s1-"
# An image the pipeline chooses while it runs (`set_container_image` from a task's output):
# kfp.local does not resolve it, so such a step runs in the image its component declares.
RUNTIME_CHOICE = "{{"


def executor_images(pipeline) -> dict[str, str]:
    """Executor name → image reference in a compiled pipeline (a kfp GraphComponent)."""
    executors = pipeline.component_spec.implementation.graph.deployment_spec["executors"]
    return {name: executor["container"]["image"] for name, executor in executors.items()}


def declared_images() -> dict[str, str]:
    """Executor name → the `base_image` its component declares (pipelines.components)."""
    from kfp.dsl.base_component import BaseComponent

    from pipelines import components

    return {
        f"exec-{value.component_spec.name}": value.component_spec.implementation.container.image
        for value in vars(components).values()
        if isinstance(value, BaseComponent) and value.component_spec.implementation.container is not None
    }


def with_images(pipeline, images: dict[str, str]):
    """A copy of `pipeline` whose executors named in `images` run the image given there."""
    swapped = copy.deepcopy(pipeline)
    executors = swapped.component_spec.implementation.graph.deployment_spec["executors"]
    for name in executors:
        if name in images:
            executors[name]["container"]["image"] = images[name]
    return swapped


def cpu_images(pipeline) -> dict[str, str]:
    """Executor name → the image that runs it without a GPU: the CPU flavour of its s1 image."""
    declared = declared_images()
    chosen = {}
    for name, image in executor_images(pipeline).items():
        if image.startswith(RUNTIME_CHOICE):
            image = declared[name]
        registry, _, rest = image.rpartition(IMAGE_PREFIX)
        component, _, tag = rest.partition(":")
        chosen[name] = cpu_image_for(component, tag, registry) if registry and tag else image
    return chosen


def missing_images(images: set[str]) -> list[str]:
    """The references in `images` that the engine behind DOCKER_HOST does not have locally."""
    import docker

    client = docker.from_env()
    try:
        present = {tag for image in client.images.list() for tag in image.tags}
    finally:
        client.close()
    return sorted(images - present)


def docker_runner(out: Path, cache: Path):
    """kfp.local's DockerRunner with the run folder and s1's cache mounted at their own paths."""
    from docker.types import Mount
    from kfp import local

    mounts = [Mount(target=str(path), source=str(path), type="bind") for path in (out.resolve(), cache.resolve())]
    return local.DockerRunner(
        mounts=mounts,
        # This machine's uid: outputs on the bind mounts stay the caller's; group 0 reaches the
        # image's group-writable home whatever the uid (the images' convention).
        user=f"{os.getuid()}:0",
        # The local models were built here into s1's cache; the containers find them there.
        environment={"S1_CACHE_DIR": str(cache.resolve())},
    )


def tolerate_removed_containers() -> None:
    """Podman 4.3 (Debian 12) answers 500 "no such container" where Docker answers 404 for a
    container its auto-remove just deleted. kfp.local runs every task with auto-remove and treats
    the 404 as "finished already"; a step that ends within a second or two (the curation
    placement) hits it on podman, so the docker SDK is taught to read that 500 as the 404."""
    import docker.api.client
    import docker.errors

    create = docker.errors.create_api_error_from_http_exception
    if getattr(docker.api.client.create_api_error_from_http_exception, "s1_tolerant", False):
        return

    def tolerant(error):
        response = error.response
        if response is not None and response.status_code == 500 and "no such container" in response.text:
            raise docker.errors.NotFound(error, response=response, explanation=response.text) from error
        create(error)

    tolerant.s1_tolerant = True
    docker.api.client.create_api_error_from_http_exception = tolerant


def prepare(pipeline, out: Path, cache: Path):
    """(runner, pipeline on CPU images); fails before anything runs if an image is missing."""
    tolerate_removed_containers()
    pipeline = with_images(pipeline, cpu_images(pipeline))
    missing = missing_images(set(executor_images(pipeline).values()))
    if missing:
        raise RuntimeError(
            f"images not found by the engine at DOCKER_HOST={os.environ.get('DOCKER_HOST', '(default)')}: "
            f"{', '.join(missing)}; build them with `make -C images build-cpu` (podman: DOCKER=podman)"
        )
    return docker_runner(out, cache), pipeline
