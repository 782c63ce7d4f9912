"""The schema of toolchains.toml, as pydantic models.

Keys are kebab-case in the file (``build-std``), unknown keys are refused,
and ``relbuild schema`` exports the JSON Schema of :class:`Config`.
Checks that span several tables (a target naming an unknown component, Go
on a bare-metal triple...) live in :meth:`Config.cross_check`, which reports
the key path of the offending value.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from relbuild.config import triples
from relbuild.config.base import Model
from relbuild.config.components import AbiAllow as AbiAllow  # noqa: PLC0414 - re-exported
from relbuild.config.components import Budget as Budget  # noqa: PLC0414
from relbuild.config.components import GoBuildMode as GoBuildMode  # noqa: PLC0414
from relbuild.config.components import GoComponent as GoComponent  # noqa: PLC0414
from relbuild.config.components import PathLeakWaiver as PathLeakWaiver  # noqa: PLC0414
from relbuild.config.components import RustComponent as RustComponent  # noqa: PLC0414
from relbuild.config.components import RustKind as RustKind  # noqa: PLC0414
from relbuild.config.embedded import SmokeTest as SmokeTest  # noqa: PLC0414
from relbuild.config.release import ReleaseConfig
from relbuild.config.series import History, Regressions

SCHEMA_VERSION = 1

_RELEASE = r"^\d+\.\d+\.\d+(-(nightly|beta(\.\d+)?))?$"
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"

# --- toolchain pins ---------------------------------------------------------


class RustPin(Model):
    """The exact Rust release; rustc and cargo must both report it."""

    release: Annotated[str, Field(pattern=_RELEASE, examples=["1.96.0"])]
    commit: Annotated[
        str | None,
        Field(pattern=r"^[0-9a-f]{7,40}$", description="rustc commit hash (prefix allowed)"),
    ] = None
    path: Annotated[
        str | None, Field(description="folder holding rustc and cargo, or the rustc binary")
    ] = None
    rustup_toolchain: Annotated[
        str | None, Field(description="a rustup toolchain name, e.g. '1.96.0' or 'nightly'")
    ] = None

    @model_validator(mode="after")
    def _one_source(self) -> RustPin:
        if self.path and self.rustup_toolchain:
            raise ValueError("give either `path` or `rustup-toolchain`, not both")
        return self


class GoPin(Model):
    """The exact Go release, fetched through GOTOOLCHAIN when the local go differs."""

    release: Annotated[str, Field(pattern=r"^\d+\.\d+(\.\d+)?(rc\d+)?$", examples=["1.26.8"])]
    path: Annotated[str | None, Field(description="the go binary to start from")] = None


class ZigPin(Model):
    """The exact zig release, used as the C (cross) compiler for cgo."""

    release: Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+", examples=["0.15.2"])]
    path: Annotated[
        str | None,
        Field(description="a zig binary; by default the one in the `ziglang` Python package"),
    ] = None


class Toolchains(Model):
    rust: RustPin | None = None
    go: GoPin | None = None
    zig: ZigPin | None = None


# --- targets ----------------------------------------------------------------


class QemuConfig(Model):
    machine: str | None = None
    cpu: str | None = None
    args: list[str] = []


class TargetConfig(Model):
    triple: str
    components: Annotated[list[str], Field(min_length=1)]
    build_std: Annotated[
        list[str] | None,
        Field(description="crates for -Zbuild-std; default: ['core'] where no std is installed"),
    ] = None
    build_std_features: list[str] | None = None
    linker: Annotated[
        str | None,
        Field(
            description="linker for cargo, name or path; default: rust-lld on bare metal, "
            "the pinned zig on hosted Linux"
        ),
    ] = None
    glibc: Annotated[
        str | None,
        Field(
            pattern=r"^2\.[0-9]{1,2}$",
            description="-gnu triples: the oldest glibc the programs run on (default 2.28); "
            "they are linked against it through the pinned zig, and the manifest records it",
        ),
    ] = None
    rustflags: list[str] = []
    qemu: QemuConfig | None = None
    budget: Annotated[
        Budget | None, Field(description="flash/RAM budget of every firmware on this target")
    ] = None

    @field_validator("triple")
    @classmethod
    def _known_triple(cls, value: str) -> str:
        if triples.lookup(value) is None:
            close = triples.suggest(value)
            hint = f" (did you mean '{close}'?)" if close else ""
            raise ValueError(f"unknown target triple '{value}'{hint}")
        return value

    @model_validator(mode="after")
    def _glibc_on_gnu(self) -> TargetConfig:
        if self.glibc is not None and self.info.libc != "gnu":
            raise ValueError(f"`glibc` applies to -gnu triples only, not {self.triple}")
        return self

    @property
    def info(self) -> triples.Triple:
        info = triples.lookup(self.triple)
        assert info is not None  # checked by the validator
        return info

    @property
    def zig_target(self) -> str | None:
        """zig's -target for this target, with the glibc floor on -gnu."""
        return triples.zig_target(self.info, self.glibc)

    @property
    def glibc_floor(self) -> str | None:
        return (self.glibc or triples.DEFAULT_GLIBC) if self.info.libc == "gnu" else None


class Project(Model):
    name: Annotated[str, Field(pattern=_NAME)]
    version: Annotated[
        str | None,
        Field(
            pattern=r"^[0-9A-Za-z][0-9A-Za-z.+_~-]*$",
            description="default: the version of the first Rust component",
        ),
    ] = None
    root: Annotated[str, Field(description="project folder, relative to this file")] = "."
    license_files: Annotated[
        list[str], Field(description="files shipped in every archive, relative to root")
    ] = []
    archive: Annotated[
        Literal["tar.gz", "zip", "none"],
        Field(description="per-target archive that `relbuild build` makes"),
    ] = "none"
    universal: Annotated[
        bool,
        Field(
            description="where a build covers both x86_64-apple-darwin and "
            "aarch64-apple-darwin, also make each program built for both into one "
            "universal2 macOS file (universal2-apple-darwin/, docs/desktop.md)"
        ),
    ] = False
    sandbox: Annotated[
        Literal["bwrap", "none"],
        Field(
            description="run every build step in a bubblewrap mount namespace where the "
            "project, caches, HOME and toolchains sit at fixed paths (docs/reproducibility.md); "
            "`none` builds at this machine's own paths, reproducible only at the same paths"
        ),
    ] = "bwrap"


class Config(Model):
    """The whole of toolchains.toml."""

    schema_version: Literal[1] = 1
    project: Project
    toolchains: Toolchains
    rust: Annotated[dict[str, RustComponent], Field(description="Rust components by name")] = {}
    go: Annotated[dict[str, GoComponent], Field(description="Go components by name")] = {}
    targets: Annotated[list[TargetConfig], Field(min_length=1)]
    release: ReleaseConfig = ReleaseConfig()
    # The release history (relbuild history, docs/releases.md).
    history: History | None = None
    regressions: Regressions = Regressions()

    def component_kind(self, name: str) -> Literal["rust", "go"] | None:
        if name in self.rust:
            return "rust"
        if name in self.go:
            return "go"
        return None

    def links_graph(self) -> dict[str, list[str]]:
        """Each component and the components it links, whichever language."""
        graph = {name: list(c.links) for name, c in self.rust.items()}
        graph.update({name: list(c.links) for name, c in self.go.items()})
        return graph

    def cross_check(self) -> list[tuple[str, str]]:
        """Problems spanning tables, as (key path, message) pairs."""
        problems: list[tuple[str, str]] = []
        names = [*self.rust, *self.go]
        for name in sorted(set(self.rust) & set(self.go)):
            problems.append((f"go.{name}", f"'{name}' is both a Rust and a Go component"))
        for name in names:
            if re.match(_NAME, name) is None:
                problems.append((name, f"component name '{name}' has unusual characters"))
        if self.rust and self.toolchains.rust is None:
            problems.append(("toolchains.rust", "Rust components need a [toolchains.rust] pin"))
        if self.go and self.toolchains.go is None:
            problems.append(("toolchains.go", "Go components need a [toolchains.go] pin"))
        return problems + self._links_problems() + self._target_problems()

    def _links_problems(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        for name, go in self.go.items():
            for i, lib in enumerate(go.links):
                rust = self.rust.get(lib)
                if rust is None:
                    problems.append(
                        (f"go.{name}.links[{i}]", _unknown("Rust component", lib, self.rust))
                    )
                elif rust.kind != "staticlib":
                    problems.append(
                        (f"go.{name}.links[{i}]", f"'{lib}' is a {rust.kind}, not a staticlib")
                    )
        for name, rust in self.rust.items():
            for i, lib in enumerate(rust.links):
                archive = self.go.get(lib)
                if archive is None:
                    problems.append(
                        (f"rust.{name}.links[{i}]", _unknown("Go component", lib, self.go))
                    )
                elif archive.buildmode != "c-archive":
                    problems.append(
                        (f"rust.{name}.links[{i}]", f"'{lib}' is not a buildmode = 'c-archive'")
                    )
        cycle = links_cycle(self.links_graph())
        if cycle:
            where = f"{self.component_kind(cycle[0])}.{cycle[0]}.links"
            problems.append((where, "links form a cycle: " + " -> ".join(cycle)))
        return problems

    def _target_problems(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        names = [*self.rust, *self.go]
        graph = self.links_graph()
        seen: set[str] = set()
        for t, target in enumerate(self.targets):
            where = f"targets[{t}]"
            if target.triple in seen:
                problems.append((f"{where}.triple", f"'{target.triple}' is listed twice"))
            seen.add(target.triple)
            for c, comp in enumerate(target.components):
                kind = self.component_kind(comp)
                if kind is None:
                    problems.append(
                        (f"{where}.components[{c}]", _unknown("component", comp, names))
                    )
                    continue
                if kind == "go" and target.info.bare_metal:
                    problems.append(
                        (
                            f"{where}.components[{c}]",
                            f"Go component '{comp}' cannot target bare-metal "
                            f"'{target.triple}': standard Go has no bare-metal port",
                        )
                    )
                for lib in graph.get(comp, []):
                    if lib not in target.components:
                        problems.append(
                            (
                                f"{where}.components",
                                f"'{comp}' links '{lib}'"
                                + (" through cgo" if kind == "go" else "")
                                + f", so '{lib}' must be built for {target.triple} too",
                            )
                        )
                if (
                    kind == "rust"
                    and self.rust[comp].kind == "firmware"
                    and not target.info.bare_metal
                ):
                    problems.append(
                        (
                            f"{where}.components[{c}]",
                            f"firmware '{comp}' needs a bare-metal target, not '{target.triple}'",
                        )
                    )
        return problems


def links_cycle(graph: dict[str, list[str]]) -> list[str]:
    """A cycle of links (its names, the first repeated at the end), or []."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and nxt in graph:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return []

    for node in graph:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def _unknown(what: str, name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown {what} '{name}'{hint}"
