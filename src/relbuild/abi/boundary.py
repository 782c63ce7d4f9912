"""The check for one target: the three views of each C boundary read and
held against each other.

For every staticlib: its header (if configured) against its exports. For
every Go program that links staticlibs through cgo: each function its
preambles declare themselves against the header that also declares it
(the two C views must agree), else against the export of a linked
staticlib; a declaration that nothing exports is a finding too.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from relbuild.abi import cgo, objects
from relbuild.abi.cdecl import CCompiler, read_view
from relbuild.abi.compare import (
    WHO,
    Difference,
    function_differences,
    layout_differences,
    record_pairs,
    side,
)
from relbuild.abi.model import (
    AbiReport,
    CheckedSymbol,
    CView,
    Declared,
    ExportView,
    Finding,
    LibraryResult,
    Place,
    Record,
    SideRecord,
    digest,
    record_name,
    render,
    render_layout,
)


@dataclass(frozen=True)
class Library:
    name: str
    archive: Path
    header: Path | None
    # Other paths the same header is included by (the cgo hand-off copy).
    header_copies: tuple[Path, ...] = ()


@dataclass(frozen=True)
class Program:
    name: str
    go: str
    package: str
    cwd: Path
    env: Mapping[str, str]
    links: tuple[str, ...]
    tags: tuple[str, ...] = ()
    # Where `go list`'s answers are kept (backends.go_listing); None: not kept.
    listing: Path | None = None


@dataclass(frozen=True)
class TargetInput:
    triple: str
    cc: CCompiler
    libraries: tuple[Library, ...]
    programs: tuple[Program, ...] = ()


@dataclass
class Paths:
    """Shows machine paths as the project's: the root, and the prefixes the
    build remapped the Rust sources to."""

    root: Path
    remaps: dict[str, Path] = field(default_factory=dict)

    def __call__(self, path: str) -> str:
        for prefix, real in self.remaps.items():
            if path == prefix or path.startswith(prefix + "/"):
                path = str(real) + path[len(prefix) :]
                break
        try:
            return Path(path).resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return path


Allow = Callable[[Finding], str | None]


def check(targets: Sequence[TargetInput], paths: Paths, allow: Allow = lambda f: None) -> AbiReport:
    libraries: list[LibraryResult] = []
    findings: list[Finding] = []
    for t in targets:
        libs, found = check_target(t, paths)
        libraries += libs
        findings += [f.model_copy(update={"waived": allow(f)}) for f in found]
    return AbiReport(targets=[t.triple for t in targets], libraries=libraries, findings=findings)


def check_target(t: TargetInput, paths: Paths) -> tuple[list[LibraryResult], list[Finding]]:
    return _TargetCheck(t, paths).run()


@dataclass(frozen=True)
class Checked:
    """One target's check, with what it read of the staticlibs: the C
    functions either side declares (``wanted``) and, per library, a digest
    of what the library says of them (:func:`export_digests`)."""

    libraries: list[LibraryResult]
    findings: list[Finding]
    wanted: frozenset[str]
    exports: dict[str, str]


def check_target_read(t: TargetInput, paths: Paths) -> Checked:
    """:func:`check_target`, saying what it read of the staticlibs: the
    same result follows from the same declarations and export digests."""
    check = _TargetCheck(t, paths)
    libs, found = check.run()
    exports = {name: _export_digest(view) for name, view in check.exports.items()}
    return Checked(libs, found, frozenset(check.wanted), exports)


def export_digests(t: TargetInput, wanted: Iterable[str], paths: Paths) -> dict[str, str]:
    """Per staticlib, a digest of its exports and of the DWARF signatures
    of ``wanted``: all the check reads of it."""
    names = set(wanted)
    return {
        lib.name: _export_digest(objects.read_exports(lib.archive, names, paths))
        for lib in t.libraries
    }


def _export_digest(view: ExportView) -> str:
    # Shapes are frozen dataclasses of tuples: their repr is a stable text.
    text = repr((sorted(view.symbols), sorted(view.code), sorted(view.functions.items())))
    return hashlib.sha256(text.encode()).hexdigest()


class _TargetCheck:
    def __init__(self, t: TargetInput, paths: Paths) -> None:
        self.t = t
        self.paths = paths
        self.libs = {lib.name: lib for lib in t.libraries}
        self.header_of: dict[str, str] = {}  # any path of a header -> its library
        for lib in t.libraries:
            if lib.header is not None:
                for p in (lib.header, *lib.header_copies):
                    self.header_of[str(p.resolve())] = lib.name
        self.headers: dict[str, CView] = {}
        self.exports: dict[str, ExportView] = {}
        self.wanted: set[str] = set()
        self.findings: list[Finding] = []
        self.checked: dict[str, dict[str, CheckedSymbol]] = {n: {} for n in self.libs}
        self.unchecked: dict[str, set[str]] = {n: set() for n in self.libs}
        self.structs_done: set[tuple[str, str]] = set()

    def run(self) -> tuple[list[LibraryResult], list[Finding]]:
        t = self.t
        t.cc.work.mkdir(parents=True, exist_ok=True)
        for lib in t.libraries:
            if lib.header is not None:
                self.headers[lib.name] = read_view(
                    t.cc,
                    lib.header,
                    [f"-I{lib.header.parent}"],
                    self._keep_header(lib.name),
                    self.paths(str(lib.header)),
                    self.paths,
                )
        preambles = {
            p.name: _cgo_view(t, p, self.header_of, self.libs, self.paths) for p in t.programs
        }
        wanted = {name for view in self.headers.values() for name in view.functions}
        for view in preambles.values():
            wanted |= set(view.functions)
        self.wanted = wanted
        self.exports = {
            lib.name: objects.read_exports(lib.archive, wanted, self.paths) for lib in t.libraries
        }
        for lib in t.libraries:
            self._header_against_exports(lib)
        for prog in t.programs:
            self._cgo_declarations(prog, preambles[prog.name])
        results = [
            LibraryResult(
                target=t.triple,
                library=name,
                checked=[self.checked[name][k] for k in sorted(self.checked[name])],
                unchecked=sorted(self.unchecked[name]),
            )
            for name in self.libs
        ]
        return results, self.findings

    def _keep_header(self, name: str) -> Callable[[str], Place | None]:
        def keep(file: str) -> Place | None:
            if self.header_of.get(str(Path(file).resolve())) == name:
                return Place("header", self.paths(str(self.libs[name].header)), None)
            return None

        return keep

    def _header_against_exports(self, lib: Library) -> None:
        view = self.headers.get(lib.name)
        if view is None:
            return
        ex = self.exports[lib.name]
        for name, decl in sorted(view.functions.items()):
            if name not in ex.symbols:
                self.findings.append(
                    _missing(self.t.triple, decl, lib.name, None, lib.archive.name)
                )
                continue
            self._against_export(decl, lib.name, None)

    def _against_export(self, decl: Declared, lib: str, prog: str | None) -> None:
        rust = self.exports[lib].functions.get(decl.name)
        if rust is None or rust.sig is None or decl.sig is None:
            self.unchecked[lib].add(decl.name)
            return
        self._emit(function_differences(decl, rust), decl, rust, lib, prog)
        self._structs(decl, rust, lib, prog)
        text = render(rust.sig)
        self.checked[lib][rust.name] = CheckedSymbol(
            name=rust.name, kind="function", signature=text, sha256=digest(text)
        )
        for crec, rrec in record_pairs(decl.sig, rust.sig):
            cname = _c_name(crec, self.headers.get(lib))
            text = render_layout(rrec)
            self.checked[lib][cname] = CheckedSymbol(
                name=cname, kind="struct", signature=text, sha256=digest(text)
            )

    def _cgo_declarations(self, prog: Program, view: CView) -> None:
        linked = [n for n in prog.links if n in self.libs]
        for name, decl in sorted(view.functions.items()):
            if decl.place.origin != "cgo" or name in view.defined:
                continue
            in_header = next(
                (n for n in linked if name in self.headers.get(n, CView()).functions), None
            )
            if in_header is not None:
                hdecl = self.headers[in_header].functions[name]
                if decl.sig is not None and hdecl.sig is not None:
                    diffs = [
                        Difference("cgo-differs", d.message)
                        for d in function_differences(decl, hdecl)
                    ]
                    self._emit(diffs, decl, hdecl, in_header, prog.name)
                    self._structs(decl, hdecl, in_header, prog.name)
                continue
            owner = next((n for n in linked if name in self.exports[n].symbols), None)
            if owner is None:
                lib_name = linked[0] if len(linked) == 1 else None
                where = ", ".join(self.libs[n].archive.name for n in linked) or "no staticlib"
                self.findings.append(_missing(self.t.triple, decl, lib_name, prog.name, where))
                continue
            self._against_export(decl, owner, prog.name)

    def _emit(
        self,
        diffs: list[Difference],
        a: Declared,
        b: Declared,
        lib: str | None,
        prog: str | None,
    ) -> None:
        for d in diffs:
            self.findings.append(
                Finding(
                    target=self.t.triple,
                    kind=d.kind,
                    symbol=a.name,
                    library=lib,
                    program=prog,
                    message=d.message,
                    sides=[side(a), side(b)],
                )
            )

    def _structs(self, a: Declared, b: Declared, lib: str | None, prog: str | None) -> None:
        if a.sig is None or b.sig is None:
            return
        for ra, rb in record_pairs(a.sig, b.sig):
            cname = _c_name(ra, self.headers.get(lib or ""))
            key = (cname, f"{a.place.origin}/{b.place.origin}")
            if key in self.structs_done:
                continue
            self.structs_done.add(key)
            problems = layout_differences(ra, rb, WHO[a.place.origin], WHO[b.place.origin])
            if problems:
                self.findings.append(
                    Finding(
                        target=self.t.triple,
                        kind="struct-layout",
                        symbol=cname,
                        library=lib,
                        program=prog,
                        message="; ".join(problems),
                        sides=[_record_side(ra, a.place), _record_side(rb, b.place)],
                    )
                )


def _missing(triple: str, decl: Declared, lib: str | None, prog: str | None, where: str) -> Finding:
    who = WHO[decl.place.origin]
    return Finding(
        target=triple,
        kind="missing-export",
        symbol=decl.name,
        library=lib,
        program=prog,
        message=f"declared in {who} but not exported by {where}",
        sides=[
            side(decl),
            SideRecord(origin="rust", file=where, line=None, declaration="(no such symbol)"),
        ],
    )


def _c_name(record: Record, view: CView | None) -> str:
    if view is not None:
        for cname, (rec, _) in view.records.items():
            if rec == record:
                return cname
    return record_name(record)


def _record_side(record: Record, fallback: Place) -> SideRecord:
    return SideRecord(
        origin=fallback.origin,
        file=record.file or fallback.file,
        line=record.line if record.file else fallback.line,
        declaration=render_layout(record),
    )


def _cgo_view(
    t: TargetInput,
    prog: Program,
    header_of: Mapping[str, str],
    libs: Mapping[str, Library],
    paths: Paths,
) -> CView:
    """All the C functions the program's preambles declare: their own, and
    those of linked headers they include (marked as the header's)."""
    merged = CView()
    packages = cgo.go_list(prog.go, prog.package, prog.env, prog.cwd, prog.tags, prog.listing)
    for index, pkg in enumerate(packages):
        defined_in_c = _c_file_functions(pkg)
        for j, pre in enumerate(pkg.preambles):
            source = cgo.write_preamble(pre, t.cc.work, index * 1000 + j)
            go_file = str(pre.go_file.resolve())

            def keep(file: str, go_file: str = go_file) -> Place | None:
                resolved = str(Path(file).resolve())
                if resolved == go_file:
                    return Place("cgo", paths(go_file), None)
                lib = header_of.get(resolved)
                if lib is not None and lib in prog.links:
                    return Place("header", paths(str(libs[lib].header)), None)
                return None

            flags = [f"-I{pkg.folder}", *pkg.cflags, *cgo.env_cflags(prog.env)]
            try:
                view = read_view(t.cc, source, flags, keep, paths(go_file), paths)
            finally:
                source.unlink(missing_ok=True)
            merged.defined |= view.defined | defined_in_c
            for name, decl in view.functions.items():
                if name not in merged.functions or decl.place.origin == "cgo":
                    merged.functions[name] = decl
            merged.records.update(view.records)
    return merged


def _c_file_functions(pkg: cgo.CgoPackage) -> set[str]:
    """Functions that the package's own .c files define (cgo compiles them
    in): found by a definition's shape, `name(...) {`."""
    out: set[str] = set()
    pattern = re.compile(r"\b([A-Za-z_]\w*)\s*\([^;{}()]*(?:\([^()]*\)[^;{}()]*)*\)\s*\{")
    for name in pkg.c_files:
        try:
            text = (pkg.folder / name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        out |= {m.group(1) for m in pattern.finditer(text)}
    return out


__all__ = [
    "Checked",
    "ExportView",
    "Library",
    "Paths",
    "Program",
    "TargetInput",
    "check",
    "check_target",
    "check_target_read",
    "export_digests",
]
