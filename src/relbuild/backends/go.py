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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relbuild.attest.contents import Contents
from relbuild.backends import go_buildinfo
from relbuild.backends.base import (
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
from relbuild.config import LoadedConfig, TargetConfig
from relbuild.config.models import GoPin
from relbuild.errors import ToolchainError
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


def list_deps(
    go: str, package: str, env: Mapping[str, str], cwd: str | Path, tags: Sequence[str] = ()
) -> Iterator[dict[str, Any]]:
    """The packages `go list -deps -json` names for ``package``: every package
    and file the build reads with this env (GOOS, GOARCH, CGO_ENABLED, tags)."""
    argv = [go, "list", "-deps", "-json", "-mod=readonly"]
    if tags:
        argv += ["-tags", ",".join(tags)]
    res = proc.run([*argv, package], env=env, cwd=cwd)
    decoder = json.JSONDecoder()
    text, pos = res.stdout, 0
    while pos < len(text):
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        pkg, pos = decoder.raw_decode(text, pos)
        yield pkg


def input_digest(
    go: str,
    package: str,
    tags: Sequence[str],
    env: Mapping[str, str],
    cwd: str,
    extra: list[str],
) -> str:
    """A digest of everything a `go build` of ``package`` reads.

    `go list -deps -json` names every package and file the build uses with
    this env (GOOS, GOARCH, CGO_ENABLED, tags). Standard-library packages are
    covered by the Go release and module-cache packages by their version
    (their content is pinned by go.sum); the main module's files and any
    locally replaced module's are hashed by content. ``extra`` adds the
    caller's other inputs (argv, env, cgo libraries).
    """
    h = hashlib.sha256()
    for line in extra:
        h.update(line.encode() + b"\n")
    for pkg in list_deps(go, package, env, cwd, tags):
        h.update(f"pkg {pkg['ImportPath']}\n".encode())
        if pkg.get("Standard"):
            continue
        module = pkg.get("Module") or {}
        if module.get("Version") and not module.get("Replace"):
            h.update(f"mod {module['Path']}@{module['Version']}\n".encode())
            continue
        folder = Path(pkg["Dir"])
        if module.get("GoMod"):
            gomod = Path(module["GoMod"])
            h.update(gomod.read_bytes())
            gosum = gomod.with_name("go.sum")
            if gosum.is_file():
                h.update(gosum.read_bytes())
        for key in sorted(k for k in pkg if k.endswith("Files")):
            for name in pkg[key]:
                h.update(f"file {key} {name}\n".encode())
                h.update(hashlib.sha256((folder / name).read_bytes()).digest())
    return h.hexdigest()


def ldflags_x(values: Mapping[str, str], version: str) -> list[str]:
    out = []
    for key, template in sorted(values.items()):
        value = template.replace("{version}", version)
        out += ["-X", shlex.quote(f"{key}={value}") if " " in value else f"{key}={value}"]
    return out


@dataclass(frozen=True)
class GoFacts:
    modules: Mapping[str, list[GoModuleDep]]  # go.sum of each component's `path`


class GoBackend:
    language = "go"
    pin = "go"

    def resolve(self, pin: Any, env: Mapping[str, str]) -> ResolvedTool:
        return resolve(pin, env)

    def needs(self, probe: Probe, target: TargetConfig) -> list[Check]:
        config = probe.loaded.config
        if not any(config.go[c].uses_cgo for c in target.components if c in config.go):
            return []
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
        rel_paths = sorted({config.go[c].path for c in components})
        return GoFacts(modules={rel: read_go_sum(root / rel / "go.sum") for rel in rel_paths})

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
        assert triple.goos and triple.goarch  # bare metal is refused by the config check
        out = ctx.paths.go_out(target.triple) / (comp.binary or component)
        ldflags = ["-buildid=", *ldflags_x(comp.ldflags_x, ctx.version)]
        env = ctx.base_env([str(Path(go.executable).parent)])
        env.update(
            {
                "GOTOOLCHAIN": "local",
                "GOENV": "off",
                "GOWORK": "off",
                "GOFLAGS": "",
                "GOCACHE": str(ctx.paths.go_build_cache),
                "GOMODCACHE": environ.go_mod_cache(ctx.user_env),
                "GOOS": triple.goos,
                "GOARCH": triple.goarch,
                **triple.go_env,
                "CGO_ENABLED": "1" if comp.uses_cgo else "0",
            }
        )
        if ctx.offline:
            env["GOPROXY"] = "off"
        cc: CcWrapper | None = None
        handoffs = [ctx.paths.cgo_dir(target.triple, lib) for lib in comp.links]
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
            # -musl: static, runs anywhere. -gnu: against glibc (the target's
            # floor) and dynamic, as users of -gnu programs expect.
            ldflags.append("-linkmode=external")
            if triple.libc == "musl":
                ldflags.append("-extldflags=-static")
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
        if comp.tags:
            argv += ["-tags", ",".join(comp.tags)]
        argv += [f"-ldflags={' '.join(ldflags)}", "-o", str(out), comp.package]
        return Step(
            target=target.triple,
            component=component,
            language=self.language,
            tool="go",
            kind="go-executable",
            argv=argv,
            cwd=str(ctx.paths.root / comp.path),
            env=env,
            log=ctx.log(target.triple, component),
            package=comp.package,
            output=str(out),
            cc=cc,
            inputs=[str(folder) for folder in handoffs] if comp.uses_cgo else [],
            tags=list(comp.tags),
            defines=sorted(comp.ldflags_x),
            toolchains=[self.pin, "zig"] if cc else [self.pin],
        )

    def outputs(self, step: Step, output: str) -> list[Path]:
        assert step.output is not None
        return [Path(step.output)]

    def handoff_notes(self, step: Step, output: str) -> dict[str, str]:
        return {}

    def contents(self, probe: Probe, manifest: Manifest, folder: Path) -> dict[str, Contents]:
        return go_buildinfo.artifact_contents(probe, manifest, folder)

    def fingerprint(self, step: Step, releases: Mapping[str, str]) -> str | None:
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
        return input_digest(step.argv[0], step.package, step.tags, step.env, step.cwd, extra)
