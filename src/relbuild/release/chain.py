"""The hash chain of a release series: each manifest names the version and
the SHA-256 of the manifest of the release before (``previous``), so a
release edited after the fact no longer matches what the next one recorded.

:func:`verify_chain` needs each release's manifest bytes only: it is what
`relbuild history verify` runs over folders, and what a history database
can run over the manifests it keeps.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, computed_field

from relbuild.errors import UsageError
from relbuild.release import semver
from relbuild.release.dist import Manifest, PreviousRecord, parse_manifest


def previous_record(raw: bytes, manifest: Manifest) -> PreviousRecord:
    """The link a release built after ``manifest`` (whose bytes are ``raw``) records."""
    return PreviousRecord(
        version=manifest.project.version, manifest_sha256=hashlib.sha256(raw).hexdigest()
    )


def check_successor(new_version: str, previous: PreviousRecord) -> None:
    """A release replaces the one before only with a strictly greater
    semantic version: anything else is a UsageError (exit 2)."""
    try:
        new, old = semver.parse(new_version), semver.parse(previous.version)
    except semver.SemverError as exc:
        raise UsageError(
            f"--previous: versions {new_version!r} and {previous.version!r}: {exc}; "
            "a release series orders its versions by semver"
        ) from None
    if not new > old:
        raise UsageError(
            f"version {new_version} is not greater than the previous release's "
            f"{previous.version}; a release replaces only an older one"
        )


@dataclass(frozen=True)
class Release:
    """One manifest of the series: where it came from (named in messages)
    and its exact bytes."""

    name: str
    raw: bytes


class ChainLink(BaseModel):
    """How the release ``version`` (from ``source``) links to the one before."""

    source: str
    version: str
    manifest_sha256: str
    status: str  # "first", "ok", "broken", "gap", "unlinked"
    detail: str = ""


class ChainReport(BaseModel):
    links: list[ChainLink]
    first_broken: str | None = None  # the source of the first broken link

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return self.first_broken is None


def _ordered(releases: Sequence[Release]) -> list[tuple[Release, Manifest, semver.Version]]:
    parsed = []
    for rel in releases:
        manifest = parse_manifest(rel.raw, Path(rel.name))
        try:
            version = semver.parse(manifest.project.version)
        except semver.SemverError as exc:
            raise UsageError(
                f"{rel.name}: version {manifest.project.version!r}: {exc}; a release series "
                "orders its versions by semver"
            ) from None
        parsed.append((rel, manifest, version))
    parsed.sort(key=lambda item: item[2])
    for (a, _, va), (b, _, vb) in itertools.pairwise(parsed):
        if va.same_precedence(vb):
            raise UsageError(f"{a.name} and {b.name} are both version {va}: one release each")
    return parsed


def verify_chain(releases: Sequence[Release]) -> ChainReport:
    """Walk the series oldest first (by semver, whatever order they come in):
    every release after the first must name the one before it by version
    and by the SHA-256 of its manifest's bytes. A manifest that is not one,
    or a version that is not semver, is a UsageError."""
    links: list[ChainLink] = []
    first_broken: str | None = None
    before: tuple[Release, Manifest] | None = None
    for rel, manifest, _ in _ordered(releases):
        digest = hashlib.sha256(rel.raw).hexdigest()
        link = ChainLink(
            source=rel.name,
            version=manifest.project.version,
            manifest_sha256=digest,
            status="first",
        )
        prev = manifest.previous
        if before is not None:
            old_rel, old = before
            old_digest = hashlib.sha256(old_rel.raw).hexdigest()
            if prev is None:
                link.status, link.detail = "unlinked", "names no previous release"
            elif prev.version != old.project.version:
                link.status = "gap"
                link.detail = (
                    f"names {prev.version} as the release before, not {old.project.version}: "
                    "a release between them is not in the series given"
                )
            elif prev.manifest_sha256 != old_digest:
                link.status = "broken"
                link.detail = (
                    f"names {prev.version}'s manifest by SHA-256 {prev.manifest_sha256}, but "
                    f"{old_rel.name} has {old_digest}: {prev.version} was changed after "
                    f"{link.version} was built"
                )
            else:
                link.status = "ok"
                link.detail = f"names {prev.version} by its manifest's SHA-256"
            if link.status != "ok" and first_broken is None:
                first_broken = rel.name
        elif prev is not None:
            link.detail = f"names {prev.version} ({prev.manifest_sha256}), not in the series given"
        links.append(link)
        before = (rel, manifest)
    return ChainReport(links=links, first_broken=first_broken)
