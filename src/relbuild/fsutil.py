"""Atomic writes: readers see the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


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
