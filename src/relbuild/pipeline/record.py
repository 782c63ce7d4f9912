"""Recording: one deterministic archive per target, each artifact's record
(mode and time settled, size, SHA-256 and SHA-512), and the manifest,
whose steps show placeholders instead of machine paths."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from relbuild import __version__
from relbuild.binaries import macho
from relbuild.binaries.elfcheck import AR_MAGIC, ar_index, section_headers
from relbuild.config import triples
from relbuild.pipeline.checks import DigestCache
from relbuild.pipeline.model import Plan, Staged
from relbuild.release.archive import LAYOUT, LEVEL, ArchiveFormat, Member, make_archive
from relbuild.release.dist import (
    AbiRecord,
    ArtifactRecord,
    Footprint,
    Manifest,
    PrebuiltRecord,
    PreviousRecord,
    ProjectRecord,
    StepRecord,
    TargetRecord,
    WaiverRecord,
)
from relbuild.system import environ
from relbuild.system.fsutil import atomic_write, naming
from relbuild.system.redact import Redactor


def archive(
    plan: Plan,
    triple: str,
    staged: list[Staged],
    staging: Path,
    fmt: ArchiveFormat,
    cache: Path,
    digests: DigestCache,
) -> Staged | None:
    """The archive of one target (or of the universal macOS files): its
    artifacts and the license files.

    Windows targets get a zip. An archive is a pure function of its members' names, modes and bytes,
    the epoch and the format; that is its cache key, so a cache hit gives the
    very bytes packing would have.
    """
    info = triples.TRIPLES.get(triple)  # None: universal2-apple-darwin
    if info is not None and triples.is_windows(info):
        # What Windows users open without extra tools (GoReleaser's and
        # cargo-dist's choice too), whatever the project's format.
        fmt = "zip"
    top = f"{plan.project}-{plan.version}-{triple}"
    members = [
        Member(f"{top}/{Path(s.rel).name}", s.src, s.mode, _cuts(s))
        for s in staged
        if s.target == triple
    ]
    if not members:
        return None
    members += [
        Member(f"{top}/{Path(name).name}", Path(name), 0o644) for name in plan.license_files
    ]
    key = hashlib.sha256(f"{fmt}\0{LEVEL}\0{LAYOUT}\0{plan.source_date_epoch}\0".encode())
    for m in sorted(members, key=lambda m: m.name):
        key.update(f"{m.name}\0{m.mode:o}\0{digests(m.source)[0]}\0".encode())
    cached = cache / f"{key.hexdigest()}.{fmt}"
    dest = staging / f"{top}.{fmt}"
    if not cached.is_file():
        atomic_write(cached, make_archive(fmt, members, plan.source_date_epoch, cache / "parts"))
    with naming(dest):
        shutil.copyfile(cached, dest)
    return Staged(dest, dest.name, "archive", triple, None, 0o644)


def _cuts(s: Staged) -> tuple[int, ...]:
    """Where the parts of a file's compressed bytes may end (release.archive):
    a static library's members, an ELF or Mach-O file's sections. A Go edit changes a
    program's .rodata, a Rust one its .text; the other parts, and the
    unchanged objects of a library, are compressed once."""
    with s.src.open("rb") as fh:
        head = fh.read(len(AR_MAGIC))
        if head == AR_MAGIC:
            return tuple(offset for _, offset, _ in ar_index(fh, fh.seek(0, os.SEEK_END)))
        if head[:4] == b"\x7fELF":
            headers = section_headers(fh)
            return tuple(x.offset for x in headers.sections) if headers is not None else ()
        if macho.is_macho(head):
            return tuple(offset for _, _, offset, _ in macho.sections(fh) or [])
        return ()  # a Windows program goes into a zip, compressed file by file


def artifact(
    staging: Path, s: Staged, epoch: int, digests: DigestCache, footprint: Footprint | None
) -> ArtifactRecord:
    path = staging / s.rel
    os.chmod(path, s.mode)
    os.utime(path, (epoch, epoch))
    sha256, sha512 = digests(path)
    return ArtifactRecord(
        path=s.rel,
        target=s.target,
        component=s.component,
        kind=s.kind,
        size=path.stat().st_size,
        mode=f"0{s.mode:o}",
        sha256=sha256,
        sha512=sha512,
        footprint=footprint,
        image=s.image,
    )


def manifest(
    plan: Plan,
    artifacts: list[ArtifactRecord],
    abi: Sequence[AbiRecord] = (),
    previous: PreviousRecord | None = None,
    prebuilt: Sequence[PrebuiltRecord] = (),
) -> Manifest:
    return Manifest(
        prebuilt=list(prebuilt),
        generator=f"relbuild {__version__}",
        project=ProjectRecord(name=plan.project, version=plan.version),
        source=plan.source,
        toolchains=plan.toolchains,
        sandbox="bwrap" if plan.layout.sandboxed else "none",
        waivers=[
            *(
                WaiverRecord(component=c, check="path-leaks", reason=reason)
                for c, reason in plan.leak_waivers.items()
            ),
            *(
                WaiverRecord(component=c, check="stack-unbounded", reason=reason)
                for c, reason in plan.stack_waivers.items()
            ),
        ],
        config_digest=plan.config_digest or None,
        targets_of_config=plan.targets_of_config,
        partial=plan.targets != plan.targets_of_config,
        components_selected=plan.components_selected,
        targets=[
            TargetRecord(
                triple=t,
                components=list(dict.fromkeys(s.component for s in plan.steps_for(t))),
                glibc=plan.glibc.get(t),
                macos=triples.TRIPLES[t].min_os,
            )
            for t in plan.targets
        ],
        steps=_steps(plan),
        artifacts=artifacts,
        dependencies=plan.dependencies,
        abi=list(abi),
        previous=previous,
    )


def _steps(plan: Plan) -> list[StepRecord]:
    redact = Redactor(plan.places)
    return [
        StepRecord(
            target=step.target,
            component=step.component,
            tool=step.tool,
            cwd=Path(os.path.relpath(step.cwd, plan.root)).as_posix(),
            argv=redact.all(step.argv),
            env={k: redact(v) for k, v in sorted(step.env.items()) if k not in environ.INHERITED},
        )
        for step in plan.steps
    ]
