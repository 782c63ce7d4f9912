"""`relbuild history add`: published releases into the history.

Each dist is verified first (relbuild.verify.folder: every digest, the SUMS
files, the SBOM and provenance against the manifest); one that does not
verify is refused and none of the dists given is added. The manifest is
kept as the bytes that were verified. What was measured comes from the
build report (``build-report.json`` in the dist, or given), which must be
the report of this very build (the same artifacts, digest for digest);
without one, the dist's checksum time is measured here, on this machine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ValidationError, computed_field

from relbuild.errors import RelbuildError, UsageError
from relbuild.pipeline import measure
from relbuild.pipeline.model import BuildResult
from relbuild.release.dist import MAX_MANIFEST_BYTES, Manifest, locate, parse_manifest
from relbuild.release.safefs import read_regular
from relbuild.series import db, store
from relbuild.system import bounded
from relbuild.system.escaping import shown
from relbuild.verify.folder import verify

REPORT_NAME = "build-report.json"
MAX_REPORT_BYTES = 16 * 1024 * 1024


class TamperedError(RelbuildError):
    """A release that does not match its own manifest: never taken in."""

    exit_code = 1


class Added(BaseModel):
    version: str
    manifest_sha256: str
    added: bool  # False: the history had it already
    measured_by: str  # "build report" or "intake"


class AddReport(BaseModel):
    db: str
    releases: list[Added]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return True


def read_report(path: Path) -> BuildResult:
    """A build report (hostile input: bounded, validated; UsageError else)."""
    try:
        raw = read_regular(path, MAX_REPORT_BYTES)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the build report: {exc.strerror or exc}") from None
    try:
        data = bounded.loads(raw, max_values=1_000_000)
        return BuildResult.model_validate(data)
    except (bounded.DocumentError, ValidationError, RecursionError) as exc:
        what = str(exc).splitlines()[0]
        raise UsageError(f"{path}: not a relbuild build report ({what})") from None


def _matches(result: BuildResult, manifest: Manifest) -> bool:
    return {(a.path, a.sha256) for a in result.artifacts} == {
        (a.path, a.sha256) for a in manifest.artifacts
    }


def take_in(dist: Path, reports: Sequence[BuildResult] = ()) -> tuple[bytes, store.Release, str]:
    """The verified release in ``dist``, its manifest's bytes and where its
    measures came from: the first of ``reports`` (and the dist's own
    build-report.json) that is this build's."""
    folder, manifest_path = locate(dist)
    try:
        raw = read_regular(manifest_path, MAX_MANIFEST_BYTES)
    except OSError as exc:
        raise UsageError(f"{shown(manifest_path)}: cannot read: {exc.strerror or exc}") from None
    checked = verify(dist, allow_extra=(folder / REPORT_NAME).is_file())
    if not checked.ok:
        first = checked.findings[0] if checked.findings else None
        detail = f"; first: {first.kind} {shown(first.path)} ({first.detail})" if first else ""
        raise TamperedError(
            f"{shown(dist)}: does not match its manifest ({checked.finding_count} "
            f"finding(s){detail}); not added",
            hint="`relbuild verify` lists every finding.",
        )
    manifest = parse_manifest(raw, manifest_path)
    if read_regular(manifest_path, MAX_MANIFEST_BYTES) != raw:
        raise TamperedError(f"{shown(manifest_path)}: changed while it was verified; not added")
    own = folder / REPORT_NAME
    if own.is_file():
        beside = read_report(own)
        if not _matches(beside, manifest):
            raise UsageError(
                f"{shown(own)}: the build report of another build (its artifacts are not "
                f"those of {shown(dist)})"
            )
        reports = [beside, *reports]
    result = next((r for r in reports if _matches(r, manifest)), None)
    if result is not None:
        measured = store.Measured(
            build_seconds=result.seconds,
            build_cpu=result.cpu_seconds,
            checksum_seconds=result.checksum.seconds if result.checksum else None,
            checksum_cpu=result.checksum.cpu_seconds if result.checksum else None,
            machine=result.machine,
            steps=result.steps,
        )
        source = "build report"
    else:
        took = measure.checksum_time(folder, manifest.artifacts)
        measured = store.Measured(
            checksum_seconds=took.seconds,
            checksum_cpu=took.cpu_seconds,
            machine=measure.machine(),
        )
        source = "intake"
    digest = hashlib.sha256(raw).hexdigest()
    return raw, store.Release(manifest_sha256=digest, manifest=manifest, measured=measured), source


def add(db_path: Path, dists: Sequence[Path], reports: Sequence[BuildResult] = ()) -> AddReport:
    """Verify every dist, then add each (in its own transaction; one the
    history has already is a no-op). ``reports``: build reports, each used
    for the dist whose artifacts it lists."""
    taken = [take_in(dist, reports) for dist in dists]
    con = db.connect(db_path, create=True)
    try:
        out = [
            Added(
                version=rel.version,
                manifest_sha256=rel.manifest_sha256,
                added=store.insert(con, raw, rel),
                measured_by=source,
            )
            for raw, rel, source in taken
        ]
    finally:
        con.close()
    return AddReport(db=str(db_path), releases=out)
