"""Rust components, built with cargo.

`cargo metadata` is read once per workspace, before planning: the packages
and their targets (to check a component and name its outputs) and the
features cargo resolved for every dependency (for the manifest). A step is
then made from those facts alone; its outputs are found in cargo's JSON
messages. cargo keeps its own fingerprints, so no step is ever skipped here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from relbuild.attest.contents import Contents
from relbuild.backends import cargo_lock, cargo_tree, imgtool, rust_link, rust_place, rustc
from relbuild.backends.base import (
    Budget,
    BuildPaths,
    CcWrapper,
    Check,
    Probe,
    ResolvedTool,
    Step,
    StepContext,
    need,
    unresolved,
)
from relbuild.backends.cargo_meta import Crate, Workspace, read_workspace, std_use
from relbuild.config import LoadedConfig, TargetConfig, triples
from relbuild.errors import CommandError, ConfigError
from relbuild.release.deps import CrateDep, Dependencies, LockRecord
from relbuild.release.dist import Manifest
from relbuild.system import environ, proc


@dataclass(frozen=True)
class RustFacts:
    workspaces: Mapping[str, Workspace]  # by the components' `path`
    std_prebuilt: Mapping[str, bool]  # by triple: is std installed for it?
    linkers: Mapping[str, str]  # a target's `linker`, as found on the step's PATH
    # Each of those that runs, as the manifest records it with the pinned
    # toolchains: the release it prints and the SHA-256 of its executable.
    linker_tools: Mapping[str, ResolvedTool] = field(default_factory=dict)
    # Workspaces with no Cargo.lock in the tree: the lock relbuild made.
    locks: Mapping[str, LockRecord] = field(default_factory=dict)


class RustBackend:
    language = "rust"
    pin = "rust"

    def resolve(self, pin: Any, env: Mapping[str, str]) -> ResolvedTool:
        return rustc.resolve(pin, env)

    def needs(self, probe: Probe, target: TargetConfig) -> list[Check]:
        rust = probe.tools.rust
        if rust is None:
            return [unresolved(target.triple, "rust", "rust std")]
        config = probe.loaded.config
        links = any(
            config.rust[c].kind != "staticlib" for c in target.components if c in config.rust
        )
        try:
            std_use = _probe_std_use(probe, target)
        except (ConfigError, CommandError) as exc:
            return [
                need(target.triple, "rust crates", False, str(exc).splitlines()[0], "see above")
            ]
        found = rustc.target_checks(target, rust, probe.env, links, std_use, probe.tools.zig)
        return (
            found + imgtool.checks(probe.loaded, target) + rust_place.libclang_checks(probe, target)
        )

    def read_facts(
        self, probe: Probe, components: Sequence[str], targets: Sequence[TargetConfig]
    ) -> RustFacts:
        loaded = probe.loaded
        rel_paths = sorted({loaded.config.rust[c].path for c in components})
        if not rel_paths:
            return RustFacts(workspaces={}, std_prebuilt={}, linkers={})
        rust = probe.tools.require("rust")
        env = {**probe.env, **rustc.cargo_env(rust)}
        cargo = rust.paths["cargo"]
        locks: dict[str, LockRecord] = {}
        workspaces = {}
        for rel in rel_paths:
            if probe.cache is not None:
                made = cargo_lock.ensure(cargo, loaded.root, rel, probe.cache, env, probe.offline)
                if made is not None:
                    locks[rel] = made
            workspaces[rel] = read_workspace(
                cargo,
                loaded.root / rel,
                {**env, **cargo_lock.lock_env(loaded.root, rel, probe.cache)},
                offline=probe.offline,
                lock=cargo_lock.lock_file(loaded.root, rel, probe.cache),
            )
        path = {"PATH": environ.step_path([str(Path(rust.paths["rustc"]).parent)])}
        linkers = {t.linker: proc.which(t.linker, path) or t.linker for t in targets if t.linker}
        tools = {
            name: rust_link.linker_tool(name, found, probe.env) for name, found in linkers.items()
        }
        return RustFacts(
            workspaces=workspaces,
            std_prebuilt={t.triple: rustc.std_installed(rust, t.triple) for t in targets},
            linkers=linkers,
            linker_tools={name: tool for name, tool in tools.items() if tool is not None},
            locks=locks,
        )

    def version(self, loaded: LoadedConfig, facts: RustFacts, component: str) -> str | None:
        return _crate(loaded, facts, component).version

    def extra_tools(self, facts: RustFacts) -> Mapping[str, ResolvedTool]:
        return facts.linker_tools

    def dependencies(
        self, loaded: LoadedConfig, facts: RustFacts, components: Sequence[str]
    ) -> Dependencies:
        crates: dict[tuple[str, str, str], CrateDep] = {}
        for rel in sorted({loaded.config.rust[c].path for c in components}):
            for d in facts.workspaces[rel].dependencies:
                crates.setdefault((d.name, d.version, d.source), d)
        used = {loaded.config.rust[c].path for c in components}
        return Dependencies(
            rust=[crates[k] for k in sorted(crates)],
            cargo_locks={rel: lock for rel, lock in sorted(facts.locks.items()) if rel in used},
        )

    def step(
        self, ctx: StepContext, facts: RustFacts, target: TargetConfig, component: str
    ) -> Step:
        comp = ctx.loaded.config.rust[component]
        rust = ctx.tools.require("rust")
        info = _crate(ctx.loaded, facts, component)
        triple = target.info
        cwd = ctx.paths.root / comp.path
        target_dir = ctx.paths.cargo_target(target.triple)
        argv = [
            rust.paths["cargo"],
            "build",
            "--locked",
            "--message-format=json-render-diagnostics",
            "--target",
            target.triple,
            "-p",
            info.name,
        ]
        argv += ["--lib"] if comp.kind == "staticlib" else ["--bin", comp.bin or info.name]
        profile_args = ["--release"] if comp.profile == "release" else ["--profile", comp.profile]
        argv += profile_args
        if comp.kind == "staticlib":
            argv += rustc.cargo_debug_args(comp.profile, info.name)
        if comp.features:
            argv += ["--features", ",".join(comp.features)]
        if not comp.default_features:
            argv.append("--no-default-features")
        crates = rustc.build_std_crates(
            target, facts.std_prebuilt[target.triple], *_std_use(ctx.loaded, facts, target)
        )
        if crates:
            argv.append(f"-Zbuild-std={','.join(crates)}")
            features = target.build_std_features
            if features is None:
                # Bare metal has no libc to supply memcpy and friends.
                features = ["compiler-builtins-mem"] if triple.bare_metal else []
            if features:
                argv.append(f"-Zbuild-std-features={','.join(features)}")
        if ctx.offline:
            argv.append("--offline")

        cargo_home = environ.cargo_home(ctx.user_env)
        src = rustc.std_source(rust).parent
        root = ctx.paths.root
        rustflags = [
            # Later maps win: the narrower target dir goes after the root.
            f"--remap-path-prefix={root}=/build/{ctx.project}",
            f"--remap-path-prefix={cargo_home}=/cargo",
            f"--remap-path-prefix={src}=/rustc/{rust.commit or rust.release}",
            f"--remap-path-prefix={target_dir}=/target",
            *_hosted_flags(target),
            # Firmware: each function's frame, for the worst-case stack
            # (relbuild.binaries.stack); the section is not shipped.
            *(["-Zemit-stack-sizes"] if comp.kind == "firmware" else []),
            *target.rustflags,
        ]
        profile = comp.profile.upper().replace("-", "_")
        env = ctx.base_env([str(Path(rust.paths["rustc"]).parent)])
        env.update(rustc.cargo_env(rust))
        prefix_map = (
            f"-ffile-prefix-map={root}=/build/{ctx.project} -ffile-prefix-map={cargo_home}=/cargo"
        )
        env.update(
            {
                "CARGO_HOME": cargo_home,
                "CARGO_TARGET_DIR": str(target_dir),
                "CARGO_ENCODED_RUSTFLAGS": "\x1f".join(rustflags),
                "CARGO_INCREMENTAL": "0",
                f"CARGO_PROFILE_{profile}_CODEGEN_UNITS": "1",
                "CARGO_TERM_COLOR": "never",
                "CARGO_TERM_PROGRESS_WHEN": "never",
                # Build scripts that compile C (the cc crate) read these.
                "CFLAGS": prefix_map,
                "CXXFLAGS": prefix_map,
            }
        )
        if (crates or comp.kind == "firmware") and rustc.needs_bootstrap(rust):
            env["RUSTC_BOOTSTRAP"] = "1"
        place, why, link_flags = rust_place.go_archives(ctx, target, component)
        if comp.path in facts.locks:
            place, why = rust_place.with_lock(ctx, comp.path, place, why)
        cc = rust_link.target_linker(ctx, facts.linkers, target, component, env)
        host_cc = rust_link.host_linker(ctx, target, env)
        rustflags += [*link_flags, *([f"-Cdlltool={cc.dlltool}"] if cc and cc.dlltool else [])]
        env["CARGO_ENCODED_RUSTFLAGS"] = "\x1f".join(rustflags)
        budget = None
        if comp.kind == "firmware":
            budgets = [b for b in (comp.budget, target.budget) if b]
            budget = Budget(
                flash=min((b.flash for b in budgets if b.flash is not None), default=None),
                ram=min((b.ram for b in budgets if b.ram is not None), default=None),
            )
        staticlib = comp.kind == "staticlib"
        return Step(
            target=target.triple,
            component=component,
            language=self.language,
            tool="cargo",
            kind=comp.kind,
            argv=argv,
            cwd=str(cwd),
            env=env,
            log=ctx.log(target.triple, component),
            package=info.name,
            artifact_name=info.lib_name if staticlib else (comp.bin or info.name),
            header=str(cwd / comp.header) if comp.header else None,
            handoff=str(ctx.paths.cgo_dir(target.triple, component)) if staticlib else None,
            budget=budget,
            cc=cc,
            host_cc=host_cc,
            toolchains=_toolchains(self.pin, cc or host_cc, target, comp.kind, facts),
            place=place,
            place_why=why,
            refresh=[
                rust.paths["cargo"],
                "clean",
                "-p",
                info.name,
                "--target",
                target.triple,
                *profile_args,
            ]
            if place
            else [],
        )

    def outputs(self, step: Step, output: str) -> list[Path]:
        """The files cargo's JSON messages name for the step's package and target."""
        out: list[Path] = []
        wanted = (step.artifact_name or "").replace("-", "_")
        for msg in artifact_messages(output):
            pkg_id = str(msg.get("package_id", ""))
            if msg.get("target", {}).get("name", "").replace("-", "_") != wanted:
                continue
            package = step.package
            if package and f"#{package}@" not in pkg_id and f"/{package}#" not in pkg_id:
                continue
            if step.kind == "staticlib":
                out += [Path(f) for f in msg.get("filenames", []) if f.endswith(".a")]
            elif msg.get("executable"):
                out.append(Path(msg["executable"]))
        return out

    def handoff_notes(self, step: Step, output: str) -> dict[str, str]:
        """``lib<name>.native-libs``: what rustc printed as the staticlib's
        native-static-libs (what it needs of the C library), for the cgo
        link. Empty when cargo replayed no note (nothing was compiled): the
        file of the build that compiled it then stays."""
        found = _NATIVE.findall(output)
        if step.kind != "staticlib" or not found or not step.artifact_name:
            return {}
        return {f"lib{step.artifact_name}.native-libs": found[-1].strip() + "\n"}

    def contents(self, probe: Probe, manifest: Manifest, folder: Path) -> dict[str, Contents]:
        return cargo_tree.artifact_contents(probe, manifest)

    def fingerprint(self, step: Step, releases: Mapping[str, str], paths: BuildPaths) -> str | None:
        return None  # cargo's own fingerprints decide


def _toolchains(
    pin: str, zig: CcWrapper | None, target: TargetConfig, kind: str, facts: RustFacts
) -> list[str]:
    """The tools a Rust step uses, for the manifest: the target's own linker
    too where something is linked (a staticlib is an archive)."""
    names = [pin, "zig"] if zig else [pin]
    if target.linker and kind != "staticlib" and target.linker in facts.linker_tools:
        names.append(target.linker)
    return names


def _hosted_flags(target: TargetConfig) -> list[str]:
    """rustflags every Rust step of a hosted target gets: rustc prints what a
    staticlib needs of the C library (handed to the cgo link), and on musl
    the C runtime objects come from zig, the linker, not from rustc."""
    info = target.info
    if info.bare_metal:
        return []
    flags = ["--print=native-static-libs"]
    if info.libc == "musl":
        flags.append("-Clink-self-contained=no")
    if triples.is_apple(info):
        # rustc strips Mach-O with `rust-objcopy`, which only rustup ships;
        # a release profile has no debug info to strip (the symbol table
        # stays, as on Linux).
        flags.append("-Cstrip=none")
    return flags


_NATIVE = re.compile(r"native-static-libs: ?([^\n\"]*)")


_MEMBERS: dict[tuple[str, str], Mapping[str, Crate]] = {}


def _probe_std_use(probe: Probe, target: TargetConfig) -> tuple[bool, bool]:
    """What `_std_use` says, for doctor (from `cargo metadata --no-deps`)."""
    rust = probe.tools.require("rust")
    loaded = probe.loaded
    workspaces = {}
    for name in target.components:
        comp = loaded.config.rust.get(name)
        if comp is None or comp.path in workspaces:
            continue
        key = (rust.paths["cargo"], str(loaded.root / comp.path))
        if key not in _MEMBERS:
            env = {**probe.env, **rustc.cargo_env(rust)}
            ws = read_workspace(key[0], Path(key[1]), env, offline=True, locked=False)
            _MEMBERS[key] = ws.members
        workspaces[comp.path] = Workspace(members=_MEMBERS[key])
    facts = RustFacts(workspaces=workspaces, std_prebuilt={}, linkers={})
    return _std_use(loaded, facts, target)


def _std_use(loaded: LoadedConfig, facts: RustFacts, target: TargetConfig) -> tuple[bool, bool]:
    """(any component of the target uses std, any uses alloc): one answer per
    target, since its steps share one cargo target folder and one std."""
    std = alloc = False
    for name in target.components:
        comp = loaded.config.rust.get(name)
        if comp is None:
            continue
        info = _crate(loaded, facts, name)
        uses_std, uses_alloc = std_use(info.root_file(comp.kind, comp.bin))
        std, alloc = std or uses_std, alloc or uses_alloc
    return std, alloc


def _crate(loaded: LoadedConfig, facts: RustFacts, name: str) -> Crate:
    """The package of component ``name``, checked against what it must hold."""
    comp = loaded.config.rust[name]
    package = comp.package or name
    crates = facts.workspaces[comp.path].members
    info = crates.get(package)
    if info is None:
        raise ConfigError(
            f"{loaded.path}: rust.{name}: no package '{package}' in the cargo "
            f"workspace at {loaded.root / comp.path}",
            hint=f"packages there: {', '.join(sorted(crates)) or 'none'}",
        )
    if comp.kind == "staticlib" and not info.staticlib:
        raise ConfigError(
            f"{loaded.path}: rust.{name}: package '{package}' has no staticlib target",
            hint='Add `crate-type = ["staticlib"]` to its [lib] section.',
        )
    if comp.kind != "staticlib" and (comp.bin or package) not in info.bins:
        raise ConfigError(
            f"{loaded.path}: rust.{name}: package '{package}' has no binary "
            f"'{comp.bin or package}'",
            hint=f"binaries: {', '.join(info.bins) or 'none'}; set `bin`.",
        )
    return info


def artifact_messages(output: str) -> Iterator[dict[str, Any]]:
    """cargo's `compiler-artifact` JSON messages (--message-format=json*)
    among the other lines of its output."""
    for line in output.splitlines():
        if not line.startswith('{"reason":'):
            continue
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if isinstance(msg, dict) and msg.get("reason") == "compiler-artifact":
            yield msg
