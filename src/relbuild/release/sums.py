"""The SUMS files beside a manifest: SHA256SUMS and SHA512SUMS in the
coreutils format (`sha256sum -c SHA256SUMS` works in the folder), written
from the manifest's artifacts and read back strictly, in bounded memory,
from a folder that may be hostile."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, Protocol

Algo = Literal["sha256", "sha512"]
SUMS: dict[Algo, str] = {"sha256": "SHA256SUMS", "sha512": "SHA512SUMS"}
# Problems a reader of hostile input reports before it stops listing them
# (a SUMS file here, a manifest in relbuild.release.dist).
MAX_PROBLEMS = 20


class Hashed(Protocol):
    """What a SUMS line is made of (an artifact record of the manifest)."""

    @property
    def path(self) -> str: ...
    @property
    def sha256(self) -> str: ...
    @property
    def sha512(self) -> str: ...


def sums_text(artifacts: Iterable[Hashed], algo: Algo) -> str:
    # Binary-mode marker '*' is what coreutils writes for non-text files.
    return "".join(f"{getattr(a, algo)} *{a.path}\n" for a in artifacts)


DIGEST_HEX: dict[Algo, int] = {"sha256": 64, "sha512": 128}
_SUMS_LINE = re.compile(r"([0-9A-Fa-f]+) ([ *])(.*)", re.DOTALL)
# A whole SUMS file of well-formed lines, in one pass: the usual case.
_SUMS_FAST = {
    algo: re.compile(rf"^([0-9a-f]{{{n}}}) [ *]([^\n\r\0]+)$", re.MULTILINE)
    for algo, n in DIGEST_HEX.items()
}


@dataclass
class Sums:
    """A SUMS file read strictly: ``entries`` maps each path to its digest
    (lower case; the first line where a path is listed twice);
    ``problems`` holds the first ``MAX_PROBLEMS`` problems and
    ``problem_count`` all of them."""

    entries: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0

    def problem(self, text: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)


def parse_sums(text: str, algo: Algo) -> Sums:
    """coreutils checksum lines in the one form relbuild writes, stricter
    than ``sha256sum -c --strict`` (coreutils 9.1 accepts blank lines, a
    path listed twice, CRLF, the BSD ``SHA256 (PATH) = DIGEST`` form and a
    ``./`` prefix): a blank line, a line not of the form ``DIGEST  PATH`` or
    ``DIGEST *PATH`` with a digest of the algorithm's length, a carriage
    return or NUL in a name, and a path listed twice are problems; the BSD
    form and backslash-escaped names are not checksum lines; a ``./``
    prefix is kept, so the path is not the manifest's. Memory: one entry
    per line, problems bounded."""
    lines = text.count("\n") + (1 if text and not text.endswith("\n") else 0)
    found = _SUMS_FAST[algo].findall(text)
    if len(found) == lines:
        entries = {path: digest for digest, path in found}
        if len(entries) == lines:
            return Sums(entries)
    return _parse_sums_slowly(text, algo)


def _parse_sums_slowly(text: str, algo: Algo) -> Sums:
    out = Sums()
    want = DIGEST_HEX[algo]
    first_line: dict[str, int] = {}
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            out.problem(f"line {lineno}: blank line")
            continue
        match = _SUMS_LINE.fullmatch(line)
        if match is None or not match.group(3):
            out.problem(f"line {lineno}: not a checksum line: {_clip(line)!r}")
            continue
        digest, path = match.group(1), match.group(3)
        if len(digest) != want:
            out.problem(
                f"line {lineno}: a {len(digest)}-digit digest, {algo} has {want}: {_clip(line)!r}"
            )
            continue
        if "\r" in path or "\0" in path:
            out.problem(f"line {lineno}: carriage return or NUL in the name: {_clip(line)!r}")
            continue
        seen = first_line.setdefault(path, lineno)
        if seen != lineno:
            out.problem(f"line {lineno}: {path!r} is listed again (first on line {seen})")
            continue
        out.entries[path] = digest.lower()
    return out


def _clip(line: str, width: int = 120) -> str:
    return line if len(line) <= width else line[:width] + "..."
