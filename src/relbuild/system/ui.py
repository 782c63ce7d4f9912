"""Output for people, never markup-parsed, so paths print as-is.

Two consoles: ``out`` on stdout for a command's primary output (a plan, a
table, sizes, an inventory, which ``relbuild plan > plan.txt`` keeps), and
``err`` on stderr for progress and diagnostics. On a terminal, status words
and findings are in colour; ``NO_COLOR`` (any value) turns every escape code
off, ``FORCE_COLOR`` turns colour on where the stream is not a terminal. A
stream that is not a terminal gets plain lines, never folded at a width.

Names and text from a dist folder, a manifest or a config may be hostile;
this console applies the one rule of relbuild.system.escaping to everything it
prints: control characters escaped in every string, no newline inside a
table cell or a title, no markup, no emoji codes, no highlighting.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
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


UNFOLDED = 100_000
"""The width of a stream that is not a terminal: wide enough that no table
row is folded, so a pipe gets one record per line."""


def _console(stderr: bool) -> SafeConsole:
    stream = sys.stderr if stderr else sys.stdout
    tty = stream.isatty()
    no_color = bool(os.environ.get("NO_COLOR"))
    force = bool(os.environ.get("FORCE_COLOR")) and not no_color
    return SafeConsole(
        stderr=stderr,
        markup=False,
        highlight=False,
        emoji=False,
        # A message is never folded by rich: a folded line could begin with text
        # from input (a padded path), which would read as a line of relbuild's.
        # The terminal wraps long lines; a log or a pipe keeps them whole.
        soft_wrap=True,
        force_terminal=True if force else None,
        # None: no style is rendered at all, bold included (NO_COLOR).
        color_system=None if no_color else "auto",
        width=None if tty else UNFOLDED,
    )


err = _console(stderr=True)
out = _console(stderr=False)

STATUS_STYLES = {
    **dict.fromkeys(("ok", "passed", "identical", "up to date"), "green"),
    **dict.fromkeys(("skipped", "not-run", "unpinned", "warning", "note"), "yellow"),
    **dict.fromkeys(
        ("MISSING", "missing", "mismatch", "FAILED", "failed", "timed-out", "DIFFERENT",
         "error", "over budget", "finding"),
        "bold red",
    ),
}  # fmt: skip


def styled(text: object, style: str | None = None) -> Text:
    """Text from anywhere (escaped, on one line) in a style; a status word
    without a style gets its own (green ok, red MISSING, ...)."""
    from rich.text import Text

    word = shown(text)
    return Text(word, style=style or STATUS_STYLES.get(word, ""))


@contextlib.contextmanager
def json_on_stdout() -> Iterator[None]:
    """While a command prints its report as JSON, stdout holds the JSON alone:
    what ``out`` would print goes to stderr for people."""
    out.file = sys.stderr
    try:
        yield
    finally:
        out.file = None  # type: ignore[assignment]  # rich: back to sys.stdout


def in_ci() -> bool:
    return bool(os.environ.get("CI")) or not sys.stderr.isatty()


REPORT_SCHEMA_VERSION = 1
"""The version of every JSON report's shape (`relbuild schema REPORT`),
raised when a field changes meaning or goes away."""


def print_json(data: BaseModel | dict[str, Any]) -> None:
    """Machine output on stdout: an object with ``schema_version``, sorted
    keys, stable across runs; control characters in strings are JSON
    escapes, so the output is terminal-safe."""
    obj = data.model_dump(mode="json", by_alias=True) if isinstance(data, BaseModel) else data
    obj = {"schema_version": REPORT_SCHEMA_VERSION, **obj}
    sys.stdout.write(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=True) + "\n")
    sys.stdout.flush()


def table(title: str, columns: list[str]) -> Table:
    t = SafeTable(title=shown(title), title_justify="left", show_lines=False, pad_edge=False)
    for col in columns:
        t.add_column(col, overflow="fold")
    return t
