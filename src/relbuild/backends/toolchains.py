"""Resolving every pinned toolchain of a config, all or nothing."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePath
from typing import Any

from relbuild.backends import BACKENDS, zig
from relbuild.backends.base import ResolvedTool, ResolvedToolchains
from relbuild.config.models import Config
from relbuild.errors import ToolchainError
from relbuild.release.dist import hash_file
from relbuild.system.fsutil import atomic_write

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


def _digest(executable: str, known: Mapping[str, str]) -> tuple[str, str] | None:
    """(identity, SHA-256) of a toolchain's executable (zig's is 172 MB);
    the digest taken from ``known`` when the file's identity (path, size,
    times, inode) is there, so an unchanged toolchain is hashed once."""
    try:
        real = Path(executable).resolve()
        st = real.stat()
        identity = f"{real}|{st.st_size}|{st.st_mtime_ns}|{st.st_ctime_ns}|{st.st_ino}"
        return identity, known.get(identity) or hash_file(real)[0]
    except OSError:
        return None


def _read_memo(memo: Path | None) -> dict[str, str]:
    if memo is None:
        return {}
    try:
        data = json.loads(memo.read_bytes()[: 1 << 20])
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}


def resolve_all(
    config: Config, env: Mapping[str, str], memo: Path | None = None
) -> ResolvedToolchains:
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
        found = _digest(tool.executable, known)
        if found is not None:
            digests[found[0]] = found[1]
        return tool.model_copy(update={"digest": found[1] if found else None})

    known = _read_memo(memo)
    digests: dict[str, str] = {}
    names = needed_tools(config)
    with ThreadPoolExecutor(max_workers=max(1, len(names))) as pool:
        answers = dict(zip(names, pool.map(resolve, names), strict=True))
    if memo is not None and not digests.items() <= known.items():
        # One write, once every tool is known: threads never race on it.
        with contextlib.suppress(OSError):
            atomic_write(memo, json.dumps({**known, **digests}, sort_keys=True).encode())
    found = {n: a for n, a in answers.items() if isinstance(a, ResolvedTool)}
    failures = [a for a in answers.values() if isinstance(a, ToolchainError)]
    if failures:
        if len(failures) == 1:
            raise failures[0]
        raise ToolchainError("\n\n".join(str(f) for f in failures))
    return ResolvedToolchains(**found)


def toolchain_folders(tools: ResolvedToolchains) -> dict[str, str]:
    """Each resolved toolchain's install folder, by pin: what the sandbox
    mounts and what must never reach an artifact."""
    folders = {
        "rust": tools.rust.paths.get("sysroot") if tools.rust else None,
        "go": tools.go.paths.get("goroot") if tools.go else None,
        "zig": str(PurePath(tools.zig.executable).parent) if tools.zig else None,
    }
    return {k: v for k, v in folders.items() if v}
