"""How a Rust step links: the linker a target names (recorded as a tool
of the manifest), rust-lld on bare metal, or the pinned zig through a
wrapper, for the target and for what cargo builds for the host."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from relbuild.backends.base import CcWrapper, ResolvedTool, StepContext
from relbuild.config import TargetConfig, triples
from relbuild.errors import CommandError, ConfigError, ToolchainError
from relbuild.release.digest import hash_file
from relbuild.system import proc


def target_linker(
    ctx: StepContext,
    linkers: Mapping[str, str],
    target: TargetConfig,
    component: str,
    env: dict[str, str],
) -> CcWrapper | None:
    """The linker of the target's Rust steps, set in ``env``: the target's
    own, rust-lld on bare metal, else the pinned zig (the wrapper returned)."""
    comp = ctx.loaded.config.rust[component]
    rust = ctx.tools.require("rust")
    triple = target.info
    if target.linker:
        env[f"CARGO_TARGET_{triple.env_suffix}_LINKER"] = linkers[target.linker]
        return None
    if not triple.bare_metal and ctx.tools.zig is not None:
        # The pinned zig links Rust programs for hosted Linux (as
        # cargo-zigbuild does): no host cross compiler is needed, and
        # every machine links with the same one. Every step of the
        # target sets it, so cargo's fingerprints agree across steps.
        return zig_linker(ctx, ctx.tools.zig, target.zig_target or "", triple.env_suffix, env)
    if (
        not triple.bare_metal
        and comp.kind != "staticlib"
        and target.triple != rust.details.get("host")
    ):
        raise ConfigError(
            f"{ctx.loaded.path}: rust.{component} is a program for {target.triple}, and "
            "nothing can link it: no `linker` on the target and no zig pinned",
            hint="Pin zig in toolchains.zig (it links Rust programs for hosted Linux), or "
            "set `linker` on the target. `relbuild doctor` checks this.",
        )
    return None


def linker_tool(name: str, path: str, env: Mapping[str, str]) -> ResolvedTool | None:
    """The linker a target names (`linker = "ld.lld-19"`) as a tool the
    manifest records: the version it prints and its executable's SHA-256.
    None when it does not run (doctor reports that; the link then fails)."""

    try:
        res = proc.run([path, "--version"], env=env, check=False, timeout=30)
        digest = hash_file(Path(path).resolve())[0]
    except (OSError, CommandError, ToolchainError):
        return None
    found = re.search(r"\b(\d+\.\d+(?:\.\d+)?)\b", res.stdout)
    if res.returncode != 0 or found is None:
        return None
    return ResolvedTool(
        name=name, release=found.group(1), found_via=path, executable=path, digest=digest
    )


def host_linker(ctx: StepContext, target: TargetConfig, env: dict[str, str]) -> CcWrapper | None:
    """With zig pinned, it also links what cargo builds for the host while
    building for another triple (build scripts, proc macros), so no host C
    compiler is needed either. cargo applies the host triple's
    ``CARGO_TARGET_<HOST>_LINKER`` to them (target-applies-to-host)."""
    host = triples.lookup(ctx.tools.require("rust").details.get("host", ""))
    zig = ctx.tools.zig
    if zig is None or host is None or host.bare_metal or host.name == target.triple:
        return None
    return zig_linker(ctx, zig, triples.zig_target(host) or "", host.env_suffix, env)


def zig_linker(
    ctx: StepContext, zig: ResolvedTool, zig_target: str, env_suffix: str, env: dict[str, str]
) -> CcWrapper:
    """A zig wrapper as cargo's linker for one triple (set in ``env``)."""
    cc = CcWrapper(
        path=str(ctx.paths.tools / f"ld-{zig_target}"),
        zig=zig.executable,
        zig_target=zig_target,
        link_cwd=str(ctx.paths.zig_link_cwd),
    )
    env[f"CARGO_TARGET_{env_suffix}_LINKER"] = cc.path
    env.update(ctx.paths.zig_env)
    return cc
