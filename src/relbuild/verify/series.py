"""`relbuild history verify DIR...`: the hash chain over dist folders.

Each folder is first held against its own manifest (as `relbuild verify`
does: a flipped byte in an artifact is named there, since the chain covers
the manifest, which covers the artifacts by digest); then the manifests are
walked oldest first (:func:`relbuild.release.chain.verify_chain`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, computed_field

from relbuild.errors import UsageError
from relbuild.release.chain import ChainReport, Release, previous_record, verify_chain
from relbuild.release.dist import MAX_MANIFEST_BYTES, PreviousRecord, locate, parse_manifest
from relbuild.release.safefs import read_regular
from relbuild.system.escaping import shown
from relbuild.verify.findings import VerifyReport
from relbuild.verify.folder import verify

MAX_RELEASES = 1000


class SeriesReport(BaseModel):
    folders: list[VerifyReport]
    chain: ChainReport

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return self.chain.ok and all(f.ok for f in self.folders)


def read_release(arg: Path) -> Release:
    """The exact bytes of a dist's manifest (a folder or a manifest file)."""
    _, path = locate(arg)
    try:
        raw = read_regular(path, MAX_MANIFEST_BYTES)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such manifest") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return Release(str(arg), raw)


def verify_series(dists: Sequence[Path], *, jobs: int | None = None) -> SeriesReport:
    if not dists:
        raise UsageError("name the dist folders of the series")
    if len(dists) > MAX_RELEASES:
        raise UsageError(f"{len(dists)} releases: at most {MAX_RELEASES} at once")
    folders = [verify(d, jobs=jobs) for d in dists if d.is_dir()]
    return SeriesReport(folders=folders, chain=verify_chain([read_release(d) for d in dists]))


def previous_of(dist: Path, *, jobs: int | None = None) -> PreviousRecord:
    """`relbuild build --previous DIST`: the link to DIST, which must hold
    what its manifest says (a link to an altered release proves nothing)."""
    report = verify(dist, jobs=jobs)
    if not report.ok:
        first = report.findings[0] if report.findings else None
        what = f": {first.kind} {shown(first.path)}: {shown(first.detail)}" if first else ""
        raise UsageError(
            f"--previous {shown(dist)}: does not match its own manifest "
            f"({report.finding_count} finding(s){what}); `relbuild verify` says more"
        )
    rel = read_release(dist)
    return previous_record(rel.raw, parse_manifest(rel.raw, Path(rel.name)))
