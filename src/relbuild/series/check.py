"""`relbuild history check`: a release against its baseline.

The release is a dist given on the command line (verified, not added) or
the history's latest. Its baseline is, by default, the last ``baseline``
releases before it (5 unless `[regressions] baseline` says otherwise); for
times only those built on the same machine class. ``--against VERSION``
makes one release the baseline. Every measure is judged by noise.judge.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from pydantic import BaseModel, computed_field

from relbuild.config.series import Regressions
from relbuild.errors import UsageError
from relbuild.release.dist import ArtifactRecord
from relbuild.series import db, ingest, store
from relbuild.series.noise import judge
from relbuild.system.escaping import shown

SIZE_MEASURES = ("size", "flash", "ram")
TIME_MEASURES = ("build-cpu", "build-time", "checksum-time")


class Comparison(BaseModel):
    measure: str  # size | flash | ram | build-cpu | build-time | checksum-time
    subject: str  # the artifact, the step, or "release"
    unit: str  # "B" or "s"
    level: str  # ok | warn | fail
    baseline: float
    now: float
    limit: str
    noise: float | None = None
    samples: int
    note: str = ""


class CheckReport(BaseModel):
    project: str
    version: str
    baseline: list[str]  # versions, oldest first
    machine: str | None
    comparisons: list[Comparison]
    note: str = ""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return all(c.level != "fail" for c in self.comparisons)

    @property
    def flagged(self) -> list[Comparison]:
        return [c for c in self.comparisons if c.level != "ok"]


def artifact_key(art: ArtifactRecord, version: str) -> str:
    """An artifact's name across releases: its path with the version taken out."""
    return art.path.replace(version, "{version}") if version else art.path


def sizes(rel: store.Release) -> dict[tuple[str, str], float]:
    """(measure, subject) -> bytes, for every artifact and firmware."""
    out: dict[tuple[str, str], float] = {}
    for art in rel.manifest.artifacts:
        key = artifact_key(art, rel.version)
        out[("size", key)] = art.size
        if art.footprint is not None:
            out[("flash", key)] = art.footprint.flash
            out[("ram", key)] = art.footprint.ram
    return out


def times(rel: store.Release) -> dict[tuple[str, str], float]:
    """(measure, subject) -> seconds, for what was measured."""
    got = rel.measured
    out: dict[tuple[str, str], float] = {}
    if got.steps:
        for s in got.steps:
            out[("build-cpu", f"{s.target} {s.component}")] = s.cpu_seconds
        out[("build-cpu", "all steps")] = sum(s.cpu_seconds for s in got.steps)
    if got.build_seconds is not None:
        out[("build-time", "release")] = got.build_seconds
    if got.checksum_seconds is not None:
        out[("checksum-time", "release")] = got.checksum_seconds
    return out


def _compare(
    now: dict[tuple[str, str], float],
    baseline: list[dict[tuple[str, str], float]],
    rules: Regressions,
    *,
    exact: bool,
) -> Iterator[Comparison]:
    for (measure, subject), value in now.items():
        samples = [b[(measure, subject)] for b in baseline if (measure, subject) in b]
        if not samples:
            continue  # new in this release: the changelog says so
        warn, fail = rules.levels(measure)
        v = judge(samples, value, warn, fail, exact=exact, k=rules.noise)
        yield Comparison(
            measure=measure,
            subject=subject,
            unit="B" if exact else "s",
            level=v.level,
            baseline=v.baseline,
            now=value,
            limit=v.limit,
            noise=v.noise,
            samples=len(samples),
            note=v.note,
        )


def check(
    db_path: Path,
    rules: Regressions,
    dist: Path | None = None,
    against: str | None = None,
    read: Callable[[Path], list[store.Release]] | None = None,
) -> CheckReport:
    history = (read or load)(db_path)
    if dist is not None:
        taken = ingest.take_in(dist)[1]
        # Already in the history: its record there has the build's own times.
        current = next((r for r in history if r.manifest_sha256 == taken.manifest_sha256), taken)
    elif history:
        current = history[-1]
    else:
        raise UsageError(f"{shown(db_path)}: the history holds no release to check")
    series = [r for r in history if r.manifest.project.name == current.manifest.project.name]
    digests = [r.manifest_sha256 for r in series]
    earlier = (
        series[: digests.index(current.manifest_sha256)]
        if current.manifest_sha256 in digests
        else series
    )
    if against is not None:
        chosen = [r for r in series if r.version == against]
        if not chosen:
            known = ", ".join(r.version for r in series[-10:]) or "none"
            raise UsageError(
                f"--against {shown(against)}: no such release in the history (latest: {known})"
            )
        size_base = time_base = chosen
    else:
        size_base = earlier[-rules.baseline :]
        same = [r for r in earlier if r.machine_class == current.machine_class]
        time_base = same[-rules.baseline :] if current.machine_class else []
    comparisons = [
        *_compare(sizes(current), [sizes(r) for r in size_base], rules, exact=True),
        *_compare(times(current), [times(r) for r in time_base], rules, exact=False),
    ]
    note = "" if size_base else "no earlier release of this project: nothing to compare"
    return CheckReport(
        project=current.manifest.project.name,
        version=current.version,
        baseline=[r.version for r in size_base],
        machine=current.machine_class,
        comparisons=comparisons,
        note=note,
    )


def load(db_path: Path) -> list[store.Release]:
    con = db.connect(db_path)
    try:
        return store.releases(con, db_path)
    finally:
        con.close()


def describe(c: Comparison) -> str:
    """One line, as `history check` prints a warning or a failure."""

    def fmt(x: float) -> str:
        return f"{x:,.0f} B" if c.unit == "B" else f"{x:.4g} s"

    pct = f" ({(c.now - c.baseline) / c.baseline:+.1%})" if c.baseline else ""
    noise = f", noise {fmt(c.noise)}" if c.noise is not None else ""
    tail = f"; {c.note}" if c.note else ""
    return (
        f"{c.measure} of {c.subject}: baseline {fmt(c.baseline)} (median of {c.samples}), "
        f"now {fmt(c.now)}{pct}, limit {c.limit}{noise}{tail}"
    )
