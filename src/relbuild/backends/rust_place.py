"""What a Rust step finds in the source tree inside the sandbox, where the
crate expects it: the Go archives its build.rs links (each Go component's
`in-tree`, the cgo header beside it), and the Cargo.lock relbuild made for a
workspace that commits none (backends/cargo_lock.py)."""

from __future__ import annotations

from pathlib import Path

from relbuild.backends import cargo_lock
from relbuild.backends.base import StepContext
from relbuild.config import TargetConfig


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
