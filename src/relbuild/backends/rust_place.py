"""What a Rust step finds in the source tree inside the sandbox, where the
crate expects it: the Go archives its build.rs links (each Go component's
`in-tree`, the cgo header beside it), and the Cargo.lock relbuild made for a
workspace that commits none (backends/cargo_lock.py)."""

from __future__ import annotations

import glob
import os
from pathlib import Path

from relbuild.backends import cargo_lock
from relbuild.backends.base import Check, Probe, StepContext, need
from relbuild.config import TargetConfig

# Where Debian and most distributions put libclang (clang-sys searches these).
_LIBCLANG = (
    "/usr/lib/llvm-*/lib/libclang*.so*",
    "/usr/lib/*/libclang*.so*",
    "/usr/lib/libclang*.so*",
)


def find_libclang(env: dict[str, str] | None = None) -> str | None:
    """The libclang a bindgen build script would load, or None."""
    given = (env or {}).get("LIBCLANG_PATH") or os.environ.get("LIBCLANG_PATH")
    patterns = [os.path.join(given, "libclang*.so*")] if given else []
    for pattern in [*patterns, *_LIBCLANG]:
        found = sorted(p for p in glob.glob(pattern) if "libclang-cpp" not in p)
        if found:
            return found[-1]
    return None


def libclang_checks(probe: Probe, target: TargetConfig) -> list[Check]:
    """A crate that runs bindgen (clang-sys in its lock) needs libclang."""
    config = probe.loaded.config
    paths = sorted({config.rust[c].path for c in target.components if c in config.rust})
    users = []
    for rel in paths:
        lock = cargo_lock.lock_file(probe.loaded.root, rel, probe.cache)
        try:
            text = lock.read_text(errors="replace")
        except OSError:
            continue
        if 'name = "clang-sys"' in text:
            users.append(rel)
    if not users:
        return []
    found = find_libclang(dict(probe.env))
    return [
        need(
            target.triple,
            "libclang (bindgen)",
            found is not None,
            found or "not found",
            f"the crate in {', '.join(users)} runs bindgen, which loads libclang: install it "
            "(Debian: `apt-get install libclang1-19 libclang-common-19-dev`) or set LIBCLANG_PATH",
        )
    ]


def with_lock(
    ctx: StepContext, rel: str, place: dict[str, str], why: dict[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """The lock relbuild made for a workspace with none, shown as its own
    Cargo.lock inside the sandbox (not through cargo's lockfile-path
    setting, which -Zbuild-std would apply to the standard library too)."""
    at = (Path(rel) / "Cargo.lock").as_posix()
    return (
        {**place, at: str(cargo_lock.generated_path(ctx.paths.cache, rel))},
        {**why, at: f"{rel}: no Cargo.lock in the tree; relbuild locked it once"},
    )


def go_archives(
    ctx: StepContext, target: TargetConfig, component: str
) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """The Go archives the program links, each from its step of this target:
    placed where its build.rs looks for them (the Go component's `in-tree`,
    the header beside it) as {path: host file} and {path: why}; with no
    `in-tree`, the folder of the archive as a `-L native=` flag."""
    config = ctx.loaded.config
    place: dict[str, str] = {}
    why: dict[str, str] = {}
    flags: list[str] = []
    for lib in config.rust[component].links:
        step = ctx.made.get((target.triple, lib))
        if step is None or step.output is None or step.header is None:
            continue
        at = config.go[lib].in_tree
        if at is None:
            flags.append(f"-Lnative={Path(step.output).parent}")
            continue
        for path, host in ((at, step.output), (at.removesuffix(".a") + ".h", step.header)):
            place[path] = host
            why[path] = f"go.{lib}.in-tree"
    return place, why, flags
