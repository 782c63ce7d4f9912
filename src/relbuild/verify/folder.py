"""`relbuild verify`: does a dist folder match its manifest?

Safe on hostile input: nothing outside the folder is ever opened (absolute
paths, `..` and symbolic links are findings, not reads), nothing that is not
a regular file is opened (a FIFO would block, a device may act on open), and
each file is read once, in bounded memory, for both digests.

The folder walk and the hashing are in verify_walk.py, the checks of each
artifact and of the SUMS files in verify_checks.py.

Findings are kept in bounded memory: the first ``MAX_FINDINGS`` in report
order, and a count of all of them by kind.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from relbuild.attest import ATTESTATION_FILES
from relbuild.errors import UsageError
from relbuild.release.dist import MANIFEST_NAME, Manifest, load_manifest, locate
from relbuild.release.prefetch import Prefetched
from relbuild.release.safefs import safe_relpath
from relbuild.release.sums import SUMS
from relbuild.verify.artifacts import compare, leak_scanner, sums_findings
from relbuild.verify.attestations import attestation_findings
from relbuild.verify.findings import MAX_FINDINGS, Finding, FindingKind, Sink, VerifyReport
from relbuild.verify.walk import (
    MAX_DEPTH,
    Extras,
    Job,
    Progress,
    Result,
    hash_all,
    resolve_entry,
    take_prefetched,
    walk_folder,
)

if TYPE_CHECKING:
    from relbuild.attest.keys import Verifier

# --- the check --------------------------------------------------------------------


@dataclass
class _Plan:
    safe: dict[int, str]  # artifact index -> a path that may be opened
    problems: dict[int, tuple[FindingKind, str]]  # artifact index -> finding
    wanted: set[str]  # paths the walk records
    wanted_dirs: set[str]  # the folders on their way


def _plan(manifest: Manifest, own_manifest: bool) -> _Plan:
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
    keys: Sequence[Verifier] = (),
    threshold: int | None = None,
    progress: Progress | None = None,
) -> VerifyReport:
    """Check the dist folder (or the manifest) ``arg``. With ``leaks``, also
    scan every artifact (but archives, whose members are artifacts too) for
    paths under the usual home and temp folders (see leaks.py). With ``key``,
    the signatures are checked first (with ``keys``: by ``threshold`` of them,
    default all; verify/approvals.py); the SBOM and the provenance (when
    there) are always held against the manifest.
    ``prefetched``: a child already hashing the folder's small files
    (relbuild.release.prefetch); its digests are taken only for the paths and inodes
    this listing finds. ``progress`` hears the bytes hashed and, with
    ``leaks``, the artifacts scanned."""
    folder, manifest_path = locate(arg)
    manifest = load_manifest(manifest_path)
    sink = Sink(MAX_FINDINGS)

    given = [key, *keys] if key is not None else list(keys)
    for f in attestation_findings(folder, manifest, given, threshold):
        sink.add(f.kind, f.path, f.detail)
    scanner = leak_scanner(manifest) if leaks else None
    extras = None if allow_extra else Extras(MAX_FINDINGS)
    plan = _plan(manifest, folder / MANIFEST_NAME == manifest_path)
    try:
        root = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise UsageError(f"{folder}: cannot open: {exc.strerror}") from None
    try:
        listing = walk_folder(root, plan.wanted, plan.wanted_dirs, extras)
        todo: list[Job] = []
        for i, rel in plan.safe.items():
            found = resolve_entry(folder, listing, rel)
            if isinstance(found, tuple):
                plan.problems[i] = found
            else:
                todo.append(Job(i, rel, found, manifest.artifacts[i].size))
        results: dict[int, Result] = {}
        if prefetched is not None:
            todo = take_prefetched(prefetched.results(), todo, results)
        workers = jobs or (
            len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else os.cpu_count() or 1
        )
        results.update(hash_all(root, todo, min(32, workers), progress))
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
            compare(sink, root, art, result)
            if scanner is not None:
                scanner(sink, root, art)
                if progress is not None:
                    progress("scanning for leaked paths", i + 1, len(manifest.artifacts))
        sums_findings(sink, root, listing, manifest)
    finally:
        os.close(root)
    report = _report(folder, manifest_path, manifest, total, sink, extras)
    report.leaks_scanned = leaks
    report.signers = len(given)
    return report


def _report(
    folder: Path,
    manifest_path: Path,
    manifest: Manifest,
    total: int,
    sink: Sink,
    extras: Extras | None,
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
