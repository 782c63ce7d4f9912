"""`relbuild verify`: does a dist folder match its manifest?

Safe on hostile input: nothing outside the folder is ever opened (absolute
paths, `..` and symbolic links are findings, not reads), nothing that is not
a regular file is opened (a FIFO would block, a device may act on open), and
each file is read once, in bounded memory, for both digests.

Fast on many small files: the folder is listed once (``scandir`` gives each
entry's type, so no file is stat'ed to find it), then each regular file costs
one ``open``, one ``fstat``, one ``read`` and one ``close``; small files are
handed to the worker threads in batches, large ones one by one, largest first.
The inode the listing saw must be the one opened, so a folder changed while it
is checked cannot slip a file from elsewhere in.

Findings are kept in bounded memory: the first ``MAX_FINDINGS`` in report
order, and a count of all of them by kind.
"""

from __future__ import annotations

import heapq
import os
import stat
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple

from pydantic import BaseModel, computed_field

from relbuild.dist import (
    MANIFEST_NAME,
    MAX_MANIFEST_BYTES,
    SMALL,
    SUMS,
    Algo,
    ArtifactRecord,
    Manifest,
    hash_fd,
    is_orphan,
    load_manifest,
    locate,
    parse_sums,
    safe_relpath,
)
from relbuild.errors import UsageError
from relbuild.prefetch import Digests, Prefetched

if TYPE_CHECKING:
    from relbuild.attest.keys import Verifier

FindingKind = Literal[
    "missing",
    "changed",
    "size",
    "extra",
    "mode",
    "sums",
    "unsafe-path",
    "not-a-file",
    "elf",
    "firmware",
    "duplicate",
    "leak",
    "signature",
    "subject",
    "attestation",
]

MAX_FINDINGS = 100
# Deeper than this, a folder is not walked (nor is any manifest path that deep).
MAX_DEPTH = 64
# Small files go to a worker in batches of about this many bytes.
BATCH_BYTES = 4 << 20
# ELF checks read a firmware image whole; a larger one is not firmware.
MAX_FIRMWARE_BYTES = 64 << 20


class Finding(BaseModel):
    kind: FindingKind
    path: str
    detail: str


class VerifyReport(BaseModel):
    folder: str
    manifest: str
    artifacts: int
    bytes_hashed: int
    findings: list[Finding]
    finding_count: int = 0
    finding_counts: dict[str, int] = {}

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return not self.findings and not self.finding_count

    @property
    def omitted(self) -> int:
        return self.finding_count - len(self.findings)


class _Sink:
    """The first ``limit`` findings in the order they are added, and a count
    of all of them by kind: 420,000 missing files cost a counter, not
    420,000 objects."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.kept: list[Finding] = []
        self.counts: Counter[str] = Counter()

    def add(self, kind: FindingKind, path: str, detail: str) -> None:
        self.counts[kind] += 1
        if len(self.kept) < self.limit:
            self.kept.append(Finding(kind=kind, path=path, detail=detail))

    def add_many(self, kind: FindingKind, path: str, count: int, detail: str) -> None:
        """``count`` findings shown as one line."""
        self.add(kind, path, detail)
        self.counts[kind] += count - 1


class _Reverse:
    """A path that sorts backwards, so that heapq's min-heap keeps the
    largest of the kept paths on top, ready to give way to a smaller one."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __lt__(self, other: _Reverse) -> bool:
        return self.value > other.value


class _Extras:
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
class _Listing:
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


def _walk(
    root: int,
    wanted: set[str],
    wanted_dirs: set[str],
    extras: _Extras | None,
) -> _Listing:
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
                    elif extras is not None and child not in wanted:
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
    return _Listing(seen)


# --- hashing --------------------------------------------------------------------


class _Job(NamedTuple):
    at: int  # its index in the manifest
    rel: str
    inode: int
    hint: int  # the manifest's size: it only orders and batches the work


# (sha256, sha512, size, mode) or an error sentence
_Result = tuple[str, str, int, int] | str

_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def _hash(root: int, job: _Job) -> _Result:
    try:
        fd = os.open(job.rel, _FLAGS, dir_fd=root)
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


def _hash_batch(root: int, jobs: Sequence[_Job]) -> list[_Result]:
    return [_hash(root, job) for job in jobs]


def _batches(jobs: list[_Job]) -> Iterator[list[_Job]]:
    """Large files alone, largest first (one big file must not start last
    and run alone), then small files in batches."""
    jobs = sorted(jobs, key=lambda j: -j.hint)
    batch: list[_Job] = []
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


def _hash_all(root: int, jobs: list[_Job], workers: int) -> dict[int, _Result]:
    results: dict[int, _Result] = {}
    batches = list(_batches(jobs))
    if workers <= 1 or len(batches) <= 1:
        for batch in batches:
            for job, result in zip(batch, _hash_batch(root, batch), strict=True):
                results[job.at] = result
        return results
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for batch, out in zip(
            batches, pool.map(lambda b: _hash_batch(root, b), batches), strict=True
        ):
            for job, result in zip(batch, out, strict=True):
                results[job.at] = result
    return results


def _take_prefetched(digests: Digests, todo: list[_Job], results: dict[int, _Result]) -> list[_Job]:
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


# --- the check --------------------------------------------------------------------


@dataclass
class _Plan:
    safe: dict[int, str]  # artifact index -> a path that may be opened
    problems: dict[int, tuple[FindingKind, str]]  # artifact index -> finding
    wanted: set[str]  # paths the walk records
    wanted_dirs: set[str]  # the folders on their way


def _plan(manifest: Manifest, own_manifest: bool) -> _Plan:
    from relbuild.attest import ATTESTATION_FILES

    plan = _Plan({}, {}, {*SUMS.values(), *ATTESTATION_FILES}, set())
    if own_manifest:
        plan.wanted.add(MANIFEST_NAME)
    first: dict[str, int] = {}
    for i, art in enumerate(manifest.artifacts):
        if first.setdefault(art.path, i) != i:
            plan.problems[i] = ("duplicate", "listed twice")
            continue
        why = safe_relpath(art.path)
        if why is None and art.path.count("/") >= MAX_DEPTH:
            why = f"more than {MAX_DEPTH} folders deep"
        if why:
            plan.problems[i] = ("unsafe-path", f"{why}; not opened")
            continue
        plan.safe[i] = art.path
        plan.wanted.add(art.path)
        head = art.path.rpartition("/")[0]
        while head and head not in plan.wanted_dirs:
            plan.wanted_dirs.add(head)
            head = head.rpartition("/")[0]
    return plan


def verify(
    arg: Path,
    *,
    allow_extra: bool = False,
    jobs: int | None = None,
    leaks: bool = False,
    prefetched: Prefetched | None = None,
    key: Verifier | None = None,
) -> VerifyReport:
    """Check the dist folder (or the manifest) ``arg``. With ``leaks``, also
    scan every artifact (but archives, whose members are artifacts too) for
    paths under the usual home and temp folders (see leaks.py). With ``key``,
    the signatures are checked first; the SBOM and the provenance (when
    there) are always held against the manifest.
    ``prefetched``: a child already hashing the folder's small files
    (relbuild.prefetch); its digests are taken only for the paths and inodes
    this listing finds."""
    folder, manifest_path = locate(arg)
    manifest = load_manifest(manifest_path)
    sink = _Sink(MAX_FINDINGS)
    from relbuild.attest.check import attestation_findings

    for f in attestation_findings(folder, manifest, key):
        sink.add(f.kind, f.path, f.detail)
    scanner = _leak_scanner(manifest) if leaks else None
    extras = None if allow_extra else _Extras(MAX_FINDINGS)
    plan = _plan(manifest, folder / MANIFEST_NAME == manifest_path)
    try:
        root = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise UsageError(f"{folder}: cannot open: {exc.strerror}") from None
    try:
        listing = _walk(root, plan.wanted, plan.wanted_dirs, extras)
        todo: list[_Job] = []
        for i, rel in plan.safe.items():
            found = _resolve(folder, listing, rel)
            if isinstance(found, tuple):
                plan.problems[i] = found
            else:
                todo.append(_Job(i, rel, found, manifest.artifacts[i].size))
        results: dict[int, _Result] = {}
        if prefetched is not None:
            todo = _take_prefetched(prefetched.results(), todo, results)
        workers = jobs or (
            len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else os.cpu_count() or 1
        )
        results.update(_hash_all(root, todo, min(32, workers)))
        total = 0
        for i, art in enumerate(manifest.artifacts):
            if i in plan.problems:
                kind, detail = plan.problems[i]
                sink.add(kind, art.path, detail)
                continue
            result = results[i]
            if isinstance(result, str):
                sink.add("not-a-file", art.path, result)
                continue
            total += result[2]
            _compare(sink, root, art, result)
            if scanner is not None:
                scanner(sink, root, art)
        _sums_findings(sink, root, listing, manifest)
    finally:
        os.close(root)
    return _report(folder, manifest_path, manifest, total, sink, extras)


def _report(
    folder: Path,
    manifest_path: Path,
    manifest: Manifest,
    total: int,
    sink: _Sink,
    extras: _Extras | None,
) -> VerifyReport:
    """Findings in report order (artifacts, SUMS, extra files), the first
    ``MAX_FINDINGS`` of them, and the counts of all."""
    findings = sink.kept
    counts = Counter(sink.counts)
    if extras is not None and extras.count:
        room = max(0, MAX_FINDINGS - len(findings))
        findings += [Finding(kind="extra", path=p, detail=d) for p, d in extras.sorted()[:room]]
        counts["extra"] += extras.count
    return VerifyReport(
        folder=str(folder),
        manifest=str(manifest_path),
        artifacts=len(manifest.artifacts),
        bytes_hashed=total,
        findings=findings,
        finding_count=sum(counts.values()),
        finding_counts=dict(sorted(counts.items())),
    )


def _leak_scanner(manifest: Manifest) -> Callable[[_Sink, int, ArtifactRecord], None]:
    from relbuild.leaks import Scanner, common_root_needles

    waived = {w.component for w in manifest.waivers if w.check == "path-leaks"}
    scanner = Scanner(common_root_needles())

    def scan(sink: _Sink, root: int, art: ArtifactRecord) -> None:
        if art.kind == "archive" or art.component in waived:
            return
        try:
            fd = os.open(art.path, _FLAGS, dir_fd=root)
        except OSError:
            return  # reported as a finding already
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return
            data = fh.read()
        for leak in scanner.scan_bytes(data, art.path):
            sink.add("leak", art.path, f"{leak.where}: {leak.found!r}")

    return scan


def _resolve(folder: Path, listing: _Listing, rel: str) -> int | tuple[FindingKind, str]:
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


def _compare(
    sink: _Sink, root: int, art: ArtifactRecord, result: tuple[str, str, int, int]
) -> None:
    sha256, sha512, size, mode = result
    differ = [
        name for name, got in (("sha256", sha256), ("sha512", sha512)) if got != getattr(art, name)
    ]
    if differ:
        sizes = f"; size {art.size} in the manifest, {size} on disk" if size != art.size else ""
        sink.add(
            "changed",
            art.path,
            f"{' and '.join(differ)} differ{'s' if len(differ) == 1 else ''}{sizes}",
        )
    elif size != art.size:
        sink.add("size", art.path, f"size {art.size} in the manifest, {size} on disk")
    if f"0{mode:o}" != art.mode:
        sink.add("mode", art.path, f"mode 0{mode:o}, the manifest says {art.mode}")
    if not differ and art.kind in ("executable", "staticlib", "firmware") and art.target:
        for kind, detail in _elf_findings(root, art):
            sink.add(kind, art.path, detail)


def _elf_findings(root: int, art: ArtifactRecord) -> list[tuple[FindingKind, str]]:
    from relbuild.triples import TRIPLES

    triple = TRIPLES.get(art.target or "")
    if triple is None:
        return []
    from relbuild import elfcheck, firmware

    out: list[tuple[FindingKind, str]] = []
    try:
        fd = os.open(art.path, _FLAGS, dir_fd=root)
    except OSError as exc:
        return [("not-a-file", f"cannot open again for the ELF check: {exc.strerror}")]
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return [("not-a-file", "no longer a regular file; not read")]
        name = art.path.rpartition("/")[2]
        out += [("elf", p) for p in elfcheck.check_stream(fh, triple, name)]
        if art.kind == "firmware" and triple.bare_metal:
            if art.size > MAX_FIRMWARE_BYTES:
                return [*out, ("firmware", f"{art.size} bytes is too large to be firmware")]
            fh.seek(0)
            data = fh.read(MAX_FIRMWARE_BYTES + 1)
            out += [("firmware", p) for p in firmware.sanity_problems(data, triple, art.path)]
    return out


def _sums_findings(sink: _Sink, root: int, listing: _Listing, manifest: Manifest) -> None:
    for algo, name in SUMS.items():
        kind, inode = listing.seen.get(name, ("missing", 0))
        if kind != "file":
            detail = {
                "missing": "missing",
                "link": "a symbolic link; not followed",
                "dir": "not a regular file",
                "special": "not a regular file",
            }[kind]
            sink.add("sums", name, detail)
            continue
        text = _read_sums(sink, root, name, inode)
        if text is not None:
            _check_sums(sink, name, algo, text, manifest)


def _read_sums(sink: _Sink, root: int, name: str, inode: int) -> str | None:
    try:
        fd = os.open(name, _FLAGS, dir_fd=root)
    except OSError as exc:
        sink.add("sums", name, f"unreadable: {exc.strerror}")
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_ino != inode:
            sink.add("sums", name, "replaced while the folder was checked; not read")
            return None
        if st.st_size > MAX_MANIFEST_BYTES:
            sink.add("sums", name, "too large to be a sums file")
            return None
        raw = os.read(fd, st.st_size + 1)
        while len(raw) <= MAX_MANIFEST_BYTES and (more := os.read(fd, 1 << 20)):
            raw += more
    except OSError as exc:
        sink.add("sums", name, f"unreadable: {exc.strerror}")
        return None
    finally:
        os.close(fd)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        sink.add("sums", name, f"not UTF-8 ({exc.reason} at byte {exc.start})")
        return raw.decode("utf-8", errors="replace")


def _check_sums(sink: _Sink, name: str, algo: Algo, text: str, manifest: Manifest) -> None:
    sums = parse_sums(text, algo)
    for problem in sums.problems:
        sink.add("sums", name, problem)
    more = sums.problem_count - len(sums.problems)
    if more:
        sink.add_many("sums", name, more, f"{more} more problem(s) of this kind or another")
    entries = sums.entries
    done: set[str] = set()
    for art in manifest.artifacts:
        if art.path in done:
            continue
        done.add(art.path)
        got = entries.pop(art.path, None)
        if got is None:
            sink.add("sums", name, f"no line for {art.path}")
        elif got != getattr(art, algo):
            sink.add("sums", name, f"{art.path}: {algo} disagrees with the manifest")
    for extra in sorted(entries):
        sink.add("sums", name, f"{extra} is listed but not in the manifest")
