"""One rule for text from input that reaches a terminal.

Names and text from a dist folder, a manifest, a part or a config may be
hostile: a file named ``\\x1b]0;...`` must not retitle the terminal, and a
path holding a newline must not print a line of its own (a fake
``merged 7 part(s) into ...`` under an error). So:

- control characters (C0, C1, DEL), the Unicode bidirectional overrides and
  lone surrogates are shown as escapes (``\\x1b``, ``\\u202e``), everywhere
  (:func:`escape`, applied to every string the console of relbuild.system.ui
  renders);
- a value from input placed in a message, a table cell or a title stays on
  one line: its newlines are escaped too (:func:`shown`; the table of
  relbuild.system.ui does it for each cell), so the only line breaks are the ones
  the message was written with; a command whose refusals are one line each
  (merge) has them escaped whole (:func:`one_line_errors`);
- nothing is read as rich markup or as an emoji code (``:smile:``), and
  nothing is highlighted: the console is made with all three off.

Backslashes are not escaped, so ``a\\nb`` typed as four characters and a
name with a newline look alike; what matters is that neither breaks a line.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

from relbuild.errors import RelbuildError

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


def shown(value: object) -> str:
    """A value from input as a message shows it: on one line, escaped."""
    return escape(str(value), newlines=True)


@contextlib.contextmanager
def one_line_errors() -> Iterator[None]:
    """For a command whose refusals are one line each (``merge``: the part,
    the field, both values), each message is escaped whole, so no path or
    value from the input starts a line; the hint, relbuild's own text,
    keeps its line."""
    try:
        yield
    except RelbuildError as exc:
        exc.message = shown(exc.message)
        raise
