"""Checks on the regular expressions a config gives (smoke tests' `expect`)
that Python's own parser cannot be trusted with."""

from __future__ import annotations

MAX_REGEX_DEPTH = 50


def group_depth(pattern: str) -> int:
    """The deepest nesting of groups in a regex (escapes and classes skipped)."""
    depth = deepest = 0
    escaped = in_class = False
    for ch in pattern:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == ")":
            depth = max(0, depth - 1)
    return deepest
