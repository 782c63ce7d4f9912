"""The leak scanner: machine paths and names inside artifacts.

A reproducible artifact holds nothing of the machine that built it. This
module looks for such strings *inside the bytes*, where `strings` cannot
see: each ELF section is read decompressed (``SHF_COMPRESSED`` and the older
``.zdebug_*`` form), static libraries member by member, and tar.gz and zip
archives member by member, recursively; all of it streamed in chunks
(:mod:`relbuild.binaries.regions`), so memory does not grow with the file.

Two sets of needles:
- ``machine_needles``: the absolute paths and names of *this* build
  (project, caches, ``HOME``, temp dir, toolchain install folders, user and
  host name), used by every build;
- ``COMMON_ROOTS``: patterns of paths under the usual home and temp roots,
  used by ``relbuild verify --leaks`` on a dist built elsewhere.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from relbuild.binaries.elfcheck import AR_MAGIC, ar_index
from relbuild.binaries.regions import regions

# A path needle only counts where the path ends: "/root" must not match
# "/rootfs", nor "/work/app" match "/work/apple".
_END = rb"(?![A-Za-z0-9._+-])"

# Paths too general to mean "this machine": a toolchain installed under /usr
# is found on every Debian machine, and "/tmp" is a string in many programs.
_GENERIC_PATHS = frozenset({"/", "/usr", "/usr/local", "/opt", "/home", "/bin", "/tmp", "/var/tmp"})  # noqa: S108
# User and host names that name no one: they are words found in ordinary
# programs (a user called "root" is no secret, and "/root" is a HOME needle).
_GENERIC_NAMES = frozenset(
    {"root", "user", "users", "build", "builder", "runner", "admin", "ubuntu", "debian", "vm"}
    | {"localhost", "host", "docker", "runner", "worker", "machine", "linux", "node", "home"}
)

# Paths under the usual home and temp roots of Linux, macOS and Windows.
COMMON_ROOTS: tuple[tuple[str, bytes, bytes], ...] = (
    ("/home/<user>", rb"/home/[A-Za-z0-9._-]+/", b"/home/"),
    ("/root/", rb"/root/[A-Za-z0-9._-]", b"/root/"),
    ("/tmp/<dir>", rb"/tmp/[A-Za-z0-9._-]+/", b"/tmp/"),  # noqa: S108
    ("/Users/<user>", rb"/Users/[A-Za-z0-9._ -]+/", b"/Users/"),
    ("C:\\", rb"[A-Za-z]:\\(?:Users|Windows|Program Files|msys64|cygwin)\\", b":\\"),
)

# Bounds for hostile input: bytes of sections and members per artifact.
MAX_INFLATED = 4 << 30
# A match is found whole when it is shorter than this: a path is at most
# PATH_MAX (4096) bytes, and a hit is shown with up to 160 bytes after it.
OVERLAP = 4096 + 256
_BEHIND = 8


@dataclass(frozen=True)
class Needle:
    """What to look for: a label for the report and a regular expression."""

    label: str
    pattern: bytes
    # Bytes every match holds: a region without them is passed over at the
    # speed of a substring search (b"": the expression always runs).
    literal: bytes = b""


@dataclass(frozen=True)
class Leak:
    artifact: str
    where: str  # "section .debug_info", "member libx.a(y.o) section .debug_str", ...
    label: str  # which needle: "project root", "HOME", ...
    found: str  # the string itself, cut to a readable length

    def __str__(self) -> str:
        return f"{self.artifact}: {self.where}: {self.label} {self.found!r}"


def path_needle(label: str, path: str) -> Needle | None:
    """A needle for an absolute path, or None where the path is too general."""
    path = path.rstrip("/") or "/"
    if not path.startswith("/") or path in _GENERIC_PATHS:
        return None
    return Needle(label, re.escape(path.encode()) + _END, path.encode())


def name_needle(label: str, name: str) -> Needle | None:
    """A needle for a user or host name, as a whole word; None where the name
    is too short or too common to mean anything."""
    if len(name) < 4 or name.lower() in _GENERIC_NAMES or not name.isprintable():
        return None
    word = re.escape(name.encode())
    return Needle(label, rb"(?<![A-Za-z0-9_-])" + word + rb"(?![A-Za-z0-9_-])", name.encode())


def machine_needles(
    paths: Iterable[tuple[str, str]], names: Iterable[tuple[str, str]]
) -> list[Needle]:
    """Needles for this machine: (label, absolute path) and (label, name)
    pairs; general ones are dropped, duplicates kept once."""
    out: dict[bytes, Needle] = {}
    for label, path in paths:
        needle = path_needle(label, path)
        if needle is not None:
            out.setdefault(needle.pattern, needle)
    for label, name in names:
        needle = name_needle(label, name)
        if needle is not None:
            out.setdefault(needle.pattern, needle)
    return list(out.values())


def common_root_needles() -> list[Needle]:
    return [Needle(label, pattern, literal) for label, pattern, literal in COMMON_ROOTS]


class Seen(Protocol):
    """Bytes already scanned clean against the same needles (a cache)."""

    def known(self, body: bytes) -> bool: ...

    def add(self, body: bytes) -> None: ...


class Scanner:
    """Scans artifacts for a fixed set of needles (one regular expression,
    one pass over each region of bytes)."""

    def __init__(self, needles: Sequence[Needle], *, max_hits: int = 20) -> None:
        self.needles = list(needles)
        self.max_hits = max_hits
        self._regex = (
            re.compile(b"|".join(b"(?P<n%d>%s)" % (i, n.pattern) for i, n in enumerate(needles)))
            if needles
            else None
        )
        literals = [n.literal for n in self.needles]
        self._literals = None if not all(literals) else literals
        self._partial: dict[tuple[int, ...], re.Pattern[bytes]] = {}

    def scan_file(
        self, path: Path, name: str | None = None, seen: Seen | None = None
    ) -> list[Leak]:
        """Leaks in ``path``. With ``seen``, a static library's members are
        scanned one by one and those seen clean before are passed over (a
        staticlib holds hundreds; an edit changes a few): the same leaks."""
        with path.open("rb") as fh:
            if seen is not None and fh.read(len(AR_MAGIC)) == AR_MAGIC:
                found = self._scan_members(fh, name or path.name, seen)
                if found is not None:
                    return found
            return self.scan_stream(fh, name or path.name)

    def _scan_members(self, fh: BinaryIO, name: str, seen: Seen) -> list[Leak] | None:
        """As :meth:`scan_stream` on an ar archive, where each member
        is a region (``member lib.a(x.o) section ...``); None when it has
        no member to read (it is then scanned as bytes)."""
        leaks: dict[tuple[str, str, str], Leak] = {}
        any_member = False
        for member, offset, size in ar_index(fh, fh.seek(0, io.SEEK_END)):
            any_member = True
            fh.seek(offset)
            body = fh.read(size)
            if seen.known(body):
                continue
            label = f"{name}({member})"
            hits = self.scan_stream(io.BytesIO(body), label)
            for h in hits:
                where = f"member {label}" + (f" {h.where}" if h.where else "")
                leaks.setdefault((where, h.label, h.found), Leak(name, where, h.label, h.found))
                if len(leaks) >= self.max_hits:
                    return list(leaks.values())
            if not hits:
                seen.add(body)
        return list(leaks.values()) if any_member else None

    def scan_bytes(self, data: bytes, name: str) -> list[Leak]:
        return self.scan_stream(io.BytesIO(data), name)

    def scan_stream(self, fh: BinaryIO, name: str) -> list[Leak]:
        """Leaks in the seekable file ``fh``, read region by region in
        chunks (see :mod:`relbuild.binaries.regions`): memory flat in its size."""
        if self._regex is None:
            return []
        leaks: dict[tuple[str, str, str], Leak] = {}
        for where, chunks in regions(fh, name, [MAX_INFLATED]):
            for label, found in self._hits(chunks):
                leaks.setdefault((where, label, found), Leak(name, where, label, found))
                if len(leaks) >= self.max_hits:
                    return list(leaks.values())
        return list(leaks.values())

    def _for(self, buf: bytes) -> re.Pattern[bytes] | None:
        """The expression of the needles whose bytes ``buf`` holds (in the
        same order, so it finds what the whole expression would), or None
        when it holds none."""
        if self._literals is None:
            return self._regex
        present = tuple(i for i, a in enumerate(self._literals) if a in buf)
        if not present:
            return None
        if present not in self._partial:
            self._partial[present] = re.compile(
                b"|".join(b"(?P<n%d>%s)" % (i, self.needles[i].pattern) for i in present)
            )
        return self._partial[present]

    def _hits(self, chunks: Iterable[bytes]) -> Iterator[tuple[str, str]]:
        """(needle label, string found) in a region given in chunks. Each
        buffer keeps the last ``OVERLAP`` bytes of the one before, and a
        match is taken only where it starts before them, or in the last
        buffer: one that spans two chunks is found whole, once."""
        assert self._regex is not None
        buf = b""
        resume = 0  # where the next search starts, in ``buf``
        pending = iter(chunks)
        more = True
        while more:
            chunk = next(pending, None)
            more = chunk is not None
            buf += chunk or b""
            limit = len(buf) - OVERLAP if more else len(buf)
            regex = self._for(buf)
            if regex is not None:
                for m in regex.finditer(buf, resume):
                    if m.start() >= limit:
                        break
                    assert m.lastgroup is not None
                    label = self.needles[int(m.lastgroup[1:])].label
                    yield label, _context(buf, m.start(), m.end())
                    resume = m.end()
            # (Else no needle's bytes are in the buffer: no match starts in it.)
            resume = max(resume, limit)
            keep = max(0, resume - _BEHIND)  # a look-behind sees a byte before
            buf, resume = buf[keep:], resume - keep


def _context(region: bytes, start: int, end: int) -> str:
    """The hit, extended to the end of its printable run (a whole path)."""
    stop = end
    while stop < len(region) and stop - start < 160 and 0x20 <= region[stop] < 0x7F:
        stop += 1
    return region[start:stop].decode("ascii", "replace")
