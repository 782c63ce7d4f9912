"""What each artifact really contains.

Rust: the crates cargo resolves for one package on one target with the
features it was built with (`cargo tree -p PKG --target TRIPLE -e
normal,no-proc-macro`), not every package of Cargo.lock: build scripts,
proc macros, dev-dependencies and other platforms' dependencies are not in
the artifact. The std crates of -Zbuild-std belong to the toolchain.

Go: the modules named by the build info a Go binary carries (what
`go version -m` prints), read back from the binary itself and held against
go.sum: a module the binary embeds with a sum go.sum does not have fails
the build.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from relbuild.backends.deps import CrateDep, GoModuleDep
from relbuild.errors import BuildError
from relbuild.system import proc

CRATES_IO = "registry+https://github.com/rust-lang/crates.io-index"


@dataclass(frozen=True)
class Package:
    """A dependency inside an artifact: a crate or a Go module."""

    ecosystem: Literal["cargo", "golang"]
    name: str
    version: str
    # Cargo.lock's source ("registry+...", "git+..."), "path" for a crate of
    # the project itself, "" for a Go module.
    source: str
    digest: str | None = None  # the crate's SHA-256 (Cargo.lock), or a module's h1: sum
    features: tuple[str, ...] = ()
    depends: tuple[str, ...] = ()  # keys of the packages this one uses directly
    location: str | None = None  # a path crate's folder, relative to the project root
    replaces: str | None = None  # Go: "path@version" this module replaces

    @property
    def key(self) -> str:
        return f"{self.ecosystem}:{self.name}@{self.version}"

    @property
    def purl(self) -> str | None:
        if self.ecosystem == "cargo":
            return f"pkg:cargo/{self.name}@{self.version}" if self.source == CRATES_IO else None
        return f"pkg:golang/{self.name}@{self.version}"


@dataclass(frozen=True)
class Contents:
    """An artifact's packages (a closed set) and its direct dependencies,
    plus the other artifacts of the dist it links (a Go program's Rust
    staticlibs)."""

    packages: tuple[Package, ...] = ()
    direct: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    # The toolchain release that made it, as the artifact itself says (Go).
    built_with: str | None = None


# --- Rust ------------------------------------------------------------------------


def cargo_tree_argv(
    cargo: str,
    package: str,
    triple: str,
    features: Sequence[str],
    default_features: bool,
    offline: bool,
) -> list[str]:
    argv = [cargo, "tree", "--locked", "-p", package, "--target", triple]
    argv += ["-e", "normal,no-proc-macro", "--prefix", "depth", "--charset", "ascii"]
    argv += ["--format", "{p}|{f}"]
    if features:
        argv += ["--features", ",".join(features)]
    if not default_features:
        argv.append("--no-default-features")
    if offline:
        argv.append("--offline")
    return argv


def parse_cargo_tree(
    text: str, lock: Iterable[CrateDep], root: Path
) -> tuple[Package, list[Package]]:
    """(the root package, every package below it) from `cargo tree --prefix
    depth --format '{p}|{f}'`. Sources and checksums come from Cargo.lock;
    a path crate's absolute folder becomes one relative to ``root``."""
    by_name_version: dict[tuple[str, str], CrateDep] = {}
    for dep in lock:
        by_name_version.setdefault((dep.name, dep.version), dep)
    rows: list[tuple[int, str, str, str, tuple[str, ...]]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        digits = len(line) - len(line.lstrip("0123456789"))
        if digits == 0:
            raise BuildError(f"cargo tree printed a line relbuild cannot read: {line!r}")
        depth = int(line[:digits])
        spec, _, feature_text = line[digits:].partition("|")
        enabled = feature_text.removesuffix(" (*)").strip().split(",")
        name, _, after = spec.removesuffix(" (*)").partition(" v")
        version, _, where = after.partition(" ")
        rows.append(
            (depth, name, version, where.strip("()"), tuple(sorted(f for f in enabled if f)))
        )
    if not rows or rows[0][0] != 0:
        raise BuildError("cargo tree printed no package at depth 0")

    edges: dict[str, set[str]] = {}
    info: dict[str, Package] = {}
    stack: list[str] = []
    for depth, name, version, where, feats in rows:
        locked = by_name_version.get((name, version))
        if locked is not None:
            source, digest, location = locked.source, locked.checksum, None
        else:
            source, digest = "path", None
            location = _relative(where, root)
        pkg = Package("cargo", name, version, source, digest, feats, (), location)
        info.setdefault(pkg.key, pkg)
        edges.setdefault(pkg.key, set())
        del stack[depth:]
        if depth > 0 and stack:
            edges[stack[-1]].add(pkg.key)
        stack.append(pkg.key)
    done = {key: replace(pkg, depends=tuple(sorted(edges[key]))) for key, pkg in info.items()}
    root_key = f"cargo:{rows[0][1]}@{rows[0][2]}"
    return done[root_key], [done[k] for k in sorted(done) if k != root_key]


def _relative(where: str, root: Path) -> str | None:
    if not where or not os.path.isabs(where):
        return None
    try:
        return Path(where).resolve().relative_to(root.resolve()).as_posix() or "."
    except ValueError:
        return None  # outside the project: a machine path, never recorded


def rust_contents(
    argv: list[str],
    env: Mapping[str, str],
    workspace: Path,
    lock: Iterable[CrateDep],
    root: Path,
) -> Contents:
    result = proc.run(argv, env=env, cwd=workspace)
    top, packages = parse_cargo_tree(result.stdout, lock, root)
    return Contents(packages=tuple(packages), direct=top.depends)


# --- Go ----------------------------------------------------------------------------

BUILDINFO_MAGIC = b"\xff Go buildinf:"
_FLAG_INLINE_STRINGS = 0x2


@dataclass(frozen=True)
class GoModule:
    path: str
    version: str
    sum: str | None
    replaced_by: GoModule | None = None


@dataclass(frozen=True)
class GoBuildInfo:
    go_version: str
    main: str
    deps: tuple[GoModule, ...]
    settings: dict[str, str] = field(default_factory=dict)


class BuildInfoError(ValueError):
    pass


def _section(data: bytes) -> bytes:
    """The .go.buildinfo section of an ELF file, else the first aligned
    magic in the file (any other format)."""
    try:
        from elftools.elf.elffile import ELFFile

        section = ELFFile(io.BytesIO(data)).get_section_by_name(".go.buildinfo")
        if section is not None:
            return bytes(section.data())
    except Exception:  # noqa: S110 - not an ELF file: scan the bytes instead
        pass
    start = 0
    while (i := data.find(BUILDINFO_MAGIC, start)) >= 0:
        if i % 16 == 0:
            return data[i:]
        start = i + 1
    raise BuildInfoError("no Go build information in it")


def _uvarint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(data) and shift < 64:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
    raise BuildInfoError("truncated build information")


def _string(data: bytes, pos: int) -> tuple[str, int]:
    n, pos = _uvarint(data, pos)
    if pos + n > len(data):
        raise BuildInfoError("truncated build information")
    return data[pos : pos + n].decode("utf-8", errors="replace"), pos + n


def read_buildinfo(data: bytes) -> GoBuildInfo:
    """What `go version -m` shows, read from the binary's bytes (the layout
    of Go >= 1.18: a 32-byte header, then two length-prefixed strings)."""
    blob = _section(data)
    if len(blob) < 32 or not blob.startswith(BUILDINFO_MAGIC):
        raise BuildInfoError("no Go build information in it")
    if not blob[15] & _FLAG_INLINE_STRINGS:
        raise BuildInfoError("built by a Go older than 1.18; its build information is not read")
    version, pos = _string(blob, 32)
    modinfo, _ = _string(blob, pos)
    # The module text sits between two 16-byte sentinels.
    modinfo = modinfo[16:-16] if len(modinfo) >= 33 and modinfo[-17] == "\n" else ""
    return parse_modinfo(version, modinfo)


def parse_modinfo(go_version: str, text: str) -> GoBuildInfo:
    main = ""
    deps: list[GoModule] = []
    settings: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split("\t")
        kind = parts[0]
        if kind == "mod" and len(parts) >= 3:
            main = parts[1]
        elif kind == "dep" and len(parts) >= 3:
            deps.append(GoModule(parts[1], parts[2], parts[3] if len(parts) > 3 else None))
        elif kind == "=>" and len(parts) >= 2 and deps:
            repl = GoModule(
                parts[1],
                parts[2] if len(parts) > 2 else "",
                parts[3] if len(parts) > 3 else None,
            )
            last = deps.pop()
            deps.append(GoModule(last.path, last.version, last.sum, repl))
        elif kind == "build" and len(parts) >= 2:
            key, _, value = parts[1].partition("=")
            settings[key] = value
    return GoBuildInfo(go_version, main, tuple(deps), settings)


def go_sum_problems(info: GoBuildInfo, go_sum: Sequence[GoModuleDep], where: str) -> list[str]:
    """Each module the binary embeds must be in go.sum with the same h1: sum."""
    sums = {(m.path, m.version): m.sum for m in go_sum}
    problems = []
    for dep in info.deps:
        mod = dep.replaced_by or dep
        if dep.replaced_by is not None and not mod.version:
            continue  # replaced by a local folder: no sum exists
        name = f"{mod.path}@{mod.version}"
        if mod.sum is None:
            problems.append(f"{where}: embeds {name} without an h1: sum")
        elif (mod.path, mod.version) not in sums:
            problems.append(f"{where}: embeds {name}, which go.sum does not list")
        elif sums[(mod.path, mod.version)] != mod.sum:
            problems.append(
                f"{where}: embeds {name} with {mod.sum}, go.sum has {sums[(mod.path, mod.version)]}"
            )
    return problems


def go_contents(info: GoBuildInfo, links: Sequence[str] = ()) -> Contents:
    packages = []
    for dep in info.deps:
        mod = dep.replaced_by if dep.replaced_by is not None and dep.replaced_by.version else dep
        packages.append(
            Package(
                "golang",
                mod.path,
                mod.version,
                "",
                mod.sum,
                replaces=f"{dep.path}@{dep.version}" if mod is not dep else None,
            )
        )
    packages.sort(key=lambda p: p.key)
    return Contents(
        packages=tuple(packages),
        direct=tuple(p.key for p in packages),
        links=tuple(links),
        built_with=info.go_version,
    )
