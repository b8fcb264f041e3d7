"""List-valued command-line flags that accumulate, for every `s1` command.

argparse's ``nargs="+"`` keeps only the last occurrence of a repeated flag (``--pool a --pool b``
curated only ``b``, silently) and ``action="append"`` takes one value per flag. A flag added with
``add_list_argument`` takes both forms, ``--pool a --pool b`` and ``--pool a b`` (and, with
``commas``, ``--budgets 512,1024``); it is None when not given, so config-file values still apply.
"""

from __future__ import annotations

import argparse
from typing import Any, Callable


class _Accumulate(argparse.Action):
    def __init__(self, option_strings: list[str], dest: str, item_type: Callable[[str], Any] = str,
                 commas: bool = False, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, **kwargs)
        self.item_type, self.commas = item_type, commas

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        items = list(getattr(namespace, self.dest, None) or [])
        for value in values:
            for part in value.split(",") if self.commas else [value]:
                if not part.strip():
                    continue
                try:
                    items.append(self.item_type(part.strip()))
                except (TypeError, ValueError) as error:
                    raise argparse.ArgumentError(self, f"invalid value {part!r}: {error}") from None
        setattr(namespace, self.dest, items)


def add_list_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup, *flags: str,
                      item_type: Callable[[str], Any] = str, commas: bool = False,
                      **kwargs: Any) -> argparse.Action:
    """Add a flag whose values accumulate over repetitions (see the module docstring)."""
    return parser.add_argument(*flags, nargs="+", action=_Accumulate, item_type=item_type,
                               commas=commas, default=kwargs.pop("default", None), **kwargs)
