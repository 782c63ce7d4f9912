"""`relbuild manifest DIR`: a manifest (an inventory) for artifacts built elsewhere.

Each file's target is taken from --target, else inferred from its ELF header
(machine, class, float ABI and, for ARM, the CPU profile in .ARM.attributes);
its kind from its form (ELF executable, ar archive, header, archive). The
output is deterministic: sorted paths, no clock, no absolute path.
"""

from __future__ import annotations

import io
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

from elftools.elf.elffile import ELFFile

from relbuild import __version__
from relbuild.binaries import elfcheck
from relbuild.binaries.elfcheck import ELF_ERRORS
from relbuild.binaries.regions import Window
from relbuild.config.triples import TRIPLES
from relbuild.errors import UsageError
from relbuild.release.dist import (
    MANIFEST_NAME,
    ArtifactKind,
    ArtifactRecord,
    Manifest,
    ProjectRecord,
    hash_file,
    is_orphan,
    write_manifest,
)
from relbuild.release.sums import SUMS

# Tag_CPU_arch values (ARM ABI addenda) of the M profiles.
_ARM_ARCH_M = {
    11: "thumbv6m-none-eabi",
    10: "thumbv7m-none-eabi",
    13: "thumbv7em-none-eabi",
    16: "thumbv8m.base-none-eabi",
    17: "thumbv8m.main-none-eabi",
}
_EF_RISCV_RVC = 0x1


def infer_triple(stream: BinaryIO) -> str | None:
    """The most likely Rust triple for an ELF file, or None if unsure."""
    try:
        elf = ELFFile(stream)
        machine, cls, flags = elf["e_machine"], elf.elfclass, elf["e_flags"]
        if machine == "EM_X86_64":
            return "x86_64-unknown-linux-gnu"
        if machine == "EM_AARCH64":
            return "aarch64-unknown-linux-gnu"
        if machine == "EM_RISCV":
            if cls == 64:
                return "riscv64gc-unknown-linux-gnu"
            return (
                "riscv32imac-unknown-none-elf"
                if flags & _EF_RISCV_RVC
                else ("riscv32i-unknown-none-elf")
            )
        if machine == "EM_ARM":
            hard = elfcheck.arm_float_abi(elf) == "hard"
            attrs = elfcheck.arm_attributes(elf)
            raw_profile = attrs.get("TAG_CPU_ARCH_PROFILE")
            profile = chr(raw_profile) if isinstance(raw_profile, int) else raw_profile
            raw_arch = attrs.get("TAG_CPU_ARCH")
            arch = raw_arch if isinstance(raw_arch, int) else None
            if profile == "M" and arch in _ARM_ARCH_M:
                base = _ARM_ARCH_M[arch]
                return (
                    base + "hf"
                    if hard and base in ("thumbv7em-none-eabi", "thumbv8m.main-none-eabi")
                    else base
                )
            if profile in ("A", None) and hard:
                return (
                    "armv7-unknown-linux-gnueabihf"
                    if arch in (10, None)
                    else ("arm-unknown-linux-gnueabihf")
                )
    except ELF_ERRORS:
        return None
    return None


def classify(path: Path) -> tuple[ArtifactKind, str | None]:
    """(kind, inferred triple) of a file."""
    name = path.name
    if name.endswith((".tar.gz", ".tgz", ".tar.xz", ".tar.zst", ".zip")):
        return "archive", None
    if name.endswith((".h", ".hpp")):
        return "header", None
    if elfcheck.is_elf(path):
        with path.open("rb") as fh:
            triple = infer_triple(fh)
        info = TRIPLES.get(triple or "")
        return ("firmware" if info is not None and info.bare_metal else "executable"), triple
    if elfcheck.is_ar(path):
        # Member by member, by range: never the whole library in memory.
        with path.open("rb") as fh:
            for _, offset, size in elfcheck.ar_index(fh, fh.seek(0, io.SEEK_END)):
                fh.seek(offset)
                if fh.read(4) == b"\x7fELF":
                    return "staticlib", infer_triple(io.BufferedReader(Window(fh, offset, size)))
        return "staticlib", None
    return "file", None


def generate(
    folder: Path, *, name: str | None, version: str | None, targets: Mapping[str, str]
) -> Manifest:
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder")
    for rel, triple in targets.items():
        if triple not in TRIPLES:
            raise UsageError(f"--target {rel}={triple}: unknown triple")
    skip = {MANIFEST_NAME, *SUMS.values()}
    records: list[ArtifactRecord] = []
    problems: list[str] = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        st = path.lstat()
        if stat.S_ISDIR(st.st_mode) or rel in skip or is_orphan(rel):
            # A temp file of an interrupted manifest write is never an artifact.
            continue
        if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
            problems.append(f"{rel}: not a regular file (links are not followed)")
            continue
        if any(c in rel for c in "\n\r\\") or not rel.isprintable():
            problems.append(
                f"{rel!r}: a name with a newline, backslash or control character "
                "cannot be listed in SUMS files"
            )
            continue
        try:
            kind, inferred = classify(path)
        except OSError as exc:
            problems.append(f"{rel}: cannot read: {exc.strerror}")
            continue
        target = targets.get(rel) or inferred
        sha256, sha512, size, mode = hash_file(path)
        records.append(
            ArtifactRecord(
                path=rel,
                target=target,
                component=None,
                kind=kind,
                size=size,
                mode=f"0{mode & 0o777:03o}",
                sha256=sha256,
                sha512=sha512,
            )
        )
    if problems:
        raise UsageError(f"{folder}: cannot list:\n  " + "\n  ".join(problems))
    unknown = set(targets) - {r.path for r in records}
    if unknown:
        raise UsageError(f"--target names files that are not there: {', '.join(sorted(unknown))}")
    return Manifest(
        generator=f"relbuild {__version__}",
        project=ProjectRecord(name=name or folder.resolve().name, version=version or "unknown"),
        artifacts=records,
    )


def write_inventory(folder: Path, manifest: Manifest, *, force: bool = False) -> None:
    existing = folder / MANIFEST_NAME
    if (existing.exists() or existing.is_symlink()) and not force:
        raise UsageError(
            f"{existing} exists already (a build's manifest records the source, toolchains "
            "and steps, which an inventory cannot); refusing to replace it",
            hint="Pass --force to replace it anyway.",
        )
    if existing.exists() and not existing.is_file():
        raise UsageError(f"{existing} is not a regular file")
    write_manifest(folder, manifest)


def manifest(
    folder: Path,
    *,
    name: str | None,
    version: str | None,
    targets: Mapping[str, str],
    force: bool = False,
) -> Manifest:
    """The inventory of ``folder``, written into it with its SUMS files."""
    written = generate(folder, name=name, version=version, targets=targets)
    write_inventory(folder, written, force=force)
    return written
