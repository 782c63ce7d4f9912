"""Semantic versions (semver 2.0.0): parsing and precedence.

A release replaces the one before only when its version is strictly
greater, and what counts as an incompatible change depends on which part
grew: the major version, or the minor one while the major is 0. Versions
come from manifests that may be hostile, so parsing is bounded and never
raises anything but :class:`SemverError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_VERSION_CHARS = 256

# semver.org's regular expression, less the leading "v" a tag may carry
# (accepted here: `relbuild build` takes its version from a v* tag).
_SEMVER = re.compile(
    r"v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?",
    re.ASCII,
)


class SemverError(ValueError):
    """Why a string is not a semantic version (one sentence)."""


@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    pre: tuple[int | str, ...] = ()
    build: str = ""

    def _key(self) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
        # A version without pre-release ranks above every pre-release of it;
        # numeric identifiers rank below alphanumeric ones (semver 2.0.0, §11).
        pre = tuple((0, p) if isinstance(p, int) else (1, p) for p in self.pre)
        return (self.major, self.minor, self.patch, 0 if self.pre else 1, pre)

    def __lt__(self, other: Version) -> bool:
        return self._key() < other._key()

    def __le__(self, other: Version) -> bool:
        return self._key() <= other._key()

    def __gt__(self, other: Version) -> bool:
        return self._key() > other._key()

    def __ge__(self, other: Version) -> bool:
        return self._key() >= other._key()

    def same_precedence(self, other: Version) -> bool:
        """Equal but for build metadata, which semver ignores in ordering."""
        return self._key() == other._key()

    def breaking_step(self, older: Version) -> bool:
        """Does going from ``older`` to this version allow incompatible
        changes: a greater major version, or a greater minor one in 0.x?"""
        if self.major != older.major:
            return self.major > older.major
        return self.major == 0 and self.minor > older.minor

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.pre:
            text += "-" + ".".join(str(p) for p in self.pre)
        return text + (f"+{self.build}" if self.build else "")


def parse(text: str) -> Version:
    if len(text) > MAX_VERSION_CHARS:
        raise SemverError(f"longer than {MAX_VERSION_CHARS} characters")
    m = _SEMVER.fullmatch(text)
    if m is None:
        raise SemverError("not a semantic version (MAJOR.MINOR.PATCH[-PRE][+BUILD])")
    major, minor, patch, pre, build = m.groups()
    ids: tuple[int | str, ...] = ()
    if pre:
        ids = tuple(int(p) if p.isdigit() else p for p in pre.split("."))
    return Version(int(major), int(minor), int(patch), ids, build or "")
