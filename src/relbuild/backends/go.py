"""Go components, built with go build.

The pinned release is fetched through GOTOOLCHAIN. A step's command is made
from the config alone; with cgo, the pinned zig is its C compiler and the
staticlibs it links are handed over by their Rust steps. Go relinks on every
build when the build id is empty, so a step whose inputs have not changed
(every file `go list -deps` names, the cgo libraries, argv, environment and
toolchain releases) is skipped.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from relbuild.attest.contents import Contents
from relbuild.backends import cgo_links, go_buildinfo, go_module, gomod_text
from relbuild.backends.base import (
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
from relbuild.backends.deps import read_go_sum
from relbuild.config import LoadedConfig, TargetConfig, triples
from relbuild.config.models import GoComponent, GoPin
from relbuild.errors import CommandError, ConfigError, ToolchainError
from relbuild.release.deps import Dependencies, GoModuleDep
from relbuild.release.dist import Manifest
from relbuild.system import environ, proc

_GO_VERSION = re.compile(r"^go version go(\S+) (\S+)/(\S+)")


def parse_go_version(text: str) -> tuple[str, str]:
    """'go version go1.26.8 linux/amd64' -> ('1.26.8', 'linux/amd64')."""
    m = _GO_VERSION.match(text.strip())
    if m is None:
        raise ValueError(f"not `go version` output: {text.strip()!r}")
    return m.group(1), f"{m.group(2)}/{m.group(3)}"


def resolve(pin: GoPin, env: Mapping[str, str]) -> ResolvedTool:
    """Ask any Go >= 1.21 for the pinned release with GOTOOLCHAIN=go<pin>.

    Go fetches that exact toolchain through the module proxy (checked
    against the checksum database) when the local one differs; relbuild then
    calls the fetched toolchain's own binary by absolute path with
    GOTOOLCHAIN=local, so nothing can switch it later.
    """
    start = pin.path or "go"
    go = proc.which(start, env)
    if go is None:
        raise ToolchainError(
            f"Go {pin.release} is pinned in toolchains.go, but no `{start}` was found on PATH",
            hint="Fix: install any Go >= 1.21 (it fetches the pinned release itself), "
            "or set toolchains.go.path.",
        )
    want = f"go{pin.release}"
    res = proc.run(
        [go, "env", "-json", "GOVERSION", "GOROOT"],
        env={**env, "GOTOOLCHAIN": want},
        check=False,
    )
    try:
        data = json.loads(res.stdout)
        found, goroot = data["GOVERSION"], data["GOROOT"]
    except (ValueError, KeyError, TypeError):
        detail = proc.tail(res.output, 6)
        raise ToolchainError(
            f"Go {pin.release} is pinned, but `{go} env` with GOTOOLCHAIN={want} failed:\n{detail}",
            hint="Fix: Go older than 1.21 cannot fetch toolchains; install Go >= 1.21, and "
            "make sure the Go module proxy is reachable (or run once online to cache it).",
        ) from None
    if found != want:
        raise ToolchainError(
            f"Go {pin.release} is pinned in toolchains.go, but {go} reports {found} "
            f"even with GOTOOLCHAIN={want}",
            hint="Fix: that Go is too old to switch toolchains (needs >= 1.21); install a newer "
            f"one, or change toolchains.go.release to {found.removeprefix('go')}.",
            found=found.removeprefix("go"),
        )
    real_go = Path(goroot) / "bin" / "go"
    version = proc.run([real_go, "version"], env={**env, "GOTOOLCHAIN": "local"}).stdout
    release, platform = parse_go_version(version)
    if release != pin.release:
        raise ToolchainError(
            f"{real_go} reports go{release}, but the pin is go{pin.release}",
            hint="Fix: remove the broken toolchain from the module cache and run again.",
        )
    via = (
        "local go"
        if Path(goroot).resolve() == Path(go).resolve().parent.parent
        else (f"GOTOOLCHAIN={want} via module proxy")
    )
    return ResolvedTool(
        name="go",
        release=release,
        found_via=via,
        executable=str(real_go),
        paths={"go": str(real_go), "goroot": goroot, "started_from": go},
        details={"host": platform},
        placeholders={"GOROOT": goroot},
    )


def ldflags_x(values: Mapping[str, str], version: str) -> list[str]:
    out = []
    for key, template in sorted(values.items()):
        value = template.replace("{version}", version)
        out += ["-X", shlex.quote(f"{key}={value}") if " " in value else f"{key}={value}"]
    return out


@dataclass(frozen=True)
class GoFacts:
    modules: Mapping[str, list[GoModuleDep]]  # go.sum of each component's `path`
    # The packages a cgo program builds for a target, with their cgo
    # directives, by (component, triple): where its sources expect the
    # libraries it links.
    cgo: Mapping[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)


# What planning keeps of `go list -json`: enough to read the cgo directives.
_CGO_FIELDS = ("ImportPath", "Dir", "Standard", "CgoLDFLAGS", "CgoFiles")


def target_env(
    root: Path, comp: GoComponent, target: TargetConfig, cgo: bool, offline: bool
) -> dict[str, str]:
    """What makes `go` see the component as its build for ``target`` does:
    the pinned release only, no go env file, the target's GOOS/GOARCH, cgo
    on or off, its go.work (or none), and no proxy when offline. The build
    step and `go list` of its cgo directives both start from it."""
    info = target.info
    assert info.goos and info.goarch  # bare metal is refused by the config check
    env = {
        "GOTOOLCHAIN": "local",
        "GOENV": "off",
        "GOOS": info.goos,
        "GOARCH": info.goarch,
        **info.go_env,
        "CGO_ENABLED": "1" if cgo else "0",
        **go_module.module_env(root, comp),
    }
    if offline:
        env["GOPROXY"] = "off"
    return env


def cgo_packages(probe: Probe, comp: GoComponent, target: TargetConfig) -> list[dict[str, Any]]:
    """The project's packages that ``comp`` builds for ``target``, as
    `go list` reads them with the target's GOOS/GOARCH and cgo on."""
    go = probe.tools.require("go")
    root = probe.loaded.root
    env = {**probe.env, **target_env(root, comp, target, True, probe.offline)}
    try:
        memo = BuildPaths(root, probe.cache).go_list if probe.cache else None
        found = go_module.list_deps(
            go.executable, comp.package, env, root / comp.path, comp.tags, memo
        )
    except CommandError as exc:
        raise ConfigError(
            f"`go list` cannot read the packages of {comp.package} in {root / comp.path} "
            f"for {target.triple}:\n{exc.output_tail}"
        ) from None
    return [
        {k: pkg[k] for k in _CGO_FIELDS if k in pkg}
        for pkg in found
        if not pkg.get("Standard") and pkg.get("CgoFiles")
    ]


def _placements(
    ctx: StepContext, facts: GoFacts, target: TargetConfig, component: str
) -> tuple[dict[str, str], dict[str, str]]:
    """The staticlibs a cgo program's directives expect in the tree, each
    from its Rust step of this target: {path: host file}, {path: file:line}."""
    comp = ctx.loaded.config.go[component]
    packages = facts.cgo.get((component, target.triple), [])
    made = {lib: ctx.made.get((target.triple, lib)) for lib in comp.links}
    libs = {lib: step.artifact_name or lib for lib, step in made.items() if step is not None}
    place: dict[str, str] = {}
    why: dict[str, str] = {}
    for p in cgo_links.placements(packages, ctx.paths.root, libs):
        step = made[p.component]
        assert step is not None and step.handoff is not None
        place[p.at] = str(Path(step.handoff) / "lib" / f"lib{step.artifact_name}.a")
        why[p.at] = p.where
    return place, why


def _release_checks(probe: Probe, triple: str, name: str, comp: GoComponent) -> list[Check]:
    """The Go release the component's go.mod asks for, against the pin."""
    go = probe.tools.go
    gomod = go_module.go_mod(probe.loaded.root, comp)
    wanted = gomod_text.wanted_release(gomod) if gomod else None
    if go is None or wanted is None or gomod is None:
        return []
    ok = not go_module.older(go.release, wanted)
    rel = gomod.relative_to(probe.loaded.root)
    return [
        need(
            triple,
            f"Go release for {name}",
            ok,
            f"{rel} asks for go {wanted}; pinned {go.release}",
            f"{rel} asks for go {wanted}, newer than the pinned Go {go.release}: "
            f"set toolchains.go.release to {wanted} or later",
        )
    ]


class GoBackend:
    language = "go"
    pin = "go"

    def resolve(self, pin: Any, env: Mapping[str, str]) -> ResolvedTool:
        return resolve(pin, env)

    def needs(self, probe: Probe, target: TargetConfig) -> list[Check]:
        config = probe.loaded.config
        gomod_text.require_go_sums(probe.loaded, [c for c in target.components if c in config.go])
        found = [
            check
            for c in target.components
            if c in config.go
            for check in _release_checks(probe, target.triple, c, config.go[c])
        ]
        if not any(config.go[c].uses_cgo for c in target.components if c in config.go):
            return found
        found += self._cgo_needs(probe, target)
        return found

    def _cgo_needs(self, probe: Probe, target: TargetConfig) -> list[Check]:
        if probe.tools.zig is None:
            return [unresolved(target.triple, "zig", "cgo C compiler")]
        zig_target = target.zig_target
        detail = f"zig cc -target {zig_target}"
        fix = f"zig has no C target for {target.triple}"
        return [need(target.triple, "cgo C compiler", zig_target is not None, detail, fix)]

    def read_facts(
        self, probe: Probe, components: Sequence[str], targets: Sequence[TargetConfig]
    ) -> GoFacts:
        root, config = probe.loaded.root, probe.loaded.config
        gomod_text.require_go_sums(probe.loaded, components)
        rel_paths = sorted({config.go[c].path for c in components})
        for name in components:
            for check in _release_checks(probe, "build", name, config.go[name]):
                if not check.ok:
                    raise ToolchainError(check.fix or check.detail)
        cgo = {
            (name, target.triple): cgo_packages(probe, config.go[name], target)
            for target in targets
            for name in target.components
            if name in components and config.go[name].uses_cgo
        }
        return GoFacts(
            modules={rel: read_go_sum(root / rel / "go.sum") for rel in rel_paths}, cgo=cgo
        )

    def version(self, loaded: LoadedConfig, facts: GoFacts, component: str) -> str | None:
        return None  # a Go module has no version of its own

    def extra_tools(self, facts: GoFacts) -> Mapping[str, ResolvedTool]:
        return {}

    def dependencies(
        self, loaded: LoadedConfig, facts: GoFacts, components: Sequence[str]
    ) -> Dependencies:
        mods: dict[tuple[str, str], GoModuleDep] = {}
        for rel in sorted({loaded.config.go[c].path for c in components}):
            for m in facts.modules[rel]:
                mods.setdefault((m.path, m.version), m)
        return Dependencies(go=[mods[k] for k in sorted(mods)])

    def step(self, ctx: StepContext, facts: GoFacts, target: TargetConfig, component: str) -> Step:
        comp = ctx.loaded.config.go[component]
        go = ctx.tools.require("go")
        triple = target.info
        archive = comp.buildmode == "c-archive"
        name = comp.binary or component
        if archive:
            name = Path(comp.in_tree).name if comp.in_tree else f"lib{name}.a"
        out = ctx.paths.go_out(target.triple) / name
        ldflags = ["-buildid=", *ldflags_x(comp.ldflags_x, ctx.version)]
        env = ctx.base_env([str(Path(go.executable).parent)])
        env.update(
            {
                "GOFLAGS": "",
                "GOCACHE": str(ctx.paths.go_build_cache),
                "GOMODCACHE": environ.go_mod_cache(ctx.user_env),
                **target_env(ctx.paths.root, comp, target, comp.uses_cgo, ctx.offline),
            }
        )
        cc: CcWrapper | None = None
        handoffs = [ctx.paths.cgo_dir(target.triple, lib) for lib in comp.links]
        place, why = _placements(ctx, facts, target, component)
        if comp.uses_cgo:
            zig = ctx.tools.require("zig")  # cgo needs the pinned zig: fail here if unpinned
            zig_target = target.zig_target or ""
            cc = CcWrapper(
                path=str(ctx.paths.tools / f"cc-{zig_target}-{component}"),
                zig=zig.executable,
                zig_target=zig_target,
                link_cwd=str(ctx.paths.zig_link_cwd),
                # What each staticlib needs of the C library (rustc's
                # native-static-libs), appended to every link.
                native_libs=[str(folder / "lib") for folder in handoffs],
            )
            if not archive:
                # -musl: static, runs anywhere. -gnu: against glibc (the
                # target's floor) and dynamic, as users of -gnu programs expect.
                ldflags.append("-linkmode=external")
                if triple.libc == "musl":
                    ldflags.append("-extldflags=-static")
                if triples.is_apple(triple):
                    # Go moves an external link's DWARF into the program with
                    # Apple's dsymutil and strip, which no Linux machine has:
                    # the cgo program ships without DWARF (as `-w` says).
                    ldflags.append("-w")
            root_map = f"-ffile-prefix-map={ctx.paths.root}=/build/{ctx.project}"
            includes = [f"-I{folder / 'include'}" for folder in handoffs]
            env.update(
                {
                    "CC": cc.path,
                    "CGO_CFLAGS": " ".join(["-O2", "-g0", root_map, *includes]),
                    "CGO_LDFLAGS": " ".join(f"-L{folder / 'lib'}" for folder in handoffs),
                    **ctx.paths.zig_env,
                }
            )
        argv = [go.executable, "build", "-trimpath", "-buildvcs=false", "-mod=readonly"]
        if archive:
            argv.append("-buildmode=c-archive")
        if comp.tags:
            argv += ["-tags", ",".join(comp.tags)]
        argv += [f"-ldflags={' '.join(ldflags)}", "-o", str(out), comp.package]
        return Step(
            target=target.triple,
            component=component,
            language=self.language,
            tool="go",
            kind="go-archive" if archive else "go-executable",
            argv=argv,
            cwd=str(ctx.paths.root / comp.path),
            env=env,
            log=ctx.log(target.triple, component),
            package=comp.package,
            output=str(out),
            header=str(out.with_suffix(".h")) if archive else None,
            cc=cc,
            inputs=[str(folder) for folder in handoffs] if comp.uses_cgo else [],
            tags=list(comp.tags),
            defines=sorted(comp.ldflags_x),
            toolchains=[self.pin, "zig"] if cc else [self.pin],
            place=place,
            place_why=why,
        )

    def outputs(self, step: Step, output: str) -> list[Path]:
        assert step.output is not None
        return [Path(step.output)]

    def handoff_notes(self, step: Step, output: str) -> dict[str, str]:
        return {}

    def contents(self, probe: Probe, manifest: Manifest, folder: Path) -> dict[str, Contents]:
        return go_buildinfo.artifact_contents(probe, manifest, folder)

    def fingerprint(self, step: Step, releases: Mapping[str, str], paths: BuildPaths) -> str | None:
        extra = [json.dumps([step.argv, sorted(step.env.items())])]
        for folder in map(Path, step.inputs):
            for f in sorted(folder.rglob("*")) if folder.is_dir() else []:
                if f.is_file():
                    digest = hashlib.sha256(f.read_bytes()).hexdigest()
                    extra.append(f"{f.relative_to(folder)} {digest}")
        if step.cc is not None:
            extra.append(step.cc.script())
        extra += [f"{name} {releases[name]}" for name in sorted(step.toolchains)]
        assert step.package is not None
        return go_module.input_digest(
            step.argv[0], step.package, step.tags, step.env, step.cwd, extra, paths.go_list
        )
