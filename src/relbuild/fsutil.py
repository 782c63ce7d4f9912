"""Atomic writes: readers see the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from relbuild.errors import RelbuildError


def read_text(path: Path, error: type[RelbuildError], missing: RelbuildError | None = None) -> str:
    """The UTF-8 text of ``path``; any problem is an ``error`` (``missing``
    when there is no such file) naming the file, never a traceback."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise (missing or error(f"{path}: no such file")) from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def atomic_write(path: Path, data: bytes, mode: int = 0o644, *, make_parents: bool = True) -> None:
    """Write ``data`` to ``path`` through a temp file in the same folder.

    Refuses to replace anything but a regular file (a device such as
    /dev/stdout, a FIFO, a folder); with ``make_parents`` False, the folder
    must exist (for paths a user typed).
    """
    from relbuild.errors import UsageError

    if path.exists() and not path.is_file():
        raise UsageError(f"{path} exists and is not a regular file; refusing to replace it")
    if not make_parents and not path.parent.is_dir():
        raise UsageError(f"{path.parent} is not a folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
