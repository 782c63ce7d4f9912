"""Safe access to a folder that may be hostile (a dist, most often): a
listed path is checked before it is opened (absolute paths, `..` and odd
names are refused), a walk never follows a symbolic link, and a read opens
only a regular file (a FIFO would block, a device may act on open), in
bounded memory."""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path

from relbuild.release.digest import CHUNK


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of a regular file, never following a final symbolic link
    and never opening a FIFO or device; OSError when it is none, or larger
    than ``limit``."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        data = _read_all(fd, st.st_size, limit)
    finally:
        os.close(fd)
    return data


def _read_all(fd: int, size: int, limit: int) -> bytes:
    if size > limit:
        raise OSError(errno.EFBIG, f"larger than {limit} bytes")
    first = os.read(fd, size + 1)
    if len(first) <= size:  # a short read of a regular file is its end
        return first
    parts, total = [first], len(first)
    while chunk := os.read(fd, CHUNK):  # it grew while we read
        total += len(chunk)
        if total > limit:
            raise OSError(errno.EFBIG, f"larger than {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)


# Names of the usual shape, checked by one match: no empty part, none that
# is "." or "..", no part over 255 bytes (ASCII here, so characters).
_PLAIN = re.compile(
    r"(?!\.\.?(?:/|$))[A-Za-z0-9._+~-]{1,255}(?:/(?!\.\.?(?:/|$))[A-Za-z0-9._+~-]{1,255})*"
)


def safe_relpath(rel: str) -> str | None:
    """Why ``rel`` may not be opened inside the folder, or None if it may."""
    if len(rel) <= 1024 and _PLAIN.fullmatch(rel):
        return None
    if not rel or "\0" in rel or "\\" in rel or not rel.isprintable():
        return "not a plain relative path"
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return "not valid UTF-8"
    if len(rel) > 1024 or any(len(part) > 255 for part in rel.split("/")):
        return "path too long"
    if rel.startswith("/"):
        return "absolute path"
    parts = rel.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return "path with '..', '.' or an empty part"
    return None


def walk_to(folder: Path, rel: str) -> tuple[Path | None, str | None]:
    """Follow ``rel`` from ``folder`` without following any symbolic link."""
    current = folder
    for part in rel.split("/"):
        current = current / part
        try:
            st = current.lstat()
        except (FileNotFoundError, NotADirectoryError):
            return None, None
        if stat.S_ISLNK(st.st_mode):
            target = os.readlink(current)
            inside = os.path.realpath(current).startswith(os.path.realpath(folder) + os.sep)
            where = "inside" if inside else "outside"
            return None, f"symbolic link to {target!r} ({where} the folder); not followed"
    return current, None
