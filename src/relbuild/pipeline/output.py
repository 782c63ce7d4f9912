"""The output folder: a build writes into a staging folder beside it, and
only a build that fully succeeded replaces the output, in one atomic swap
where the system has renameat2. An earlier dist is never half overwritten,
an interrupted build leaves no manifest behind, and a folder that is not a
relbuild dist is never replaced."""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from relbuild.errors import UsageError
from relbuild.release.dist import MANIFEST_NAME


def check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST_NAME).is_file():
        raise UsageError(
            f"--out {out} holds files but no {MANIFEST_NAME}, so it is not a relbuild dist; "
            "refusing to replace it",
            hint="Pick an empty or new folder, or remove it first.",
        )


@contextlib.contextmanager
def staging_for(out: Path) -> Iterator[Path]:
    """A fresh staging folder beside ``out``, removed on the way out whatever
    happens (after a swap it holds the old dist)."""
    staging = out.parent / f".{out.name}.staging-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    _remove_stale_staging(out)
    staging.mkdir(parents=True)
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def settle_times(folder: Path, epoch: int) -> None:
    """Every file and folder of the dist gets mtime = SOURCE_DATE_EPOCH (file
    modes were fixed as each was recorded)."""
    for path in folder.rglob("*"):
        if path.is_dir():
            path.chmod(0o755)
        os.utime(path, (epoch, epoch))
    folder.chmod(0o755)
    os.utime(folder, (epoch, epoch))


def swap_into_place(staging: Path, out: Path) -> None:
    if not out.exists():
        staging.rename(out)
        return
    if _exchange(staging, out):
        return  # staging now holds the old dist, and goes with it
    old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
    out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def _remove_stale_staging(out: Path) -> None:
    # Only the names staging_for gives this out (its name may hold a `*`).
    own = re.compile(rf"\.{re.escape(out.name)}\.staging-(\d+)-[0-9a-f]{{8}}")
    for old in out.parent.glob(f".{glob.escape(out.name)}.staging-*"):
        match = own.fullmatch(old.name)
        if match is None:
            continue
        try:
            pid = int(match.group(1))
            os.kill(pid, 0)  # still running: another build's staging
        except (ValueError, OverflowError, ProcessLookupError):
            shutil.rmtree(old, ignore_errors=True)
        except PermissionError:
            pass


_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    return bool(rc == 0)
