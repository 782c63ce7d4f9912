"""Human output: rich on stderr, never markup-parsed, so paths print as-is.
Stdout is kept for what scripts parse (``--json``).

Names and text from a dist folder, a manifest or a config may be hostile;
this console applies the one rule of relbuild.system.escaping to everything it
prints: control characters escaped in every string, no newline inside a
table cell or a title, no markup, no emoji codes, no highlighting.
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from relbuild.system.escaping import escape, shown

if TYPE_CHECKING:
    from rich.text import Text


class SafeConsole(Console):
    """A console that escapes control characters in every string it renders
    (messages, table cells, titles): the one place, so no caller can forget."""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        return super().render_str(escape(text), **kwargs)


class SafeTable(Table):
    """A table whose cells and title stay on one line each: a newline from
    input is shown as ``\\n`` instead of starting a line of its own."""

    def add_row(self, *renderables: Any, **kwargs: Any) -> None:
        super().add_row(*(shown(r) if isinstance(r, str) else r for r in renderables), **kwargs)


err = SafeConsole(
    stderr=True,
    markup=False,
    highlight=False,
    emoji=False,
    # A message is never folded by rich: a folded line could begin with text
    # from input (a padded path), which would read as a line of relbuild's.
    # The terminal wraps long lines; a CI log keeps them whole.
    soft_wrap=True,
    # Tables: CI logs are read in wide windows; do not fold paths at 80 columns.
    width=None if sys.stderr.isatty() else 160,
)


def in_ci() -> bool:
    return bool(os.environ.get("CI")) or not sys.stderr.isatty()


def print_json(data: BaseModel | dict[str, Any] | list[Any]) -> None:
    """Machine output on stdout: sorted keys, stable across runs; control
    characters in strings are JSON escapes, so the output is terminal-safe."""
    obj = data.model_dump(mode="json", by_alias=True) if isinstance(data, BaseModel) else data
    sys.stdout.write(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=True) + "\n")
    sys.stdout.flush()


def table(title: str, columns: list[str]) -> Table:
    t = SafeTable(title=shown(title), title_justify="left", show_lines=False, pad_edge=False)
    for col in columns:
        t.add_column(col, overflow="fold")
    return t
