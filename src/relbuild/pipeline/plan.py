"""Planning: from the config, the resolved toolchains, the source and the
facts the backends read, to the ordered steps and everything the later
stages need. Pure: nothing here starts a process or reads a file, so the
exact argv and environment of every step are unit-tested.

Targets come in the config's order; within a target, every component comes
after the ones it links (`links`, either way), else Rust first, then Go,
because a Go program usually links the Rust staticlib of the same target
through cgo. Each step has its exact argv, cwd and an
environment built from an allow-list (see environ.py), nothing else.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from relbuild.backends import BACKENDS
from relbuild.backends.base import BuildPaths, ResolvedTool, ResolvedToolchains, Step, StepContext
from relbuild.backends.toolchains import toolchain_folders
from relbuild.config import LoadedConfig, TargetConfig
from relbuild.config.models import Config, GoComponent, RustComponent
from relbuild.errors import ConfigError
from relbuild.pipeline import images
from relbuild.pipeline.model import Plan
from relbuild.release.deps import Dependencies
from relbuild.release.dist import SourceRecord, ToolRecord
from relbuild.system import environ
from relbuild.system.sandbox import HOST, Layout, canonical_layout
from relbuild.system.sourceinfo import SourceInfo

Selection = list[tuple[TargetConfig, list[str]]]


@dataclass(frozen=True)
class PlanInputs:
    """Everything planning reads. ``facts`` holds, by config table, what
    each backend read about the components (see Backend.read_facts)."""

    loaded: LoadedConfig
    tools: ResolvedToolchains
    source: SourceInfo
    paths: BuildPaths
    user_env: Mapping[str, str]
    facts: Mapping[str, Any]
    offline: bool = False
    # The user and host names and the temp folder, by label (see machine()).
    host: Mapping[str, str] = field(default_factory=dict)
    version: str | None = None  # --release-version


def select(loaded: LoadedConfig, targets: Sequence[str], components: Sequence[str]) -> Selection:
    """The targets to build and, for each, its components to build in order
    (:func:`link_order`); a ConfigError when that is nothing."""
    config = loaded.config
    known = {t.triple: t for t in config.targets}
    for n in targets:
        if n not in known:
            raise ConfigError(
                f"--target {n}: not a target of {loaded.path}",
                hint=f"targets: {', '.join(known)}",
            )
    for n in components:
        if config.component_kind(n) is None:
            raise ConfigError(f"--component {n}: not a component of {loaded.path}")
    chosen = [t for t in config.targets if not targets or t.triple in targets]
    selection: Selection = []
    for target in chosen:
        wanted = set(target.components)
        graph = config.links_graph()
        if components:
            wanted &= set(components)
            # A program needs the libraries it links, built for the same target.
            todo = list(wanted)
            while todo:
                for lib in graph.get(todo.pop(), []):
                    if lib not in wanted:
                        wanted.add(lib)
                        todo.append(lib)
        base = [
            c
            for language in BACKENDS
            for c in target.components
            if c in wanted and config.component_kind(c) == language
        ]
        selection.append((target, link_order(base, graph)))
    if not any(names for _, names in selection):
        raise ConfigError(
            f"nothing to build: no component of --component {', '.join(components or [])} "
            f"is built for --target {', '.join(t.triple for t in chosen)}"
        )
    return selection


def link_order(names: Sequence[str], graph: Mapping[str, Sequence[str]]) -> list[str]:
    """``names`` with every component after the ones it links, else in the
    given order (Rust first, then Go: a Go program usually links a Rust
    staticlib; a Rust program linking a Go archive comes after it). The
    config check has refused cycles."""
    done: list[str] = []

    def add(name: str) -> None:
        if name in done or name not in names:
            return
        for lib in graph.get(name, []):
            add(lib)
        done.append(name)

    for name in names:
        add(name)
    return done


def fact_components(loaded: LoadedConfig, selection: Selection) -> dict[str, list[str]]:
    """By config table, the components whose facts planning needs: those
    built, and the first of each table when the version comes from there."""
    config = loaded.config
    wanted = {c for _, names in selection for c in names}
    out: dict[str, list[str]] = {}
    for language in BACKENDS:
        names = list(getattr(config, language))
        out[language] = [
            c for i, c in enumerate(names) if c in wanted or (i == 0 and not config.project.version)
        ]
    return out


def plan(inputs: PlanInputs, targets: Sequence[str] = (), components: Sequence[str] = ()) -> Plan:
    loaded, tools = inputs.loaded, inputs.tools
    config = loaded.config
    selection = select(loaded, targets, components)
    version = _version(inputs)
    ctx = StepContext(
        loaded=loaded,
        tools=tools,
        paths=inputs.paths,
        version=version,
        source_date_epoch=inputs.source.source_date_epoch,
        offline=inputs.offline,
        user_env=inputs.user_env,
    )
    steps: list[Step] = []
    for target, names in selection:
        for name in names:
            language = config.component_kind(name)
            assert language is not None
            step = BACKENDS[language].step(ctx, inputs.facts[language], target, name)
            ctx.made[(target.triple, name)] = step
            steps.append(step)
    built = {s.component for s in steps}
    deps = [
        BACKENDS[language].dependencies(
            loaded, inputs.facts[language], [c for c in getattr(config, language) if c in built]
        )
        for language in BACKENDS
    ]
    used = {name for s in steps for name in s.toolchains}
    firmware_images = images.plan_images(loaded, version, built)
    source = inputs.source
    return Plan(
        project=config.project.name,
        version=version,
        source_date_epoch=source.source_date_epoch,
        cache=str(inputs.paths.cache),
        steps=steps,
        targets=[t.triple for t, _ in selection],
        glibc={t.triple: t.glibc_floor for t, _ in selection if t.glibc_floor},
        config_digest=_config_digest(loaded.path),
        targets_of_config=[t.triple for t in config.targets],
        components_selected=sorted(set(components)),
        root=str(inputs.paths.root),
        source=SourceRecord(
            vcs=source.vcs,
            revision=source.revision,
            dirty=source.dirty,
            source_date_epoch=source.source_date_epoch,
            tag=source.tag,
        ),
        toolchains={
            **{
                name: _tool_record(tools.require(name))
                for name in ResolvedToolchains.model_fields
                if name in used
            },
            # Tools a target names itself (its `linker`), where a step used one.
            **{
                name: _tool_record(tool)
                for language, facts in inputs.facts.items()
                for name, tool in sorted(BACKENDS[language].extra_tools(facts).items())
                if name in used
            },
        },
        places=_places(inputs),
        license_files=[str(loaded.root / name) for name in config.project.license_files],
        dependencies=Dependencies(
            rust=[d for part in deps for d in part.rust],
            go=[d for part in deps for d in part.go],
            cargo_locks={rel: lock for part in deps for rel, lock in part.cargo_locks.items()},
        ),
        layout=layout(inputs, used),
        images=firmware_images,
        universal=config.project.universal,
        offline=inputs.offline,
        machine=machine(inputs),
        leak_waivers={
            c: reason
            for c in sorted(built)
            if (reason := _component(config, c).allow_path_leaks) is not None
        },
        stack_waivers={
            name: comp.stack_unbounded
            for name, comp in config.rust.items()
            if comp.stack_unbounded is not None and name in built
        },
        abi_allow={
            name: dict(comp.abi_allow)
            for table in (config.rust, config.go)
            for name, comp in table.items()
            if comp.abi_allow and name in built
        },
    )


def _config_digest(path: Path) -> str:
    """SHA-256 of the config file's bytes: parts of one release were built
    from the same file, whatever folder it sat in."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:  # a config made in memory (tests)
        return ""


def _component(config: Config, name: str) -> RustComponent | GoComponent:
    return config.rust[name] if name in config.rust else config.go[name]


def machine(inputs: PlanInputs) -> dict[str, str]:
    """This machine's paths and names that must not reach an artifact: the
    project, caches, HOME, the temp folder, each toolchain's install folder,
    the user and the host."""
    found = {
        "config folder": str(inputs.loaded.base),
        "project root": str(inputs.paths.root),
        "cache": str(inputs.paths.cache),
        "HOME": environ.home(inputs.user_env),
        "CARGO_HOME": environ.cargo_home(inputs.user_env),
        "GOMODCACHE": environ.go_mod_cache(inputs.user_env),
        **{f"{name} toolchain": folder for name, folder in toolchain_folders(inputs.tools).items()},
        **inputs.host,
    }
    return {label: value for label, value in found.items() if value}


def layout(inputs: PlanInputs, used: set[str]) -> Layout:
    """The sandbox's mounts: the folder of toolchains.toml (with the project
    root, wherever that is beside it), relbuild's cache, the download caches
    and the install folder of each toolchain the steps use."""
    loaded = inputs.loaded
    if loaded.config.project.sandbox == "none":
        return HOST
    env = inputs.user_env
    folders = toolchain_folders(inputs.tools)
    return canonical_layout(
        src=Path(os.path.commonpath([loaded.base, loaded.root])),
        cache=inputs.paths.cache,
        cargo_home=environ.cargo_home(env),
        gomodcache=environ.go_mod_cache(env),
        toolchains={k: v for k, v in folders.items() if k in used},
    )


def _version(inputs: PlanInputs) -> str:
    """--release-version, else an exact `v*` tag on HEAD (v1.2.0 -> 1.2.0), else
    project.version, else the first Rust component's crate version."""
    config = inputs.loaded.config
    if inputs.version:
        _check_version(inputs.version, "--release-version")
        return inputs.version
    if inputs.source.tag:
        tag = inputs.source.tag.removeprefix("v")
        _check_version(tag, f"the tag {inputs.source.tag} on HEAD")
        return tag
    if config.project.version:
        return config.project.version
    for language, backend in BACKENDS.items():
        for name in getattr(config, language):
            found = backend.version(inputs.loaded, inputs.facts[language], name)
            if found:
                return found
            break  # only a table's first component speaks for the project
    raise ConfigError(
        f"{inputs.loaded.path}: project.version is not set, HEAD has no exact v* tag, and "
        "there is no Rust component to take a version from",
        hint="Pass --release-version, tag the release (git tag v1.2.3), or set project.version.",
    )


def _check_version(version: str, origin: str) -> None:
    if not re.fullmatch(r"[0-9A-Za-z][0-9A-Za-z.+_~-]*", version):
        raise ConfigError(
            f"{origin}: {version!r} is not a usable version (letters, digits and . + _ ~ -, "
            "starting with a letter or digit)"
        )


def _tool_record(tool: ResolvedTool) -> ToolRecord:
    details = {k: v for k, v in tool.details.items() if k in ("host", "llvm")}
    return ToolRecord(release=tool.release, commit=tool.commit, sha256=tool.digest, details=details)


def _places(inputs: PlanInputs) -> dict[str, str]:
    """Machine paths a step's argv or environment may hold, by the name of
    the placeholder the manifest shows instead."""
    env = inputs.user_env
    places = {
        "ROOT": str(inputs.paths.root),
        "CACHE": str(inputs.paths.cache),
        "HOME": environ.home(env),
        "CARGO_HOME": environ.cargo_home(env),
        "GOMODCACHE": environ.go_mod_cache(env),
    }
    for name in ResolvedToolchains.model_fields:
        tool = getattr(inputs.tools, name)
        if tool is not None:
            places |= tool.placeholders
    return places
