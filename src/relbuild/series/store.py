"""Releases into the history and out of it.

A :class:`Release` is what the history keeps of one published release: its
manifest (bytes as published, so its SHA-256 is the release's identity) and
what was measured when it was built (the build report) or taken in. Rows
read back are checked as they are read: a value of the wrong type in a
hostile file is a UsageError, never a traceback.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import zlib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from relbuild.errors import RelbuildError, UsageError
from relbuild.pipeline.measure import Machine
from relbuild.pipeline.model import StepTiming
from relbuild.release.dist import MAX_MANIFEST_BYTES, Manifest, parse_manifest
from relbuild.series.db import transaction

M = TypeVar("M", bound=BaseModel)


class Measured(BaseModel):
    """What a build or the intake measured (None: not known)."""

    build_seconds: float | None = None
    build_cpu: float | None = None
    checksum_seconds: float | None = None
    checksum_cpu: float | None = None
    machine: Machine | None = None
    steps: list[StepTiming] = []


class Release(BaseModel):
    manifest_sha256: str
    manifest: Manifest
    measured: Measured = Measured()

    @property
    def version(self) -> str:
        return self.manifest.project.version

    @property
    def machine_class(self) -> str | None:
        m = self.measured.machine
        return m.klass if m is not None else None


class ConflictError(RelbuildError):
    """The history already holds this version, with another manifest."""

    exit_code = 1


def insert(con: sqlite3.Connection, raw_manifest: bytes, release: Release) -> bool:
    """Add ``release`` (its manifest's bytes ``raw_manifest``); False when
    the history has it already. One transaction."""
    try:
        return _insert(con, raw_manifest, release)
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        raise UsageError(f"the history cannot take the release ({exc})") from None


def _insert(con: sqlite3.Connection, raw_manifest: bytes, release: Release) -> bool:
    m, got = release.manifest, release.measured
    with transaction(con):
        if con.execute(
            "SELECT 1 FROM releases WHERE manifest_sha256 = ?", (release.manifest_sha256,)
        ).fetchone():
            return False
        other = con.execute(
            "SELECT manifest_sha256 FROM releases WHERE project = ? AND version = ?",
            (m.project.name, m.project.version),
        ).fetchone()
        if other:
            raise ConflictError(
                f"the history already holds {m.project.name} {m.project.version} with another "
                f"manifest (SHA-256 {other[0]}); a version is published once"
            )
        cur = con.execute(
            "INSERT INTO releases (project, version, revision, dirty, source_date_epoch, "
            "manifest_sha256, manifest, machine, build_seconds, build_cpu, checksum_seconds, "
            "checksum_cpu, machine_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                m.project.name,
                m.project.version,
                m.source.revision if m.source else None,
                int(bool(m.source and m.source.dirty)),
                m.source.source_date_epoch if m.source else 0,
                release.manifest_sha256,
                zlib.compress(raw_manifest, 9),
                release.machine_class,
                got.build_seconds,
                got.build_cpu,
                got.checksum_seconds,
                got.checksum_cpu,
                got.machine.model_dump_json() if got.machine else None,
            ),
        )
        rid = cur.lastrowid
        con.executemany(
            "INSERT INTO artifacts (release_id, path, target, component, kind, size, sha256, "
            "flash, ram, flash_budget, ram_budget) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    rid, a.path, a.target, a.component, a.kind, a.size, a.sha256,
                    a.footprint.flash if a.footprint else None,
                    a.footprint.ram if a.footprint else None,
                    a.footprint.flash_budget if a.footprint else None,
                    a.footprint.ram_budget if a.footprint else None,
                )
                for a in m.artifacts
            ],
        )  # fmt: skip
        con.executemany(
            "INSERT INTO steps (release_id, target, component, tool, seconds, cpu_seconds) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(rid, s.target, s.component, s.tool, s.seconds, s.cpu_seconds) for s in got.steps],
        )
    return True


class Row(BaseModel):
    """One line of `relbuild history list`."""

    project: str
    version: str
    revision: str | None
    dirty: bool
    source_date_epoch: int
    manifest_sha256: str
    artifacts: int
    total_size: int
    build_seconds: float | None
    build_cpu: float | None
    checksum_seconds: float | None
    machine: str | None


def rows(con: sqlite3.Connection, path: Path) -> list[Row]:
    """Every release, oldest first (by SOURCE_DATE_EPOCH, then as added)."""
    query = (
        "SELECT r.project, r.version, r.revision, r.dirty, r.source_date_epoch, "
        "r.manifest_sha256, (SELECT count(*) FROM artifacts a WHERE a.release_id = r.id), "
        "(SELECT coalesce(sum(a.size), 0) FROM artifacts a WHERE a.release_id = r.id), "
        "r.build_seconds, r.build_cpu, r.checksum_seconds, r.machine FROM releases r "
        "ORDER BY r.source_date_epoch, r.id"
    )
    names = list(Row.model_fields)
    return [_valid(Row, dict(zip(names, r, strict=True)), path) for r in _query(con, path, query)]


def releases(con: sqlite3.Connection, path: Path, project: str | None = None) -> list[Release]:
    """Every release (of ``project``), oldest first, read back in full."""
    found = _query(
        con,
        path,
        "SELECT r.id, r.manifest_sha256, r.manifest, r.build_seconds, r.build_cpu, "
        "r.checksum_seconds, r.checksum_cpu, r.machine_json, r.project FROM releases r "
        "ORDER BY r.source_date_epoch, r.id",
    )
    steps: dict[int, list[dict[str, Any]]] = {}
    for rid, *fields in _query(
        con,
        path,
        "SELECT release_id, target, component, tool, seconds, cpu_seconds FROM steps "
        "ORDER BY rowid",
    ):
        names = ("target", "component", "tool", "seconds", "cpu_seconds")
        steps.setdefault(rid, []).append({**dict(zip(names, fields, strict=True)), "log": ""})
    out: list[Release] = []
    for rid, digest, blob, build_s, build_cpu, sum_s, sum_cpu, machine, name in found:
        if project is not None and name != project:
            continue
        raw = _manifest_bytes(blob, path, digest)
        measured = {
            "build_seconds": build_s,
            "build_cpu": build_cpu,
            "checksum_seconds": sum_s,
            "checksum_cpu": sum_cpu,
            "machine": _json(machine, path),
            "steps": steps.get(rid, []),
        }
        out.append(
            Release(
                manifest_sha256=digest,
                manifest=parse_manifest(raw, Path(f"{path}#{digest}")),
                measured=_valid(Measured, measured, path),
            )
        )
    return out


def _query(con: sqlite3.Connection, path: Path, sql: str) -> list[tuple[Any, ...]]:
    try:
        return con.execute(sql).fetchall()
    except (sqlite3.Error, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: unreadable ({exc}); not a usable relbuild history") from None


def _manifest_bytes(blob: object, path: Path, digest: object) -> bytes:
    if not isinstance(blob, bytes):
        raise UsageError(f"{path}: a release's manifest is not stored as bytes")
    try:
        d = zlib.decompressobj()
        raw = d.decompress(blob, MAX_MANIFEST_BYTES + 1)
    except zlib.error as exc:
        raise UsageError(f"{path}: a release's manifest is damaged ({exc})") from None
    if len(raw) > MAX_MANIFEST_BYTES or d.unconsumed_tail:
        raise UsageError(f"{path}: a release's manifest is larger than a manifest may be")
    if hashlib.sha256(raw).hexdigest() != digest:
        raise UsageError(f"{path}: the manifest stored for {digest!r} does not have that SHA-256")
    return raw


def _json(text: object, path: Path) -> object:
    if text is None:
        return None
    if not isinstance(text, str) or len(text) > 4096:
        raise UsageError(f"{path}: a release's machine record is not JSON text")
    try:
        return json.loads(text)
    except ValueError:
        raise UsageError(f"{path}: a release's machine record is not JSON") from None


def _valid(model: type[M], data: dict[str, Any], path: Path) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UsageError(
            f"{path}: a stored value is not usable ({where}: {first['msg']})"
        ) from None
