"""The ABI check as a stage of the build (and of `relbuild abi`, which runs
the pipeline limited to the staticlibs: stages.ABI_ONLY).

The plan has every fact the check needs: each target's staticlib steps
(header, hand-off folder), each cgo step (the exact environment of its go
build, its C compiler: the pinned zig for the target, the hand-off folders
of what it links, its tags) and the config's opt-outs. This module turns
them into the check's inputs and the report into the manifest's records.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from relbuild import __version__
from relbuild.abi.boundary import (
    Library,
    Paths,
    Program,
    TargetInput,
    check_target_read,
    export_digests,
)
from relbuild.abi.cdecl import CCompiler
from relbuild.abi.model import AbiReport, Finding, LibraryResult
from relbuild.abi.report import finding_lines
from relbuild.errors import BuildError
from relbuild.release.digest import hash_file
from relbuild.release.dist import AbiRecord, AbiSymbol, AbiWaiver
from relbuild.system.fsutil import atomic_write

if TYPE_CHECKING:
    from relbuild.backends.base import BuildPaths, Step
    from relbuild.pipeline.model import Plan


def _cgo_steps(plan: Plan, triple: str) -> list[Step]:
    return [s for s in plan.steps_for(triple) if s.cc is not None and s.inputs]


def _linked(step: Step) -> list[str]:
    # A cgo step's inputs are the hand-off folders of the staticlibs it links.
    return [Path(folder).name for folder in step.inputs]


def checked_targets(plan: Plan) -> list[str]:
    """Targets of the plan where a Go program links a staticlib through cgo,
    whatever their object format (ELF, COFF, Mach-O: abi/objfile.py)."""
    return [t for t in plan.targets if _cgo_steps(plan, t)]


def checked_libraries(plan: Plan, triple: str) -> list[Step]:
    linked = {lib for s in _cgo_steps(plan, triple) for lib in _linked(s)}
    return [
        s
        for s in plan.steps_for(triple)
        if s.kind == "staticlib" and (s.component in linked or s.header)
    ]


def target_inputs(
    plan: Plan, paths: BuildPaths, archives: Mapping[tuple[str, str], Path], targets: Sequence[str]
) -> list[TargetInput]:
    """The check's inputs for ``targets``; ``archives`` maps (triple,
    component) to each staticlib built."""
    out: list[TargetInput] = []
    for triple in targets:
        cgo_steps = _cgo_steps(plan, triple)
        libraries = []
        for s in checked_libraries(plan, triple):
            header = Path(s.header) if s.header else None
            copies = (Path(s.handoff) / "include" / header.name,) if header and s.handoff else ()
            libraries.append(Library(s.component, archives[(triple, s.component)], header, copies))
        programs = [
            Program(
                name=s.component,
                go=s.argv[0],
                package=s.package or s.argv[-1],
                cwd=Path(s.cwd),
                env=s.env,
                links=tuple(_linked(s)),
                tags=tuple(s.tags),
                listing=paths.go_list,
            )
            for s in cgo_steps
        ]
        cc = cgo_steps[0].cc
        assert cc is not None
        out.append(
            TargetInput(
                triple,
                CCompiler(
                    cc.zig, cc.zig_target, dict(cgo_steps[0].env), paths.cache / "abi" / triple
                ),
                tuple(libraries),
                tuple(programs),
            )
        )
    return out


def run(
    plan: Plan,
    paths: BuildPaths,
    archives: Mapping[tuple[str, str], Path],
    targets: Sequence[str],
    jobs: int = 1,
) -> AbiReport:
    """The check of ``targets``, each target's result taken from the cache
    when none of its inputs changed (the staticlibs' and headers' bytes,
    every Go file that imports "C" and the module files of each program,
    the C compiler and its environment, relbuild's own check)."""
    inputs = target_inputs(plan, paths, archives, targets)
    allowed = plan.abi_allow

    def allow(f: Finding) -> str | None:
        for owner in (f.library, f.program):
            if owner and f.symbol in allowed.get(owner, {}):
                return allowed[owner][f.symbol]
        return None

    # Rust's DWARF names sources by the prefix the build remapped the root to.
    root = Path(plan.root)
    shown = Paths(root, {f"/build/{plan.project}": root})
    folder = paths.cache / "abi" / "results"
    with ThreadPoolExecutor(max_workers=max(1, min(len(inputs), jobs))) as pool:
        # Targets side by side, as many as the build's --jobs: zig and go run
        # while another target's DWARF is read.
        done = list(pool.map(lambda t: _remembered(t, shown, folder), inputs))
    libraries = [lib for libs, _ in done for lib in libs]
    findings = [f.model_copy(update={"waived": allow(f)}) for _, found in done for f in found]
    return AbiReport(targets=[t.triple for t in inputs], libraries=libraries, findings=findings)


class _Result(BaseModel):
    libraries: list[LibraryResult]
    findings: list[Finding]


class _Read(_Result):
    """A result with what it read of the staticlibs (boundary.Checked)."""

    wanted: list[str]
    exports: dict[str, str]


def _remembered(
    t: TargetInput, shown: Paths, folder: Path
) -> tuple[list[LibraryResult], list[Finding]]:
    """One target's check, from the cache when its inputs are unchanged, or
    when only the staticlibs' bytes changed and not what the check reads of
    them (the exports and signatures of the functions declared): a change
    inside a Rust function costs the reading of its exports, not the C side."""
    path = folder / f"{_key(t, shown)}.json"
    with contextlib.suppress(OSError, ValueError):
        kept = _Result.model_validate_json(path.read_bytes())
        return kept.libraries, kept.findings
    beside = folder / f"{_key(t, shown, with_libraries=False)}.read.json"
    with contextlib.suppress(OSError, ValueError):
        read = _Read.model_validate_json(beside.read_bytes())
        if export_digests(t, read.wanted, shown) == read.exports:
            result = _Result(libraries=read.libraries, findings=read.findings)
            atomic_write(path, result.model_dump_json().encode())
            return read.libraries, read.findings
    checked = check_target_read(t, shown)
    libs, found = checked.libraries, checked.findings
    read = _Read(
        libraries=libs, findings=found, wanted=sorted(checked.wanted), exports=checked.exports
    )
    atomic_write(beside, read.model_dump_json().encode())
    atomic_write(path, _Result(libraries=libs, findings=found).model_dump_json().encode())
    return libs, found


_CHECK = Path(__file__).resolve().parent.parent / "abi"


def _key(t: TargetInput, shown: Paths, with_libraries: bool = True) -> str:
    """Every input of one target's check, as a digest; without the
    staticlibs' bytes when ``with_libraries`` is False."""
    h = hashlib.sha256()

    def feed(*parts: object) -> None:
        h.update(json.dumps(parts, sort_keys=True, default=str).encode() + b"\n")

    feed(__version__, [(p.name, _sha256(p.read_bytes())) for p in sorted(_CHECK.glob("*.py"))])
    feed(t.triple, t.cc.zig, t.cc.zig_target, dict(t.cc.env), str(shown.root), shown.remaps)
    feed(_stat(Path(t.cc.zig)))
    for lib in t.libraries:
        header = lib.header.read_bytes() if lib.header is not None else b""
        archive = hash_file(lib.archive)[0] if with_libraries else lib.archive.name
        feed(lib.name, archive, str(lib.header), hashlib.sha256(header).hexdigest())
        feed([str(c) for c in lib.header_copies])
    for prog in t.programs:
        feed(prog.name, prog.go, prog.package, str(prog.cwd), dict(prog.env), prog.links, prog.tags)
        for rel, digest in _cgo_sources(prog.cwd):
            feed(rel, digest)
    return h.hexdigest()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _stat(path: Path) -> list[int]:
    try:
        st = path.stat()
    except OSError:
        return []
    return [st.st_size, st.st_mtime_ns, st.st_ino]


_MODULE_FILES = ("go.mod", "go.sum", "go.work", "go.work.sum")


def _cgo_sources(module: Path) -> list[tuple[str, str]]:
    """(path, SHA-256) of the module files and of every Go file under
    ``module`` that imports "C": what the cgo side of the check reads, with
    the versions of what it imports (go.sum)."""
    found = []
    for folder, dirs, files in os.walk(module):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "testdata")
        for name in sorted(files):
            if not (name.endswith(".go") or name in _MODULE_FILES):
                continue
            data = (Path(folder) / name).read_bytes()
            if name.endswith(".go") and b'"C"' not in data:
                continue
            rel = os.path.relpath(os.path.join(folder, name), module)
            found.append((rel, _sha256(data)))
    return found


def records(report: AbiReport) -> list[AbiRecord]:
    """Per staticlib and target: every symbol checked, with its signature
    and digest, and the findings waived with their reasons."""
    out = []
    for lib in report.libraries:
        waived = [
            AbiWaiver(symbol=f.symbol, reason=f.waived, finding=f"{f.kind}: {f.message}")
            for f in report.findings
            if f.waived is not None and f.library == lib.library and f.target == lib.target
        ]
        out.append(
            AbiRecord(
                target=lib.target,
                component=lib.library,
                symbols=[
                    AbiSymbol(name=c.name, kind=c.kind, signature=c.signature, sha256=c.sha256)
                    for c in lib.checked
                ],
                waived=waived,
            )
        )
    return out


def fail_on_findings(report: AbiReport) -> None:
    """The build's verdict: any finding that is not opted out fails it."""
    failed = report.failed
    if not failed:
        return
    raise BuildError(
        f"the ABI check found {len(failed)} problem(s) at the C boundary:\n"
        + "\n".join(finding_lines(failed)),
        hint="Fix the declaration that is wrong (docs/abi.md says how for each kind), or accept "
        'one on purpose with `abi-allow = { symbol = "reason" }` on the staticlib or the Go '
        "component in toolchains.toml. `relbuild abi` runs the check alone.",
    )
