"""Print the project's requirement lines from pyproject.toml, base plus the named extras.

Usage: python images/pyproject_requirements.py [EXTRA ...] > requirements.txt

The Dockerfiles install the dependencies in a layer of their own, before the source is copied,
so editing `s1/` rebuilds seconds of image instead of gigabytes; pyproject.toml stays the one
place the requirements are written.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path


def requirements(pyproject: Path, extras: list[str]) -> list[str]:
    """The `dependencies` of `pyproject` followed by those of each extra, in file order."""
    project = tomllib.loads(pyproject.read_text())["project"]
    optional = project.get("optional-dependencies", {})
    unknown = [extra for extra in extras if extra not in optional]
    if unknown:
        raise SystemExit(f"{pyproject}: no extra {', '.join(unknown)} (has {', '.join(optional)})")
    return list(project["dependencies"]) + [line for extra in extras for line in optional[extra]]


def main(argv: list[str]) -> int:
    here = Path("pyproject.toml")
    pyproject = here if here.exists() else Path(__file__).resolve().parent.parent / "pyproject.toml"
    print("\n".join(requirements(pyproject, argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
