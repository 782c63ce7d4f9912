"""Human output: rich on stderr, never markup-parsed, so paths print as-is.
Stdout is kept for what scripts parse (``--json``)."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

err = Console(
    stderr=True,
    markup=False,
    highlight=False,
    # Logs in CI are read in wide windows; do not fold paths at 80 columns.
    width=None if sys.stderr.isatty() else 160,
)


def in_ci() -> bool:
    return bool(os.environ.get("CI")) or not sys.stderr.isatty()


def print_json(data: BaseModel | dict[str, Any] | list[Any]) -> None:
    """Machine output on stdout: sorted keys, stable across runs."""
    obj = data.model_dump(mode="json", by_alias=True) if isinstance(data, BaseModel) else data
    sys.stdout.write(json.dumps(obj, indent=2, sort_keys=True) + "\n")
    sys.stdout.flush()


def table(title: str, columns: list[str]) -> Table:
    t = Table(title=title, title_justify="left", show_lines=False, pad_edge=False)
    for col in columns:
        t.add_column(col, overflow="fold")
    return t
