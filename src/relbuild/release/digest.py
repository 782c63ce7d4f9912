"""The one routine that computes SHA-256 and SHA-512 of a file.

Kept free of heavy imports (no pydantic, no rich), so that a process forked
before them (:mod:`relbuild.release.prefetch`) hashes with it too. ``relbuild.release.dist``
re-exports it.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

CHUNK = 1 << 20
SMALL = 1 << 20


def hash_fd(fd: int, size_hint: int) -> tuple[str, str, int]:
    """(sha256, sha512, bytes read) of what ``fd`` holds from its offset on.

    A small file is read in one call and both digests come from that
    buffer; a large one streams through a 1 MiB buffer (hashlib releases the
    GIL, so files hash in parallel threads). ``size_hint`` (from fstat) only
    chooses the way: what is read counts.
    """
    if size_hint < SMALL:
        data = os.read(fd, size_hint + 1)
        if len(data) <= size_hint:  # a short read of a regular file is its end
            return hashlib.sha256(data).hexdigest(), hashlib.sha512(data).hexdigest(), len(data)
        h256, h512, size = hashlib.sha256(data), hashlib.sha512(data), len(data)
    else:
        h256, h512, size = hashlib.sha256(), hashlib.sha512(), 0
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with os.fdopen(fd, "rb", buffering=0, closefd=False) as fh:
        while n := fh.readinto(buf):
            chunk = view[:n]
            h256.update(chunk)
            h512.update(chunk)
            size += n
    return h256.hexdigest(), h512.hexdigest(), size


def hash_file(path: Path) -> tuple[str, str, int, int]:
    """(sha256, sha512, size, mode) of a regular file, read once, without
    following a link that appeared since it was checked."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(f"{path} is not a regular file")
        sha256, sha512, size = hash_fd(fd, st.st_size)
        return sha256, sha512, size, stat.S_IMODE(st.st_mode)
    finally:
        os.close(fd)
