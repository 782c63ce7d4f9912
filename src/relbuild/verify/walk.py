"""The folder walk and the hashing behind `relbuild verify` (verify.py).

Fast on many small files: the folder is listed once (``scandir`` gives each
entry's type, so no file is stat'ed to find it), then each regular file costs
one ``open``, one ``fstat``, one ``read`` and one ``close``; small files are
handed to the worker threads in batches, large ones one by one, largest first.
The inode the listing saw must be the one opened, so a folder changed while it
is checked cannot slip a file from elsewhere in.
"""

from __future__ import annotations

import heapq
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple

from relbuild.attest import is_attestation_file
from relbuild.errors import UsageError
from relbuild.release.dist import SMALL, hash_fd, is_orphan

if TYPE_CHECKING:
    from relbuild.release.prefetch import Digests
    from relbuild.verify.findings import FindingKind

# Deeper than this, a folder is not walked (nor is any manifest path that deep).
MAX_DEPTH = 64
# Small files go to a worker in batches of about this many bytes.
BATCH_BYTES = 4 << 20


class _Reverse:
    """A path that sorts backwards, so that heapq's min-heap keeps the
    largest of the kept paths on top, ready to give way to a smaller one."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __lt__(self, other: _Reverse) -> bool:
        return self.value > other.value


class Extras:
    """Files that are not in the manifest: the ``limit`` first by path (a
    bounded heap, whatever order the folder lists them in) and a count."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.heap: list[tuple[_Reverse, str]] = []
        self.count = 0

    def add(self, path: str, detail: str) -> None:
        self.count += 1
        if len(self.heap) < self.limit:
            heapq.heappush(self.heap, (_Reverse(path), detail))
        elif self.heap and path < self.heap[0][0].value:
            heapq.heapreplace(self.heap, (_Reverse(path), detail))

    def sorted(self) -> list[tuple[str, str]]:
        return sorted((r.value, d) for r, d in self.heap)


# --- listing the folder ------------------------------------------------------------

EntryType = Literal["file", "dir", "link", "special"]


@dataclass
class Listing:
    """What the walk saw of the paths the manifest needs (artifacts, their
    folders, the SUMS files): type and inode."""

    seen: dict[str, tuple[EntryType, int]]


def _entry_type(entry: os.DirEntry[str]) -> EntryType:
    # d_type from the listing where the file system gives it, else one lstat.
    if entry.is_file(follow_symlinks=False):
        return "file"
    if entry.is_dir(follow_symlinks=False):
        return "dir"
    if entry.is_symlink():
        return "link"
    return "special"


_EXTRA_WHAT = {
    "link": "symbolic link",
    "file": "file",
    "special": "special file (FIFO, socket or device)",
}


def walk_folder(
    root: int,
    wanted: set[str],
    wanted_dirs: set[str],
    extras: Extras | None,
) -> Listing:
    """List the folder below the open folder ``root`` without following a
    link: every folder when ``extras`` collects files not in the manifest,
    else only the folders on the way to a wanted path."""
    seen: dict[str, tuple[EntryType, int]] = {}
    top = os.stat(root)
    stack: list[tuple[str, int]] = [("", top.st_ino)]
    while stack:
        rel, inode = stack.pop()
        depth = rel.count("/") + 1 if rel else 0
        try:
            fd = (
                os.dup(root)
                if not rel
                else os.open(rel, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=root)
            )
        except OSError as exc:
            raise UsageError(
                f"cannot list {rel or '.'}: {exc.strerror}; the folder cannot be checked"
            ) from None
        try:
            here = os.fstat(fd)
            # A mount point lists the inode below it: only on one device can
            # a different inode mean a folder swapped in.
            if here.st_ino != inode and here.st_dev == top.st_dev:
                raise UsageError(f"{rel}: replaced while the folder was checked; check it again")
            with os.scandir(fd) as entries:
                for entry in entries:
                    child = f"{rel}/{entry.name}" if rel else entry.name
                    kind = _entry_type(entry)
                    if child in wanted or child in wanted_dirs:
                        seen[child] = (kind, entry.inode())
                    if kind == "dir":
                        if (extras is not None or child in wanted_dirs) and depth < MAX_DEPTH:
                            stack.append((child, entry.inode()))
                        elif extras is not None and child not in wanted_dirs:
                            extras.add(child, f"folder nested deeper than {MAX_DEPTH} levels")
                    elif (
                        extras is not None
                        and child not in wanted
                        and not is_attestation_file(child)
                    ):
                        what = _EXTRA_WHAT[kind]
                        if is_orphan(child):
                            what += " left by an interrupted `relbuild manifest`"
                        extras.add(child, f"{what} not in the manifest")
        except OSError as exc:
            raise UsageError(
                f"cannot list {rel or '.'}: {exc.strerror}; the folder cannot be checked"
            ) from None
        finally:
            os.close(fd)
    return Listing(seen)


def resolve_entry(folder: Path, listing: Listing, rel: str) -> int | tuple[FindingKind, str]:
    """The inode of ``rel`` if it is a regular file reached through real
    folders only; else the finding."""
    # The walk only enters real folders, so a path it saw has none but
    # real folders on its way.
    kind, inode = listing.seen.get(rel, ("missing", 0))
    if kind == "file":
        return inode
    if kind == "link":
        return "unsafe-path", _link_detail(folder, rel)
    if kind != "missing":
        return "not-a-file", "not a regular file; not opened"
    parts = rel.split("/")
    for n in range(1, len(parts) + 1):
        prefix = "/".join(parts[:n])
        kind, inode = listing.seen.get(prefix, ("missing", 0))
        if kind == "link":
            return "unsafe-path", _link_detail(folder, prefix)
        if n < len(parts) and kind != "dir":
            return "missing", "listed but not there"
        if n == len(parts):
            if kind == "file":
                return inode
            if kind == "missing":
                return "missing", "listed but not there"
            return "not-a-file", "not a regular file; not opened"
    return "missing", "listed but not there"


def _link_detail(folder: Path, prefix: str) -> str:
    link = folder / prefix
    try:
        target = os.readlink(link)
    except OSError:
        target = "?"
    inside = os.path.realpath(link).startswith(os.path.realpath(folder) + os.sep)
    where = "inside" if inside else "outside"
    return f"symbolic link to {target!r} ({where} the folder); not followed"


# --- hashing --------------------------------------------------------------------


class Job(NamedTuple):
    at: int  # its index in the manifest
    rel: str
    inode: int
    hint: int  # the manifest's size: it only orders and batches the work


# (sha256, sha512, size, mode) or an error sentence
Result = tuple[str, str, int, int] | str

OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def _hash(root: int, job: Job) -> Result:
    try:
        fd = os.open(job.rel, OPEN_FLAGS, dir_fd=root)
    except OSError as exc:
        return f"cannot open: {exc.strerror}"
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return "no longer a regular file; not read"
        if st.st_ino != job.inode:
            return "replaced while the folder was checked; not read"
        sha256, sha512, size = hash_fd(fd, st.st_size)
        return sha256, sha512, size, stat.S_IMODE(st.st_mode)
    except OSError as exc:
        return f"cannot read: {exc.strerror}"
    finally:
        os.close(fd)


def _hash_batch(root: int, jobs: Sequence[Job]) -> list[Result]:
    return [_hash(root, job) for job in jobs]


def _batches(jobs: list[Job]) -> Iterator[list[Job]]:
    """Large files alone, largest first (one big file must not start last
    and run alone), then small files in batches."""
    jobs = sorted(jobs, key=lambda j: -j.hint)
    batch: list[Job] = []
    size = 0
    for job in jobs:
        if job.hint >= SMALL:
            yield [job]
            continue
        batch.append(job)
        size += job.hint + 4096
        if size >= BATCH_BYTES or len(batch) >= 1024:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


Progress = Callable[[str, int, int], None]
"""(what, done, total): what a long verify is doing, for a progress line."""


def hash_all(
    root: int, jobs: list[Job], workers: int, progress: Progress | None = None
) -> dict[int, Result]:
    """Each job's digests; ``progress`` hears the bytes hashed after each batch."""
    results: dict[int, Result] = {}
    batches = list(_batches(jobs))
    total, done = sum(j.hint for j in jobs), 0

    def took(batch: Sequence[Job], out: list[Result]) -> None:
        nonlocal done
        for job, result in zip(batch, out, strict=True):
            results[job.at] = result
        done += sum(j.hint for j in batch)
        if progress is not None:
            progress("hashing", done, total)

    if workers <= 1 or len(batches) <= 1:
        for batch in batches:
            took(batch, _hash_batch(root, batch))
        return results
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for batch, out in zip(
            batches, pool.map(lambda b: _hash_batch(root, b), batches), strict=True
        ):
            took(batch, out)
    return results


def take_prefetched(digests: Digests, todo: list[Job], results: dict[int, Result]) -> list[Job]:
    """Fill ``results`` from the prefetch child where it hashed the very
    file (same path, same inode) the listing found; the jobs left to do."""
    left = []
    for job in todo:
        got = digests.get(job.rel)
        if got is not None and got[0] == job.inode:
            results[job.at] = got[1:]
        else:
            left.append(job)
    return left
