"""Staging: a finished step's outputs, copied into the staging folder under
their release names (``<component>-<version>-<triple>[.a|.h|.elf|.bin|.hex]``),
firmware with its raw and Intel HEX images and its size file
(``.size.json``: flash by crate and symbol) beside it (and the UF2 and
MCUboot images its config asks for: :mod:`relbuild.pipeline.images`), and a staticlib
handed over to the cgo steps of its target. Modes, times and everything
else that must not depend on the machine are settled when recorded."""

from __future__ import annotations

import shutil
from pathlib import Path

from relbuild.backends.base import Step
from relbuild.binaries import elfstrip, firmware, formats, sizes, stack
from relbuild.binaries.stack import StackReport
from relbuild.config.triples import TRIPLES
from relbuild.errors import BuildError, MalformedFileError
from relbuild.pipeline import images
from relbuild.pipeline.model import Plan, Staged
from relbuild.release.dist import ArtifactKind, ImageRecord
from relbuild.release.sizefile import SUFFIX
from relbuild.system.fsutil import naming


def collect(plan: Plan, staging: Path, step: Step, produced: list[Path]) -> list[Staged]:
    base = f"{step.component}-{plan.version}-{step.target}"
    found: list[Staged] = []

    def stage(
        name: str,
        kind: ArtifactKind,
        mode: int,
        src: Path | bytes,
        frames: StackReport | None = None,
        image: ImageRecord | None = None,
    ) -> None:
        rel = f"{step.target}/{name}"
        dest = staging / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        with naming(dest):
            if isinstance(src, bytes):
                dest.write_bytes(src)
            else:
                shutil.copyfile(src, dest)
        found.append(
            Staged(dest, rel, kind, step.target, step.component, mode, step.budget, frames, image)
        )

    if step.kind == "staticlib":
        lib = _library(step, produced)
        stage(f"{base}.a", "staticlib", 0o644, lib)
        header = Path(step.header) if step.header else None
        if header is not None:
            stage(f"{base}.h", "header", 0o644, header)
        if step.handoff is not None:
            _hand_over(Path(step.handoff), lib, header)
        return found
    if step.kind == "go-archive":
        # An input of the Rust program that links it (placed where its
        # build.rs looks), not a release artifact of its own.
        if not all(p.is_file() for p in produced):
            raise BuildError(f"go built no archive for {step.component} ({step.target})")
        return found
    exe = next(iter(produced), None)
    if exe is None:
        raise BuildError(
            f"{step.tool} built no binary for {step.component} ({step.target}); its log: {step.log}"
        )
    if step.kind == "firmware":
        built = exe.read_bytes()
        # The frame sizes are read here and not shipped: the ELF, its images
        # and its size file are made from the ELF without them.
        elf = elfstrip.remove_section(built, stack.STACK_SECTION)
        stage(f"{base}.elf", "firmware", 0o644, elf, _stack(built))
        raw = firmware.to_bin(elf)
        stage(f"{base}.bin", "image", 0o644, raw)
        stage(f"{base}.hex", "image", 0o644, firmware.to_ihex(elf))
        split = sizes.size_split(elf, f"{base}.elf")
        stage(f"{base}{SUFFIX}", "file", 0o644, split.to_bytes())
        spec = plan.images.get(step.component)
        if spec is not None:
            log = Path(step.log).with_suffix(".images.log")
            for img in images.make(spec, elf, raw, log):
                stage(f"{base}{img.name}", "image", 0o644, img.data, image=img.record)
    else:
        triple = TRIPLES[step.target]
        name = base + triple.exe_suffix
        if triple.binary_format == "elf":
            stage(name, "executable", 0o755, exe)
        else:
            # What lld stamps differently on each link of a PE file (its
            # time, the debug record's GUID) made a function of the rest.
            stage(name, "executable", 0o755, formats.normalize(exe.read_bytes(), triple, name))
    return found


def _stack(elf: bytes) -> StackReport:
    """The worst-case stack; a firmware that cannot be read for it (no
    symbols, an unknown instruction set) has none measured, which is said."""
    if not stack.has_stack_sizes(elf):
        return StackReport(0, [], [f"not measured: the ELF has no {stack.STACK_SECTION} section"])
    try:
        return stack.analyse(elf)
    except MalformedFileError as exc:
        return StackReport(0, [], [f"not measured: {exc}"])


def hand_over(step: Step, produced: list[Path]) -> list[Staged]:
    """A staticlib handed to the cgo steps of its target (with its header),
    not staged: what `relbuild abi` builds. Its name is cargo's."""
    lib = _library(step, produced)
    if step.handoff is not None:
        _hand_over(Path(step.handoff), lib, Path(step.header) if step.header else None)
    return [Staged(lib, lib.name, "staticlib", step.target, step.component, 0o644)]


def _library(step: Step, produced: list[Path]) -> Path:
    lib = next((p for p in produced if p.suffix == ".a"), None)
    if lib is None:
        raise BuildError(
            f"{step.tool} built no static library for {step.component} "
            f"({step.target}); its log: {step.log}"
        )
    return lib


def _hand_over(folder: Path, lib: Path, header: Path | None) -> None:
    """The library (and its header) where the cgo steps of its target look;
    beside it, what rustc said it needs of the C library (written when the
    step ran: ``lib<name>.native-libs``)."""
    (folder / "lib").mkdir(parents=True, exist_ok=True)
    with naming(folder / "lib" / lib.name):
        shutil.copyfile(lib, folder / "lib" / lib.name)
    if header is not None:
        (folder / "include").mkdir(parents=True, exist_ok=True)
        with naming(folder / "include" / header.name):
            shutil.copyfile(header, folder / "include" / header.name)
