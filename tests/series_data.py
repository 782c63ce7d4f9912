"""Releases for the history's tests and benchmark, made cheaply: a manifest
(real, or a small synthetic one) with another version, sizes and digests,
and measures, through the history's own public functions."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from relbuild.pipeline.measure import Machine
from relbuild.pipeline.model import StepTiming
from relbuild.release.dist import (
    AbiRecord,
    AbiSymbol,
    ArtifactKind,
    ArtifactRecord,
    Footprint,
    Manifest,
    ProjectRecord,
    SourceRecord,
    TargetRecord,
    ToolRecord,
)
from relbuild.series import db, store

MACHINE = Machine(cores=2, cpu_model="Test CPU", memory_bytes=8 << 30, arch="x86_64")
OTHER_MACHINE = Machine(cores=64, cpu_model="Big CPU", memory_bytes=256 << 30, arch="x86_64")


def _hex(seed: str, n: int) -> str:
    return hashlib.sha512(seed.encode()).hexdigest()[:n]


def manifest(version: str, *, fw_flash: int = 10_000, lib: int = 200_000) -> Manifest:
    """A small release: a firmware with a footprint, a staticlib with an ABI."""

    def art(
        path: str, kind: ArtifactKind, size: int, fp: Footprint | None = None
    ) -> ArtifactRecord:
        seed = f"{path}{size}"
        return ArtifactRecord(
            path=path.format(v=version),
            target=path.split("/", maxsplit=1)[0],
            component=path.split("/")[1].split("-", maxsplit=1)[0],
            kind=kind,
            size=size,
            mode="0644",
            sha256=_hex(seed, 64),
            sha512=_hex(seed, 128),
            footprint=fp,
        )

    fp = Footprint(flash=fw_flash, ram=2_048, sections={".text": fw_flash}, flash_budget=65_536)
    return Manifest(
        generator="relbuild test",
        project=ProjectRecord(name="demo", version=version),
        source=SourceRecord(vcs="git", revision=_hex(version, 40), dirty=False,
                            source_date_epoch=1_700_000_000),
        toolchains={"rust": ToolRecord(release="1.96.0")},
        targets=[TargetRecord(triple="thumbv7m-none-eabi", components=["fw"]),
                 TargetRecord(triple="x86_64-unknown-linux-gnu", components=["lib"])],
        artifacts=[
            art("thumbv7m-none-eabi/fw-{v}-thumbv7m-none-eabi.elf", "firmware", fw_flash + 900, fp),
            art("x86_64-unknown-linux-gnu/lib-{v}-x86_64-unknown-linux-gnu.a", "staticlib", lib),
        ],
        abi=[AbiRecord(target="x86_64-unknown-linux-gnu", component="lib", symbols=[
            AbiSymbol(name="f", kind="function", signature="fn(u32) -> u32", sha256=_hex("f", 64))
        ])],
    )  # fmt: skip


def release(
    m: Manifest,
    *,
    epoch: int,
    cpu: float = 10.0,
    checksum: float = 0.05,
    machine: Machine = MACHINE,
) -> tuple[bytes, store.Release]:
    """``m`` at SOURCE_DATE_EPOCH ``epoch`` with these measures."""
    assert m.source is not None
    m = m.model_copy(update={"source": m.source.model_copy(update={"source_date_epoch": epoch})})
    raw = m.to_bytes()
    steps = [
        StepTiming(target=t.triple, component=c, tool="cargo", seconds=cpu, cpu_seconds=cpu, log="")
        for t in m.targets
        for c in t.components
    ]
    measured = store.Measured(
        build_seconds=cpu * 1.2,
        build_cpu=cpu * len(steps),
        checksum_seconds=checksum,
        checksum_cpu=checksum,
        machine=machine,
        steps=steps,
    )
    digest = hashlib.sha256(raw).hexdigest()
    return raw, store.Release(manifest_sha256=digest, manifest=m, measured=measured)


def renamed(m: Manifest, version: str, grow: int = 0) -> Manifest:
    """A real manifest as if released as ``version``, each artifact ``grow``
    bytes larger (firmware flash too)."""
    old = m.project.version
    arts = []
    for a in m.artifacts:
        fp = a.footprint
        if fp is not None:
            fp = fp.model_copy(update={"flash": fp.flash + grow})
        seed = f"{a.sha256}{version}"
        arts.append(
            a.model_copy(
                update={
                    "path": a.path.replace(old, version),
                    "size": a.size + grow,
                    "sha256": _hex(seed, 64),
                    "sha512": _hex(seed, 128),
                    "footprint": fp,
                }
            )
        )
    return m.model_copy(
        update={"project": m.project.model_copy(update={"version": version}), "artifacts": arts}
    )


def fill(con: sqlite3.Connection, releases: list[tuple[bytes, store.Release]]) -> None:
    for raw, rel in releases:
        assert store.insert(con, raw, rel)


def db_with(path: Path, releases: list[tuple[bytes, store.Release]]) -> Path:
    con = db.connect(path, create=True)
    try:
        fill(con, releases)
    finally:
        con.close()
    return path
