"""Hashing a folder's small files while the manifest is still being read.

On many small files, what `relbuild verify` pays beyond the hashing itself is
fixed: starting Python, importing pydantic and rich, reading and validating
the manifest. :func:`start` forks a child before those imports; the child
walks the folder (real folders only, never a link) and hashes every small
regular file with :func:`relbuild.release.digest.hash_fd`, into an anonymous memory
file, while the parent goes on. The parent takes a digest only for the path
and inode its own listing found, so the child can only save work, never
decide anything; whatever it did not hash, the parent hashes.

Bounded: the child stops after ``MAX_FILES`` files or ``MAX_BYTES`` bytes
(a folder of other things, with ``--allow-extra``), and exits when its parent
is gone. Linux only, and only from a process with one thread (fork copies
one thread); elsewhere :func:`start` returns None and nothing changes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import struct
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from relbuild.release.digest import SMALL, hash_fd

MAX_FILES = 200_000
MAX_BYTES = 1 << 30
MAX_DEPTH = 64
MIN_FILES = 256  # fewer files than this are not worth a fork
SKIP = frozenset({"manifest.json", "SHA256SUMS", "SHA512SUMS"})
_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_RECORD = struct.Struct("<QQIH32s64s")  # inode, size, mode, name length, digests


Digests = dict[str, tuple[int, str, str, int, int]]  # rel -> inode, sha256, sha512, size, mode


class Prefetched(Protocol):
    def results(self) -> Digests: ...


class Prefetch:
    """A running prefetch child and the memory file it writes to."""

    def __init__(self, pid: int, fd: int) -> None:
        self.pid = pid
        self.fd = fd
        self._results: Digests | None = None

    def results(self) -> Digests:
        """Wait for the child, then what it hashed ({} if it failed)."""
        if self._results is None:
            self._results = {}
            try:
                _, status = os.waitpid(self.pid, 0)
                self.pid = 0
                if os.waitstatus_to_exitcode(status) == 0:
                    self._results = _read(self.fd)
            except OSError:
                pass
            finally:
                self.close()
        return self._results

    def close(self) -> None:
        if self.pid:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            self.pid = 0
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def start(location: Path, *, busy_too: bool = False) -> Prefetch | None:
    """Fork the child for the folder ``location`` names (a folder, or a
    manifest in it), or None where that is not possible or not worth it.

    A second process only helps with a CPU to run on: on a machine whose
    load already fills every CPU, its share of the work just moves over,
    with the walk done twice (measured: 15 % slower there), so it is not
    started unless ``busy_too`` or RELBUILD_PREFETCH=1; RELBUILD_PREFETCH=0
    never starts it."""
    choice = os.environ.get("RELBUILD_PREFETCH", "auto")  # or "0" (never), "1" (always)
    if (
        sys.platform != "linux"
        or choice == "0"
        or threading.active_count() != 1
        or not hasattr(os, "memfd_create")
    ):
        return None
    busy = os.getloadavg()[0] > (os.cpu_count() or 1) - 0.5
    if busy and not busy_too and choice != "1":
        return None
    folder = location if location.is_dir() else location.parent
    try:
        root = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if _count_upto(root, MIN_FILES) < MIN_FILES:
            return None
        fd = os.memfd_create("relbuild-prefetch", os.MFD_CLOEXEC)
        pid = os.fork()
    except OSError:
        os.close(root)
        return None
    if pid == 0:  # pragma: no cover - the child; tests see its results
        code = 1
        try:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(sig, signal.SIG_DFL)
            _child(root, fd, os.getppid())
            code = 0
        finally:
            os._exit(code)
    os.close(root)
    return Prefetch(pid, fd)


def _folders(root: int) -> Iterator[tuple[str, list[os.DirEntry[str]]]]:
    """Each folder below the open folder ``root`` (its path, its entries),
    depth first, never following a link; a folder that cannot be read, or
    deeper than MAX_DEPTH, is left out. The caller stops when it has enough."""
    stack = [""]
    while stack:
        rel = stack.pop()
        try:
            fd = (
                os.open(rel, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=root)
                if rel
                else os.dup(root)
            )
        except OSError:
            continue
        try:
            with os.scandir(fd) as it:
                entries = list(it)
        except OSError:
            entries = []
        finally:
            os.close(fd)
        for entry in entries:
            child = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_dir(follow_symlinks=False) and child.count("/") < MAX_DEPTH:
                stack.append(child)
        yield rel, entries


def _count_upto(root: int, limit: int) -> int:
    """Files below the open folder ``root``, counted up to ``limit``."""
    seen = 0
    for _, entries in _folders(root):
        seen += sum(1 for e in entries if not e.is_dir(follow_symlinks=False))
        if seen >= limit:
            return limit
    return seen


def _child(root: int, out: int, parent: int) -> None:
    buf = bytearray()
    files = size = 0
    for rel, entries in _folders(root):
        if files >= MAX_FILES or size >= MAX_BYTES:
            break
        if os.getppid() != parent:
            return  # the parent is gone: nobody will read this
        for entry in entries:
            if not entry.is_file(follow_symlinks=False) or (not rel and entry.name in SKIP):
                continue
            record = _hash(root, f"{rel}/{entry.name}" if rel else entry.name, entry.inode())
            if record:
                buf += record
                files += 1
                size += _RECORD.unpack_from(record)[1]
        if len(buf) > 1 << 20:
            _write(out, buf)
            buf.clear()
    _write(out, buf)


def _hash(root: int, rel: str, inode: int) -> bytes | None:
    try:
        fd = os.open(rel, _FLAGS, dir_fd=root)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_ino != inode or st.st_size >= SMALL:
            return None
        sha256, sha512, size = hash_fd(fd, st.st_size)
    except OSError:
        return None
    finally:
        os.close(fd)
    name = os.fsencode(rel)
    head = _RECORD.pack(
        inode,
        size,
        stat.S_IMODE(st.st_mode),
        len(name),
        bytes.fromhex(sha256),
        bytes.fromhex(sha512),
    )
    return head + name


def _write(fd: int, data: bytes | bytearray) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read(fd: int) -> Digests:
    size = os.fstat(fd).st_size
    data = os.pread(fd, size, 0)
    out: Digests = {}
    pos = 0
    while pos + _RECORD.size <= len(data):
        inode, n, mode, length, d256, d512 = _RECORD.unpack_from(data, pos)
        pos += _RECORD.size
        rel = os.fsdecode(data[pos : pos + length])
        pos += length
        out[rel] = (inode, d256.hex(), d512.hex(), n, mode)
    return out
