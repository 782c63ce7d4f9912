"""A cargo workspace as `cargo metadata` describes it: its member packages
and their targets, the locked dependencies with the features cargo resolved,
and whether a crate uses std (from its root file). The Rust backend reads
this once per workspace, before planning; `init` reads the members."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from relbuild.backends.deps import read_cargo_lock
from relbuild.release.deps import CrateDep
from relbuild.system import proc


@dataclass(frozen=True)
class CrateTarget:
    name: str
    kinds: tuple[str, ...]
    src_path: str = ""


# `#![no_std]`, also inside `#![cfg_attr(..., no_std)]`.
_NO_STD = re.compile(r"#!\[\s*(?:cfg_attr\s*\([^\]]*\bno_std\b[^\]]*\)|no_std)\s*\]")
_ALLOC = re.compile(r"\bextern\s+crate\s+alloc\b")


def std_use(src_path: str) -> tuple[bool, bool]:
    """(uses std, uses alloc) of the crate whose root file is ``src_path``:
    a crate root without ``#![no_std]`` uses std."""
    try:
        text = Path(src_path).read_text(errors="replace")
    except OSError:
        return True, False  # unreadable: std where there is one, else core
    if not _NO_STD.search(text):
        return True, True
    return False, bool(_ALLOC.search(text))


@dataclass(frozen=True)
class Crate:
    """A package of the workspace, as `cargo metadata` describes it."""

    name: str
    version: str
    manifest_path: str
    targets: tuple[CrateTarget, ...]

    @property
    def lib_name(self) -> str | None:
        """The library's name, as in lib<name>.a."""
        lib = next((t for t in self.targets if {"staticlib", "lib", "rlib"} & set(t.kinds)), None)
        return lib.name.replace("-", "_") if lib else None

    @property
    def staticlib(self) -> bool:
        return any("staticlib" in t.kinds for t in self.targets)

    @property
    def bins(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.targets if "bin" in t.kinds)

    def root_file(self, kind: str, bin_name: str | None) -> str:
        """The root source file of the component's crate target."""
        for t in self.targets:
            if kind == "staticlib" and {"staticlib", "lib", "rlib"} & set(t.kinds):
                return t.src_path
            if kind != "staticlib" and "bin" in t.kinds and t.name == (bin_name or self.name):
                return t.src_path
        return ""


@dataclass(frozen=True)
class Workspace:
    """One cargo workspace: its member packages, and the locked dependencies
    with the features cargo resolved for them."""

    members: Mapping[str, Crate]
    dependencies: Sequence[CrateDep] = ()


def parse_metadata(text: str) -> tuple[dict[str, Crate], dict[tuple[str, str], list[str]]]:
    """``cargo metadata`` output -> (members by name, features by (name, version))."""
    meta = json.loads(text)
    members = set(meta.get("workspace_members", []))
    crates: dict[str, Crate] = {}
    by_id: dict[str, tuple[str, str]] = {}
    for pkg in meta["packages"]:
        by_id[pkg["id"]] = (pkg["name"], pkg["version"])
        if pkg["id"] in members:
            crates[pkg["name"]] = Crate(
                name=pkg["name"],
                version=pkg["version"],
                manifest_path=pkg["manifest_path"],
                targets=tuple(
                    CrateTarget(t["name"], tuple(t["kind"]), t.get("src_path", ""))
                    for t in pkg["targets"]
                ),
            )
    features: dict[tuple[str, str], list[str]] = {}
    for node in (meta.get("resolve") or {}).get("nodes", []):
        key = by_id.get(node["id"])
        if key is not None:
            features[key] = sorted(node.get("features", []))
    return crates, features


def read_workspace(
    cargo: str,
    folder: Path,
    env: Mapping[str, str],
    *,
    offline: bool,
    locked: bool = True,
    lock: Path | None = None,
) -> Workspace:
    """The workspace at ``folder``; with ``locked``, its Cargo.lock and the
    resolved features too (else only the members, as `init` needs)."""
    if not locked:
        argv = [cargo, "metadata", "--no-deps", "--format-version", "1"]
        members, _ = parse_metadata(proc.run(argv, env=env, cwd=folder).stdout)
        return Workspace(members=members)
    locked_deps = read_cargo_lock(lock or folder / "Cargo.lock")
    argv = [cargo, "metadata", "--format-version", "1", "--locked"]
    if offline:
        argv.append("--offline")
    members, features = parse_metadata(proc.run(argv, env=env, cwd=folder).stdout)
    deps = [
        d.model_copy(update={"features": features.get((d.name, d.version), [])})
        for d in locked_deps
    ]
    return Workspace(members=members, dependencies=deps)
