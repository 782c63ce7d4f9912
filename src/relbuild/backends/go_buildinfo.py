"""What a Go binary contains: the modules named by the build info a Go binary carries (what
`go version -m` prints), read back from the binary itself and held against
go.sum: a module the binary embeds with a sum go.sum does not have fails
the build.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from relbuild.attest.contents import Contents, Package
from relbuild.backends.base import Probe
from relbuild.backends.deps import read_go_sum
from relbuild.errors import BuildError
from relbuild.release.deps import GoModuleDep
from relbuild.release.dist import Manifest

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
        if mod.version == "(devel)" and not mod.sum:
            continue  # a module of the go.work workspace, built from the tree
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


def artifact_contents(probe: Probe, manifest: Manifest, folder: Path) -> dict[str, Contents]:
    """Artifact path -> what it holds, for every Go program in ``folder``,
    read from the binary and held against go.sum (a disagreement fails the
    build)."""
    loaded = probe.loaded
    out: dict[str, Contents] = {}
    problems: list[str] = []
    for art in manifest.artifacts:
        comp = loaded.config.go.get(art.component or "")
        if comp is None or art.target is None or art.kind != "executable":
            continue
        try:
            info = read_buildinfo((folder / art.path).read_bytes())
        except BuildInfoError as exc:
            problems.append(f"{art.path}: {exc}")
            continue
        go_sum = read_go_sum(loaded.root / comp.path / "go.sum")
        problems += go_sum_problems(info, go_sum, art.path)
        links = [
            a.path
            for a in manifest.artifacts
            if comp.uses_cgo
            and a.component in comp.links
            and a.target == art.target
            and a.kind == "staticlib"
        ]
        out[art.path] = go_contents(info, links)
    if problems:
        raise BuildError(
            "the Go build information does not agree with go.sum:\n  " + "\n  ".join(problems)
        )
    return out
