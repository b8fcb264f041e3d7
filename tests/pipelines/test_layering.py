"""The library (`s1/`) never depends on the Kubeflow glue (`pipelines/`): no import statement, no
import by name; the glue reaches the `s1` CLI only through entry points."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

S1 = Path(__file__).resolve().parents[2] / "s1"


def pipelines_references(source: str) -> list[tuple[int, str]]:
    """(line, what) for every import of `pipelines`, and every string naming a `pipelines` module
    (what importlib.import_module, __import__ or an entry point would load)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.split(".")[0] == "pipelines"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "pipelines":
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value == "pipelines" or node.value.startswith(("pipelines.", "pipelines:")):
                found.append((node.lineno, repr(node.value)))
    return found


def test_the_library_never_imports_pipelines():
    files = sorted(S1.rglob("*.py"))
    assert len(files) > 30, "scanning the wrong folder"
    offenders = [f"{path.relative_to(S1.parent)}:{line}: {what}" for path in files
                 for line, what in pipelines_references(path.read_text())]  # fmt: skip
    assert offenders == []


@pytest.mark.parametrize(
    "source",
    [
        "import pipelines.cluster",
        "from pipelines.pytorchjob import build_pytorchjob",
        "def f():\n    from pipelines import launchers",
        "import importlib\nimportlib.import_module('pipelines.cli')",
        "MODULES = ('s1.models.cli', 'pipelines.cli')",
    ],
)
def test_the_scan_finds_every_kind_of_reference(source):
    assert pipelines_references(source)


def test_cluster_launchers_and_the_pipeline_command_come_from_entry_points():
    from s1.cli import build_parser
    from s1.train.cli import cluster_launchers

    assert set(cluster_launchers()) == {"pytorchjob", "trainjob"}
    commands = build_parser()._subparsers._group_actions[0].choices
    assert "pipeline" in commands and "train" in commands
