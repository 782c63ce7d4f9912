"""What each artifact really contains, in the SBOM's vocabulary: the
packages (crates or Go modules) inside it and the other artifacts it links.

The backends say it (backends/cargo_tree.py reads `cargo tree` for a Rust
artifact, backends/go_buildinfo.py the build information a Go binary
carries); the SBOM and the supply-chain checks read it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

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


def union(parts: Sequence[Contents]) -> Contents:
    """What a file made of several programs holds (a universal macOS file):
    each package once, by key, its features and direct dependencies those
    of every part; the direct dependencies and linked artifacts of all, in
    the parts' order."""
    packages: dict[str, Package] = {}
    for part in parts:
        for pkg in part.packages:
            kept = packages.get(pkg.key)
            if kept is None:
                packages[pkg.key] = pkg
                continue
            packages[pkg.key] = replace(
                kept,
                features=tuple(dict.fromkeys((*kept.features, *pkg.features))),
                depends=tuple(dict.fromkeys((*kept.depends, *pkg.depends))),
            )
    return Contents(
        packages=tuple(packages.values()),
        direct=tuple(dict.fromkeys(k for part in parts for k in part.direct)),
        links=tuple(dict.fromkeys(p for part in parts for p in part.links)),
        built_with=next((p.built_with for p in parts if p.built_with), None),
    )
