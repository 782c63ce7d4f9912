"""The leak scanner: machine paths and names inside artifacts.

A reproducible artifact holds nothing of the machine that built it. This
module looks for such strings *inside the bytes*, where `strings` cannot
see: each ELF section is read decompressed (``SHF_COMPRESSED`` and the older
``.zdebug_*`` form), static libraries member by member, and tar.gz and zip
archives member by member, recursively.

Two sets of needles:
- ``machine_needles``: the absolute paths and names of *this* build
  (project, caches, ``HOME``, temp dir, toolchain install folders, user and
  host name), used by every build;
- ``COMMON_ROOTS``: patterns of paths under the usual home and temp roots,
  used by ``relbuild verify --leaks`` on a dist built elsewhere.
"""

from __future__ import annotations

import gzip
import io
import re
import tarfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from elftools.elf.elffile import ELFFile

from relbuild.binaries.elfcheck import ELF_ERRORS, ar_members

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
COMMON_ROOTS: tuple[tuple[str, bytes], ...] = (
    ("/home/<user>", rb"/home/[A-Za-z0-9._-]+/"),
    ("/root/", rb"/root/[A-Za-z0-9._-]"),
    ("/tmp/<dir>", rb"/tmp/[A-Za-z0-9._-]+/"),  # noqa: S108
    ("/Users/<user>", rb"/Users/[A-Za-z0-9._ -]+/"),
    ("C:\\", rb"[A-Za-z]:\\(?:Users|Windows|Program Files|msys64|cygwin)\\"),
)

# Bounds for hostile input: nesting depth and bytes decompressed per artifact.
MAX_DEPTH = 4
MAX_INFLATED = 4 << 30


@dataclass(frozen=True)
class Needle:
    """What to look for: a label for the report and a regular expression."""

    label: str
    pattern: bytes


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
    return Needle(label, re.escape(path.encode()) + _END)


def name_needle(label: str, name: str) -> Needle | None:
    """A needle for a user or host name, as a whole word; None where the name
    is too short or too common to mean anything."""
    if len(name) < 4 or name.lower() in _GENERIC_NAMES or not name.isprintable():
        return None
    return Needle(label, rb"(?<![A-Za-z0-9_-])" + re.escape(name.encode()) + rb"(?![A-Za-z0-9_-])")


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
    return [Needle(label, pattern) for label, pattern in COMMON_ROOTS]


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

    def scan_file(self, path: Path, name: str | None = None) -> list[Leak]:
        return self.scan_bytes(path.read_bytes(), name or path.name)

    def scan_bytes(self, data: bytes, name: str) -> list[Leak]:
        if self._regex is None:
            return []
        leaks: dict[tuple[str, str, str], Leak] = {}
        budget = [MAX_INFLATED]
        for where, region in _regions(data, name, 0, budget):
            for m in self._regex.finditer(region):
                assert m.lastgroup is not None
                needle = self.needles[int(m.lastgroup[1:])]
                found = _context(region, m.start(), m.end())
                key = (where, needle.label, found)
                leaks.setdefault(key, Leak(name, where, needle.label, found))
                if len(leaks) >= self.max_hits:
                    return list(leaks.values())
        return list(leaks.values())


def _context(region: bytes, start: int, end: int) -> str:
    """The hit, extended to the end of its printable run (a whole path)."""
    stop = end
    while stop < len(region) and stop - start < 160 and 0x20 <= region[stop] < 0x7F:
        stop += 1
    return region[start:stop].decode("ascii", "replace")


def _regions(data: bytes, name: str, depth: int, budget: list[int]) -> Iterator[tuple[str, bytes]]:
    """(where, bytes) for every readable part of ``data``: ELF sections
    decompressed, archive members recursively, else the bytes themselves."""
    if depth > MAX_DEPTH:
        yield "", data
        return
    inner = _members(data, name, budget)
    if inner is not None:
        for member, body in inner:
            for where, region in _regions(body, member, depth + 1, budget):
                yield f"member {member}" + (f" {where}" if where else ""), region
        return
    if data[:4] == b"\x7fELF":
        sections = _elf_sections(data, budget)
        if sections is not None:
            yield from sections
            return
    yield "", data


def _members(data: bytes, name: str, budget: list[int]) -> list[tuple[str, bytes]] | None:
    """Members of a tar.gz, zip or ar file; None where ``data`` is none of them."""
    try:
        if data[:2] == b"\x1f\x8b":
            raw = _inflate(gzip.GzipFile(fileobj=io.BytesIO(data)), budget)
            if raw is None:
                return None
            with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
                out = []
                for m in tar.getmembers():
                    fh = tar.extractfile(m) if m.isfile() else None
                    if fh is not None:
                        out.append((m.name, fh.read()))
                return out
        if data[:4] == b"PK\x03\x04":
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                out = []
                for info in zf.infolist():
                    if info.is_dir():
                        continue
                    body = _inflate(zf.open(info), budget)
                    if body is None:
                        break
                    out.append((info.filename, body))
                return out
        if data[:8] == b"!<arch>\n":
            return [(f"{name}({m})", body) for m, body in ar_members(data)]
    except (
        OSError,
        EOFError,
        tarfile.TarError,
        zipfile.BadZipFile,
        zlib.error,
        ValueError,
        IndexError,  # a zip member with an empty name (ZipInfo.is_dir)
        NotImplementedError,  # a zip "version 8.0", an unknown compression method
        RuntimeError,  # an encrypted zip member
        MemoryError,
    ):
        return None
    return None


class _Stream(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def _inflate(fh: _Stream, budget: list[int]) -> bytes | None:
    """Read a decompressing stream within the artifact's budget."""
    data = fh.read(budget[0] + 1)
    if len(data) > budget[0]:
        return None
    budget[0] -= len(data)
    return bytes(data)


def _elf_sections(data: bytes, budget: list[int]) -> list[tuple[str, bytes]] | None:
    try:
        elf = ELFFile(io.BytesIO(data))
        out = []
        for section in elf.iter_sections():
            if section["sh_type"] in ("SHT_NOBITS", "SHT_NULL"):
                continue
            body = section.data()  # decompressed where SHF_COMPRESSED
            if section.name.startswith(".zdebug") and body[:4] == b"ZLIB":
                body = _zlib(body[12:], budget)
            else:
                budget[0] -= len(body)
            if budget[0] < 0:
                break
            out.append((f"section {section.name}", body))
        return out
    except (*ELF_ERRORS, OverflowError, zlib.error, MemoryError, RecursionError):
        return None


def _zlib(data: bytes, budget: list[int]) -> bytes:
    d = zlib.decompressobj()
    body = d.decompress(data, max(budget[0], 1))
    budget[0] -= len(body)
    return body
