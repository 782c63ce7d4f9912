"""Human output: rich on stderr, never markup-parsed, so paths print as-is.
Stdout is kept for what scripts parse (``--json``).

Names and text from a dist folder, a manifest or a config may be hostile: a
file named ``\\x1b]0;...`` must not retitle the terminal or rewrite a CI log.
Every string this console prints has its control characters escaped
(:func:`escape`); only the newlines of the message itself are kept.
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from rich.console import Console

if TYPE_CHECKING:
    from rich.table import Table
    from rich.text import Text

# C0 and C1 controls and DEL (ESC, CSI, OSC, BEL, CR...), the Unicode
# bidirectional overrides that reorder what is shown, and lone surrogates
# (bytes that were not UTF-8, kept by the file system codec).
_UNSAFE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_UNSAFE_OR_NEWLINE = re.compile(f"{_UNSAFE.pattern[:-1]}\n]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r", "\x1b": "\\x1b"}


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def escape(text: str, *, newlines: bool = False) -> str:
    """``text`` with control characters shown as escapes (``\\x1b``), safe
    to print on a terminal. With ``newlines``, a newline is escaped too, for
    a value (a path) that must stay on one line."""
    pattern = _UNSAFE_OR_NEWLINE if newlines else _UNSAFE
    return pattern.sub(_escape_one, text) if pattern.search(text) else text


class SafeConsole(Console):
    """A console that escapes control characters in every string it renders
    (messages, table cells, titles): the one place, so no caller can forget."""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        return super().render_str(escape(text), **kwargs)


err = SafeConsole(
    stderr=True,
    markup=False,
    highlight=False,
    # Logs in CI are read in wide windows; do not fold paths at 80 columns.
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
    from rich.table import Table

    t = Table(title=title, title_justify="left", show_lines=False, pad_edge=False)
    for col in columns:
        t.add_column(col, overflow="fold")
    return t
