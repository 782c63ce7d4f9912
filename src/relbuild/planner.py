"""From a config and resolved toolchains to the ordered list of build steps.

Targets come in the config's order; within a target, Rust components first
(in config order), then Go, because a Go program may link the Rust staticlib
of the same target through cgo. Each step has its exact argv, cwd and an
environment built from an allow-list (see environ.py), nothing else.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from relbuild import environ, proc
from relbuild.backends import rust as rust_backend
from relbuild.config import LoadedConfig, TargetConfig
from relbuild.errors import ConfigError
from relbuild.sourceinfo import SourceInfo
from relbuild.toolchains import ResolvedToolchains

StepKind = Literal["staticlib", "executable", "firmware", "go-executable"]


class Step(BaseModel):
    model_config = ConfigDict(frozen=True)

    target: str
    component: str
    tool: Literal["cargo", "go"]
    kind: StepKind
    argv: list[str]
    cwd: str
    env: dict[str, str]
    log: str
    # What to pick up afterwards: for cargo the package/target names found in
    # its JSON messages, for go the -o path.
    package: str | None = None
    artifact_name: str | None = None
    output: str | None = None
    header: str | None = None


class Plan(BaseModel):
    model_config = ConfigDict(frozen=True)

    project: str
    version: str
    source_date_epoch: int
    cache: str
    steps: list[Step]
    targets: list[str]

    def steps_for(self, triple: str) -> list[Step]:
        return [s for s in self.steps if s.target == triple]


@dataclass(frozen=True)
class BuildPaths:
    root: Path
    cache: Path

    def cargo_target(self, triple: str) -> Path:
        # One target dir per triple so targets can build side by side
        # without waiting on cargo's lock.
        return self.cache / "cargo" / triple

    def go_out(self, triple: str) -> Path:
        return self.cache / "go-out" / triple

    @property
    def go_build_cache(self) -> Path:
        return self.cache / "go-build"

    def cgo_dir(self, triple: str, lib: str) -> Path:
        return self.cache / "cgo" / triple / lib

    @property
    def tools(self) -> Path:
        return self.cache / "tools"

    @property
    def logs(self) -> Path:
        return self.cache / "logs"


@dataclass(frozen=True)
class CrateInfo:
    name: str
    version: str
    lib_name: str | None  # the library's name, for lib<name>.a
    staticlib: bool
    bins: tuple[str, ...]


def cargo_packages(cargo: str, workspace: Path, env: Mapping[str, str]) -> dict[str, CrateInfo]:
    res = proc.run(
        [cargo, "metadata", "--no-deps", "--format-version", "1", "--offline"],
        env=env,
        cwd=workspace,
    )
    out: dict[str, CrateInfo] = {}
    for pkg in json.loads(res.stdout)["packages"]:
        lib = next(
            (t for t in pkg["targets"] if {"staticlib", "lib", "rlib"} & set(t["kind"])), None
        )
        out[pkg["name"]] = CrateInfo(
            name=pkg["name"],
            version=pkg["version"],
            lib_name=lib["name"].replace("-", "_") if lib else None,
            staticlib=any("staticlib" in t["kind"] for t in pkg["targets"]),
            bins=tuple(t["name"] for t in pkg["targets"] if "bin" in t["kind"]),
        )
    return out


def ldflags_x(values: Mapping[str, str], version: str) -> list[str]:
    out = []
    for key, template in sorted(values.items()):
        value = template.replace("{version}", version)
        out += ["-X", shlex.quote(f"{key}={value}") if " " in value else f"{key}={value}"]
    return out


class Planner:
    """Builds the plan; one instance per build."""

    def __init__(
        self,
        loaded: LoadedConfig,
        tools: ResolvedToolchains,
        source: SourceInfo,
        paths: BuildPaths,
        *,
        offline: bool = False,
        user_env: Mapping[str, str] | None = None,
    ) -> None:
        self.loaded = loaded
        self.config = loaded.config
        self.tools = tools
        self.source = source
        self.paths = paths
        self.offline = offline
        self.user_env = dict(os.environ if user_env is None else user_env)
        self._crates: dict[str, dict[str, CrateInfo]] = {}

    # --- shared pieces ------------------------------------------------------

    def _base_env(self, extra_path: Sequence[str]) -> dict[str, str]:
        env = environ.inherited(self.user_env)
        env["HOME"] = environ.home(self.user_env)
        env["PATH"] = os.pathsep.join(dict.fromkeys([*extra_path, *environ.SYSTEM_PATH]))
        env.update(environ.FIXED)
        env["SOURCE_DATE_EPOCH"] = str(self.source.source_date_epoch)
        return env

    def crates(self, rel: str) -> dict[str, CrateInfo]:
        if rel not in self._crates:
            rust = self.tools.require("rust")
            env = {**environ.probe_env(self.user_env), **rust_backend.cargo_env(rust)}
            self._crates[rel] = cargo_packages(rust.paths["cargo"], self.paths.root / rel, env)
        return self._crates[rel]

    def crate(self, name: str) -> CrateInfo:
        comp = self.config.rust[name]
        package = comp.package or name
        crates = self.crates(comp.path)
        info = crates.get(package)
        if info is None:
            raise ConfigError(
                f"{self.loaded.path}: rust.{name}: no package '{package}' in the cargo "
                f"workspace at {self.paths.root / comp.path}",
                hint=f"packages there: {', '.join(sorted(crates)) or 'none'}",
            )
        if comp.kind == "staticlib" and not info.staticlib:
            raise ConfigError(
                f"{self.loaded.path}: rust.{name}: package '{package}' has no staticlib target",
                hint='Add `crate-type = ["staticlib"]` to its [lib] section.',
            )
        if comp.kind != "staticlib" and (comp.bin or package) not in info.bins:
            raise ConfigError(
                f"{self.loaded.path}: rust.{name}: package '{package}' has no binary "
                f"'{comp.bin or package}'",
                hint=f"binaries: {', '.join(info.bins) or 'none'}; set `bin`.",
            )
        return info

    def version(self) -> str:
        if self.config.project.version:
            return self.config.project.version
        for name in self.config.rust:
            return self.crate(name).version
        raise ConfigError(
            f"{self.loaded.path}: project.version is not set and there is no Rust component "
            "to take it from"
        )

    # --- steps --------------------------------------------------------------

    def plan(
        self, targets: Sequence[str] | None = None, components: Sequence[str] | None = None
    ) -> Plan:
        chosen = self._select_targets(targets)
        version = self.version()
        steps: list[Step] = []
        for target in chosen:
            wanted = self._select_components(target, components)
            rust = [c for c in target.components if c in self.config.rust and c in wanted]
            go = [c for c in target.components if c in self.config.go and c in wanted]
            steps += [self._cargo_step(target, c) for c in rust]
            steps += [self._go_step(target, c, version) for c in go]
        if not steps:
            raise ConfigError(
                f"nothing to build: no component of --component {', '.join(components or [])} "
                f"is built for --target {', '.join(t.triple for t in chosen)}"
            )
        return Plan(
            project=self.config.project.name,
            version=version,
            source_date_epoch=self.source.source_date_epoch,
            cache=str(self.paths.cache),
            steps=steps,
            targets=[t.triple for t in chosen],
        )

    def _select_targets(self, names: Sequence[str] | None) -> list[TargetConfig]:
        if not names:
            return list(self.config.targets)
        known = {t.triple: t for t in self.config.targets}
        for n in names:
            if n not in known:
                raise ConfigError(
                    f"--target {n}: not a target of {self.loaded.path}",
                    hint=f"targets: {', '.join(known)}",
                )
        return [t for t in self.config.targets if t.triple in names]

    def _select_components(self, target: TargetConfig, names: Sequence[str] | None) -> set[str]:
        if not names:
            return set(target.components)
        for n in names:
            if self.config.component_kind(n) is None:
                raise ConfigError(f"--component {n}: not a component of {self.loaded.path}")
        wanted = {n for n in names if n in target.components}
        # A Go program needs the staticlibs it links, built for the same target.
        for n in list(wanted):
            if n in self.config.go:
                wanted.update(self.config.go[n].links)
        return wanted

    def _cargo_step(self, target: TargetConfig, name: str) -> Step:
        comp = self.config.rust[name]
        rust = self.tools.require("rust")
        info = self.crate(name)
        triple = target.info
        cwd = self.paths.root / comp.path
        target_dir = self.paths.cargo_target(target.triple)
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
        argv += ["--release"] if comp.profile == "release" else ["--profile", comp.profile]
        if comp.features:
            argv += ["--features", ",".join(comp.features)]
        if not comp.default_features:
            argv.append("--no-default-features")
        crates = rust_backend.build_std_crates(target, rust)
        if crates:
            argv.append(f"-Zbuild-std={','.join(crates)}")
            features = target.build_std_features
            if features is None:
                # Bare metal has no libc to supply memcpy and friends.
                features = ["compiler-builtins-mem"] if triple.bare_metal else []
            if features:
                argv.append(f"-Zbuild-std-features={','.join(features)}")
        if self.offline:
            argv.append("--offline")

        cargo_home = environ.cargo_home(self.user_env)
        src = rust_backend.std_source(rust).parent
        rustflags = [
            # Later maps win: the narrower target dir goes after the root.
            f"--remap-path-prefix={self.paths.root}=/build/{self.config.project.name}",
            f"--remap-path-prefix={cargo_home}=/cargo",
            f"--remap-path-prefix={src}=/rustc/{rust.commit or rust.release}",
            f"--remap-path-prefix={target_dir}=/target",
            *target.rustflags,
        ]
        profile = comp.profile.upper().replace("-", "_")
        env = self._base_env([str(Path(rust.paths["rustc"]).parent)])
        env.update(rust_backend.cargo_env(rust))
        prefix_map = (
            f"-ffile-prefix-map={self.paths.root}=/build/{self.config.project.name} "
            f"-ffile-prefix-map={cargo_home}=/cargo"
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
        if crates and rust_backend.needs_bootstrap(rust):
            env["RUSTC_BOOTSTRAP"] = "1"
        if target.linker:
            linker = proc.which(target.linker, env) or target.linker
            env[f"CARGO_TARGET_{triple.env_suffix}_LINKER"] = linker
        return Step(
            target=target.triple,
            component=name,
            tool="cargo",
            kind=comp.kind,
            argv=argv,
            cwd=str(cwd),
            env=env,
            log=str(self.paths.logs / target.triple / f"{name}.log"),
            package=info.name,
            artifact_name=info.lib_name if comp.kind == "staticlib" else (comp.bin or info.name),
            header=str(cwd / comp.header) if comp.header else None,
        )

    def _go_step(self, target: TargetConfig, name: str, version: str) -> Step:
        comp = self.config.go[name]
        go = self.tools.require("go")
        triple = target.info
        assert triple.goos and triple.goarch  # bare metal is refused by the config check
        out = self.paths.go_out(target.triple) / (comp.binary or name)
        ldflags = ["-buildid=", *ldflags_x(comp.ldflags_x, version)]
        env = self._base_env([str(Path(go.executable).parent)])
        env.update(
            {
                "GOTOOLCHAIN": "local",
                "GOENV": "off",
                "GOWORK": "off",
                "GOFLAGS": "",
                "GOCACHE": str(self.paths.go_build_cache),
                "GOMODCACHE": environ.go_mod_cache(self.user_env),
                "GOOS": triple.goos,
                "GOARCH": triple.goarch,
                **triple.go_env,
                "CGO_ENABLED": "1" if comp.uses_cgo else "0",
            }
        )
        if self.offline:
            env["GOPROXY"] = "off"
        if comp.uses_cgo:
            self.tools.require("zig")  # cgo needs the pinned zig: fail here if unpinned
            ldflags += ["-linkmode=external", "-extldflags=-static"]
            includes = [
                f"-I{self.paths.cgo_dir(target.triple, lib) / 'include'}" for lib in comp.links
            ]
            libdirs = [f"-L{self.paths.cgo_dir(target.triple, lib) / 'lib'}" for lib in comp.links]
            env.update(
                {
                    "CC": str(self.cc_wrapper(triple.zig_target or "")),
                    "CGO_CFLAGS": " ".join(
                        [
                            "-O2",
                            "-g0",
                            f"-ffile-prefix-map={self.paths.root}=/build/{self.config.project.name}",
                            *includes,
                        ]
                    ),
                    "CGO_LDFLAGS": " ".join(libdirs),
                    "ZIG_GLOBAL_CACHE_DIR": environ.zig_global_cache(self.user_env),
                    "ZIG_LOCAL_CACHE_DIR": str(self.paths.cache / "zig-local"),
                }
            )
        argv = [go.executable, "build", "-trimpath", "-buildvcs=false", "-mod=readonly"]
        if comp.tags:
            argv += ["-tags", ",".join(comp.tags)]
        argv += [f"-ldflags={' '.join(ldflags)}", "-o", str(out), comp.package]
        return Step(
            target=target.triple,
            component=name,
            tool="go",
            kind="go-executable",
            argv=argv,
            cwd=str(self.paths.root / comp.path),
            env=env,
            log=str(self.paths.logs / target.triple / f"{name}.log"),
            output=str(out),
        )

    def cc_wrapper(self, zig_target: str) -> Path:
        """The C compiler go calls: the pinned zig for this target. A script,
        since CC must be one command; it is part of the cache, not the tree."""
        return self.paths.tools / f"cc-{zig_target}"


def write_cc_wrapper(path: Path, zig: str, zig_target: str) -> None:
    text = f'#!/bin/sh\nexec {shlex.quote(zig)} cc -target {zig_target} "$@"\n'
    if path.exists() and path.read_text() == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.chmod(0o755)
    tmp.replace(path)
