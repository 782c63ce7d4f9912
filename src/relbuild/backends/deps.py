"""Reading the project's locked dependencies (Cargo.lock, go.sum) into the
manifest's records (release/deps.py).

Rust: every registry/git package of Cargo.lock with its checksum, plus the
features cargo resolved for it. Go: every module of go.sum with its h1: sums.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from relbuild.errors import ConfigError
from relbuild.release.deps import CrateDep, GoModuleDep


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
