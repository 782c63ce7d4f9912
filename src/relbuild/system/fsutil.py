"""Atomic writes: readers see the old files or the new ones, never half of one.

Each new file is written in full and synced under a temp name
``.NAME.XXXXXXXX.tmp`` in its folder before any name changes, and the temp
file is removed on every exit Python sees (an error, a full disk, Ctrl-C,
SIGTERM, SIGHUP). Only when every file of a group is complete are they renamed
into place, in order, with termination signals held off
(:mod:`relbuild.system.signals`), so a group changes as a whole or not at all.

SIGKILL cannot be held off or cleaned up after. Killed while writing, the
writer leaves the old files and its temp files, which are never taken for
artifacts and which the next write removes (:func:`remove_orphans`); killed
in the microseconds between two renames of a group, it leaves the earlier
files new and the later ones old, which a reader sees as a disagreement
(``relbuild verify`` fails), never as a valid state.

(``O_TMPFILE`` would give the temp file no name until it is complete, but
naming it needs ``/proc`` and fails across some mounts, so it is not used.)
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from relbuild.errors import RelbuildError, UsageError
from relbuild.system import signals


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


def temp_name_pattern(names: Sequence[str]) -> re.Pattern[str]:
    """The temp names this module gives while writing one of ``names``."""
    alts = "|".join(re.escape(n) for n in names)
    return re.compile(rf"\.(?:{alts})\.[A-Za-z0-9_]{{8,}}\.tmp")


@dataclass
class _Pending:
    path: Path
    fd: int
    tmp: Path | None  # None once renamed into place


def atomic_write(path: Path, data: bytes, mode: int = 0o644, *, make_parents: bool = True) -> None:
    """Write ``data`` to ``path`` through a temp file in the same folder.

    Refuses to replace anything but a regular file (a device such as
    /dev/stdout, a FIFO, a folder); with ``make_parents`` False, the folder
    must exist (for paths a user typed).
    """
    atomic_write_many([(path, data)], mode, make_parents=make_parents)


def atomic_write_many(
    files: Sequence[tuple[Path, bytes]],
    mode: int = 0o644,
    *,
    make_parents: bool = True,
    modes: Sequence[int] | None = None,
) -> None:
    """Write several files as one change: all are checked, then written and
    synced, then renamed into place in the order given (put the file readers
    treat as the commit, a manifest, last). A failure before the renames (a
    path that is a folder, a full disk, a signal) leaves every old file as
    it was and no temp file. ``modes``: one per file, instead of ``mode``."""
    if modes is not None and len(modes) != len(files):
        raise ValueError("one mode per file")
    for path, _ in files:
        if path.exists() and not path.is_file():
            raise UsageError(f"{path} exists and is not a regular file; refusing to replace it")
        if not make_parents and not path.parent.is_dir():
            raise UsageError(f"{path.parent} is not a folder")
    pending: list[_Pending] = []
    with signals.guarded():
        _write_group(files, modes or [mode] * len(files), pending)


def _write_group(
    files: Sequence[tuple[Path, bytes]], modes: Sequence[int], pending: list[_Pending]
) -> None:
    try:
        for (path, data), mode in zip(files, modes, strict=True):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                pending.append(_open_temp(path))
                _write_all(pending[-1].fd, data)
                os.fchmod(pending[-1].fd, mode)
                os.fsync(pending[-1].fd)
            except OSError as exc:
                raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
        with signals.deferred():
            for item in pending:
                try:
                    _commit(item)
                except OSError as exc:
                    raise UsageError(f"cannot replace {item.path}: {exc.strerror or exc}") from None
        for folder in dict.fromkeys(item.path.parent for item in pending):
            _sync_folder(folder)
    finally:
        for item in pending:
            with contextlib.suppress(OSError):
                os.close(item.fd)
            if item.tmp is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(item.tmp)


@contextlib.contextmanager
def naming(path: Path) -> Iterator[None]:
    """An OSError that names no file while ``path`` is written (a full disk
    fails write() and close() with ENOSPC, which carry no name) becomes an
    error naming ``path``, never "cannot access: No space left on device"."""
    try:
        yield
    except OSError as exc:
        if exc.filename is not None:
            raise
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def _open_temp(path: Path) -> _Pending:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    return _Pending(path, fd, Path(tmp))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _commit(item: _Pending) -> None:
    assert item.tmp is not None
    os.replace(item.tmp, item.path)
    item.tmp = None


def _sync_folder(folder: Path) -> None:
    """Make the renames themselves durable."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def remove_orphans(folder: Path, pattern: re.Pattern[str]) -> list[str]:
    """Delete temp files matching ``pattern`` that a killed writer left in
    ``folder`` (not below it); the names removed."""
    removed: list[str] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if pattern.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed.append(entry.name)
    return removed


def find_up(folder: Path, root: Path, name: str) -> Path | None:
    """The file ``name`` in ``folder`` or the nearest folder above it, up to
    ``root`` (as Go finds go.mod and go.work, but never above the project)."""
    here, top = folder.resolve(), root.resolve()
    while True:
        if (here / name).is_file():
            return here / name
        if here == top or top not in here.parents:
            return None
        here = here.parent


def prune_oldest(folder: Path, pattern: str, keep: int) -> None:
    """Remove the oldest files of ``folder`` matching ``pattern`` (by
    mtime) so that one more leaves ``keep``: a cache's bound. Files that
    vanish meanwhile (another build pruning) are no error."""
    try:
        found = [(p.stat().st_mtime, p) for p in folder.glob(pattern)]
    except OSError:
        return
    for _, old in sorted(found)[: max(0, len(found) - keep + 1)]:
        old.unlink(missing_ok=True)
