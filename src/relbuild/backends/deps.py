"""Locked dependencies of the project, for the manifest.

Rust: every registry/git package of Cargo.lock with its checksum, plus the
features cargo resolved for it. Go: every module of go.sum with its h1: sums.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from relbuild.errors import ConfigError


class CrateDep(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    version: str
    source: str
    checksum: str | None = None
    features: list[str] = []


class GoModuleDep(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    version: str
    sum: str | None = None  # h1: of the module zip
    gomod_sum: str | None = None  # h1: of its go.mod


class Dependencies(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    rust: list[CrateDep] = []
    go: list[GoModuleDep] = []


def read_cargo_lock(lock: Path) -> list[CrateDep]:
    try:
        data = tomllib.loads(lock.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{lock}: missing; relbuild builds with --locked",
            hint="Run `cargo generate-lockfile` and commit Cargo.lock.",
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{lock}: invalid TOML: {exc}") from None
    deps = [
        CrateDep(
            name=p["name"], version=p["version"], source=p["source"], checksum=p.get("checksum")
        )
        for p in data.get("package", [])
        if "source" in p  # workspace members and path crates have none
    ]
    return sorted(deps, key=lambda d: (d.name, d.version, d.source))


def resolved_features(
    cargo: str, workspace: Path, env: Mapping[str, str], offline: bool
) -> dict[tuple[str, str], list[str]]:
    """(name, version) -> features cargo resolved, from `cargo metadata`."""
    argv = [cargo, "metadata", "--format-version", "1", "--locked"]
    if offline:
        argv.append("--offline")
    from relbuild.system import proc

    meta = json.loads(proc.run(argv, env=env, cwd=workspace).stdout)
    by_id = {p["id"]: (p["name"], p["version"]) for p in meta["packages"]}
    out: dict[tuple[str, str], list[str]] = {}
    for node in (meta.get("resolve") or {}).get("nodes", []):
        key = by_id.get(node["id"])
        if key is not None:
            out[key] = sorted(node.get("features", []))
    return out


def with_features(
    deps: list[CrateDep], features: Mapping[tuple[str, str], list[str]]
) -> list[CrateDep]:
    return [d.model_copy(update={"features": features.get((d.name, d.version), [])}) for d in deps]


def read_go_sum(go_sum: Path) -> list[GoModuleDep]:
    if not go_sum.exists():
        return []  # a module without dependencies has no go.sum
    mods: dict[tuple[str, str], dict[str, str]] = {}
    for n, line in enumerate(go_sum.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 3 or not parts[2].startswith("h1:"):
            raise ConfigError(f"{go_sum}:{n}: not a go.sum line: {line!r}")
        path, version, digest = parts
        if version.endswith("/go.mod"):
            mods.setdefault((path, version.removesuffix("/go.mod")), {})["gomod_sum"] = digest
        else:
            mods.setdefault((path, version), {})["sum"] = digest
    return [
        GoModuleDep(path=path, version=version, **sums)
        for (path, version), sums in sorted(mods.items())
    ]
