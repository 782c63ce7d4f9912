"""What a Rust artifact contains, as cargo says it.

Rust: the crates cargo resolves for one package on one target with the
features it was built with (`cargo tree -p PKG --target TRIPLE -e
normal,no-proc-macro`), not every package of Cargo.lock: build scripts,
proc macros, dev-dependencies and other platforms' dependencies are not in
the artifact. The std crates of -Zbuild-std belong to the toolchain.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from relbuild.attest.contents import Contents, Package
from relbuild.backends import cargo_lock, rustc
from relbuild.backends.base import Probe
from relbuild.backends.deps import read_cargo_lock
from relbuild.errors import BuildError
from relbuild.release.deps import CrateDep
from relbuild.release.dist import Manifest
from relbuild.system import proc
from relbuild.system.fsutil import atomic_write


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


def _cargo_tree(
    argv: list[str], env: Mapping[str, str], workspace: Path, root: Path, cache: Path | None
) -> str:
    """What `cargo tree` prints, kept in ``cache`` under a key of what it
    reads: the command, its environment, cargo itself, and the Cargo.lock,
    Cargo.toml and cargo configuration files of the workspace and the
    project (where its path dependencies live)."""
    if cache is None:
        return proc.run(argv, env=env, cwd=workspace).stdout
    h = hashlib.sha256(json.dumps([argv, sorted(env.items()), str(workspace)]).encode())
    cargo = Path(argv[0])
    with contextlib.suppress(OSError):
        st = cargo.resolve().stat()
        h.update(f"{st.st_size}|{st.st_mtime_ns}|{st.st_ino}".encode())
    for path in dict.fromkeys([*_manifests(workspace), *_manifests(root)]):
        h.update(str(path).encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    kept = cache / "cargo-tree" / f"{h.hexdigest()}.txt"
    with contextlib.suppress(OSError):
        return kept.read_text()
    text = proc.run(argv, env=env, cwd=workspace).stdout
    atomic_write(kept, text.encode())
    return text


def _manifests(workspace: Path) -> list[Path]:
    """Cargo.lock, every Cargo.toml and .cargo/config(.toml) under the
    workspace (cargo's target folders, marked by CACHEDIR.TAG, and other
    hidden folders left out), in a fixed order."""
    found: list[Path] = []
    for folder, dirs, files in os.walk(workspace):
        if "CACHEDIR.TAG" in files:
            dirs[:] = []
            continue
        dirs[:] = sorted(d for d in dirs if d == ".cargo" or not d.startswith("."))
        for name in sorted(files):
            if name in ("Cargo.toml", "Cargo.lock", "config", "config.toml"):
                if name.startswith("config") and not folder.endswith(".cargo"):
                    continue
                found.append(Path(folder) / name)
    return found


def artifact_contents(probe: Probe, manifest: Manifest) -> dict[str, Contents]:
    """Artifact path -> what it holds, for every artifact of a Rust
    component (one `cargo tree` per component and target)."""
    loaded = probe.loaded
    out: dict[str, Contents] = {}
    done: dict[tuple[str, str], Contents] = {}
    locks: dict[Path, list[CrateDep]] = {}
    for art in manifest.artifacts:
        if art.component not in loaded.config.rust or art.target is None:
            continue
        if art.kind in ("header", "archive", "file"):
            continue  # no crate's code in it (a size file is the firmware's report)
        key = (art.component, art.target)
        if key not in done:
            comp = loaded.config.rust[art.component]
            workspace = loaded.root / comp.path
            if workspace not in locks:
                locks[workspace] = read_cargo_lock(
                    cargo_lock.lock_file(loaded.root, comp.path, probe.cache)
                )
            rust = probe.tools.require("rust")
            # What the Rust backend reads `cargo metadata` with.
            env = {
                **probe.env,
                **rustc.cargo_env(rust),
                **cargo_lock.lock_env(loaded.root, comp.path, probe.cache),
            }
            argv = cargo_tree_argv(
                rust.paths["cargo"],
                comp.package or art.component,
                art.target,
                comp.features,
                comp.default_features,
                probe.offline,
            )
            text = _cargo_tree(argv, env, workspace, loaded.root, probe.cache)
            top, packages = parse_cargo_tree(text, locks[workspace], loaded.root)
            done[key] = Contents(packages=tuple(packages), direct=top.depends)
        out[art.path] = done[key]
    return out
