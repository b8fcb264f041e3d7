"""Run the training entry point on this machine: in-process, or under torchrun (CPU, gloo).

``nnodes`` > 1 starts one torchrun agent per node on 127.0.0.1 with node ranks 0..n-1, the same
static rendezvous the cluster's pods use, so the multi-node path runs without a cluster.
`worker_arguments` is the one spelling of the per-rank command (and of overrides on a command
line) that this launcher and the cluster job builders in `pipelines/` share.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from s1.train.config import load_recipe
from s1.train.run import SUMMARY_FILE, prepare_data, resolve_model

log = logging.getLogger(__name__)


class LaunchError(RuntimeError):
    """A torchrun agent failed; the message has every agent's exit code."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def override_text(value: Any) -> str:
    """An override value as `--set key=VALUE` text that `parse_overrides` reads back unchanged.

    Strings pass as they are; anything else is JSON (a YAML subset): None -> "null", never "None".
    """
    return value if isinstance(value, str) else json.dumps(value)


def worker_arguments(recipe: str | Path, data: str | Path, out: str | Path, overrides: dict[str, Any]) -> list[str]:
    """``-m s1.train.worker --recipe R --data D --out O [--set k=v ...]``: what torchrun runs per rank."""
    arguments = ["-m", "s1.train.worker", "--recipe", str(recipe), "--data", str(data), "--out", str(out)]
    for key, value in sorted(overrides.items()):
        if not key or "=" in key:
            raise ValueError(f"override key {key!r} must be a non-empty name without '='")
        arguments += ["--set", f"{key}={override_text(value)}"]
    return arguments


def torchrun_commands(
    recipe: str | Path,
    data: Path,
    out: Path,
    overrides: dict[str, Any],
    nproc_per_node: int,
    nnodes: int,
    master_port: int,
) -> list[list[str]]:
    """One ``torchrun -m s1.train.worker`` command per node."""
    return [
        [
            sys.executable, "-m", "torch.distributed.run",
            f"--nnodes={nnodes}", f"--nproc-per-node={nproc_per_node}", f"--node-rank={rank}",
            "--master-addr=127.0.0.1", f"--master-port={master_port}",
            *worker_arguments(recipe, data, out, overrides),
        ]  # fmt: skip
        for rank in range(nnodes)
    ]


def validate(recipe: str | Path, data: Path, overrides: dict[str, Any]) -> dict[str, Any]:
    """Load the recipe, build/resolve the model and check the data before any process starts.

    Returns the overrides with ``model`` resolved, so ranks do not each resolve it.
    """
    from transformers import AutoTokenizer

    config = load_recipe(recipe, overrides)
    model = resolve_model(config.model)
    _, report = prepare_data(config, data, AutoTokenizer.from_pretrained(model))
    log.info("data: %s", report)
    return {**overrides, "model": model}


def launch_local(
    recipe: str | Path,
    data: Path,
    out: Path,
    overrides: dict[str, Any] | None = None,
    nproc_per_node: int = 1,
    nnodes: int = 1,
    master_port: int | None = None,
) -> dict:
    """Train with ``nnodes`` x ``nproc_per_node`` processes; returns the run's summary."""
    overrides = {
        **(overrides or {}),
        "topology.nodes": nnodes,
        "topology.processes_per_node": nproc_per_node,
    }
    overrides = validate(recipe, Path(data), overrides)
    env = {**os.environ, **load_recipe(recipe, overrides).topology.env}
    commands = torchrun_commands(
        recipe, data, out, overrides, nproc_per_node, nnodes, master_port or free_port()
    )
    agents = [subprocess.Popen(command, env=env) for command in commands]
    codes = wait_all(agents)
    if any(codes):
        raise LaunchError(f"local training failed: torchrun exit codes {codes} (node ranks 0..{nnodes - 1})")
    return json.loads((Path(out) / SUMMARY_FILE).read_text())


def train_here(
    recipe: str | Path,
    data: Path,
    out: Path,
    overrides: dict[str, Any] | None = None,
    nproc_per_node: int = 1,
    nnodes: int = 1,
    master_port: int | None = None,
) -> dict:
    """Train on this machine: in this process when one process is asked for (no start-up cost),
    else under torchrun. The one place that choice is made; returns the run's summary."""
    if nproc_per_node < 1 or nnodes < 1:
        raise ValueError(f"nproc_per_node and nnodes must be >= 1, got {nproc_per_node} and {nnodes}")
    if nproc_per_node * nnodes == 1:
        from s1.train.run import train

        return train(recipe, Path(data), Path(out), overrides or None)
    return launch_local(recipe, data, out, overrides, nproc_per_node, nnodes, master_port)


def wait_all(agents: list[subprocess.Popen], poll_seconds: float = 0.5) -> list[int]:
    """Wait for every agent; when one fails, stop the others (they would wait on it for the
    whole collective timeout) and return all exit codes."""
    while any(agent.poll() is None for agent in agents):
        if any(agent.returncode not in (None, 0) for agent in agents):
            for agent in agents:
                if agent.poll() is None:
                    agent.terminate()
            for agent in agents:
                agent.wait()
            break
        time.sleep(poll_seconds)
    return [agent.returncode for agent in agents]
