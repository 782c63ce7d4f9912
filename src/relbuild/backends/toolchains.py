"""Resolving every pinned toolchain of a config, all or nothing."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from relbuild.backends import BACKENDS, zig
from relbuild.backends.base import ResolvedTool, ResolvedToolchains
from relbuild.config.models import Config
from relbuild.errors import ToolchainError
from relbuild.release.dist import hash_file

Resolver = Callable[[Any, Mapping[str, str]], ResolvedTool]

# Each pin and the function that finds the toolchain matching it.
RESOLVERS: dict[str, Resolver] = {
    **{backend.pin: backend.resolve for backend in BACKENDS.values()},
    "zig": zig.resolve,
}


def needed_tools(config: Config) -> list[str]:
    """The pinned tools this config's targets actually use, in a fixed order."""
    names: list[str] = []
    if config.rust:
        names.append("rust")
    if config.go:
        names.append("go")
    cgo = any(g.uses_cgo for g in config.go.values())
    # A pinned zig also links the Rust programs of hosted targets.
    rust_hosted = config.toolchains.zig is not None and any(
        not t.info.bare_metal and any(c in config.rust for c in t.components)
        for t in config.targets
    )
    if cgo or rust_hosted:
        names.append("zig")
    return names


def _digest(executable: str) -> str | None:
    try:
        return hash_file(Path(executable).resolve())[0]
    except OSError:
        return None


def resolve_all(config: Config, env: Mapping[str, str]) -> ResolvedToolchains:
    """Every pinned tool, or one ToolchainError naming all that failed. The
    tools are asked side by side (each answer takes a few processes)."""

    def resolve(name: str) -> ResolvedTool | ToolchainError:
        pin = getattr(config.toolchains, name)
        if pin is None:
            return ToolchainError(f"toolchains.{name}: no pin, but a component needs it")
        try:
            tool = RESOLVERS[name](pin, env)
        except ToolchainError as exc:
            return exc
        return tool.model_copy(update={"digest": _digest(tool.executable)})

    names = needed_tools(config)
    with ThreadPoolExecutor(max_workers=max(1, len(names))) as pool:
        answers = dict(zip(names, pool.map(resolve, names), strict=True))
    found = {n: a for n, a in answers.items() if isinstance(a, ResolvedTool)}
    failures = [a for a in answers.values() if isinstance(a, ToolchainError)]
    if failures:
        if len(failures) == 1:
            raise failures[0]
        raise ToolchainError("\n\n".join(str(f) for f in failures))
    return ResolvedToolchains(**found)
