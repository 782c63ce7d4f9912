"""What a tool backend is, and the vocabulary it shares with the build.

A backend knows one tool that turns components into artifacts (cargo, go):
how to find its pinned release, what a target needs from it, what it must
read about the project before planning (once, so planning itself starts no
process), the exact command for a component, where that command leaves its
outputs, and whether a step can be skipped. The build knows only this
Protocol and the table ``BACKENDS``; it never asks which tool a step runs.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from relbuild.errors import ToolchainError
from relbuild.release.deps import Dependencies
from relbuild.release.dist import Frozen
from relbuild.system import environ

if TYPE_CHECKING:
    from relbuild.attest.contents import Contents
    from relbuild.config import LoadedConfig, TargetConfig
    from relbuild.release.dist import Manifest


class ResolvedTool(BaseModel):
    """A toolchain that matched its pin.

    ``paths`` are absolute paths on this machine; they are shown by doctor but
    kept out of anything that must reproduce.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    release: str
    commit: str | None = None
    found_via: str
    executable: str
    paths: dict[str, str] = {}
    details: dict[str, str] = {}
    # Its folders by the ${PLACEHOLDER} the manifest shows instead of them.
    placeholders: dict[str, str] = {}
    # SHA-256 of ``executable``: the same bytes wherever it is installed.
    digest: str | None = None


class ResolvedToolchains(BaseModel):
    model_config = ConfigDict(frozen=True)

    rust: ResolvedTool | None = None
    go: ResolvedTool | None = None
    zig: ResolvedTool | None = None

    def require(self, name: str) -> ResolvedTool:
        tool: ResolvedTool | None = getattr(self, name)
        if tool is None:
            raise ToolchainError(f"no [toolchains.{name}] pin, but a component needs {name}")
        return tool


class Check(BaseModel):
    """One need of a target (or tool), as doctor reports it."""

    model_config = ConfigDict(frozen=True)

    subject: str
    need: str
    ok: bool
    detail: str = ""
    fix: str | None = None
    # Not checked because a toolchain it depends on did not resolve; the
    # tool's own row carries the problem and its fix.
    skipped: bool = False


def need(subject: str, what: str, ok: bool, detail: str, fix: str) -> Check:
    """A need of ``subject``; ``fix`` is shown only when it is not met."""
    return Check(subject=subject, need=what, ok=ok, detail=detail, fix=None if ok else fix)


def unresolved(subject: str, tool: str, need: str) -> Check:
    return Check(
        subject=subject,
        need=need,
        ok=False,
        skipped=True,
        detail=f"not checked: the {tool} toolchain did not resolve",
    )


# --- steps ----------------------------------------------------------------------

StepKind = Literal["staticlib", "executable", "firmware", "go-executable", "go-archive"]


class CcWrapper(Frozen):
    """The C compiler a cgo step calls: a script at ``path`` that runs the
    pinned ``zig`` for ``zig_target`` (CC must be one command).

    A link runs in the fixed folder ``link_cwd``: zig compiles the C library,
    compiler-rt and the unwinder for the first link that needs them, caches
    them, and writes that link's working directory into their DWARF
    (DW_AT_comp_dir), with no flag to change it (ziglang/zig#23821). Go and
    rustc pass absolute paths to a link; a cgo directive may not
    (``#cgo LDFLAGS: ./lib/libhello.a -L./lib``, relative to the package
    folder the link is called in), so before it moves, the script makes
    every relative file argument and ``-L`` folder that exists absolute.
    Compiling (-c, -E, -S) stays where it was called.
    """

    path: str
    zig: str
    zig_target: str
    link_cwd: str
    # Folders whose ``*.native-libs`` files (what rustc printed as the
    # native-static-libs of a staticlib) a link appends, in this order.
    native_libs: list[str] = []

    def script(self) -> str:
        extra = "".join(
            f'  for f in {shlex.quote(folder)}/*.native-libs; do [ -f "$f" ] && '
            'set -- "$@" $(cat "$f"); done\n'
            for folder in self.native_libs
        )
        return (
            "#!/bin/sh\n"
            'case " $* " in\n'
            '  *" -c "* | *" -E "* | *" -S "*) ;;\n'
            "  *) n=$#\n"
            "  for a do\n"
            "    case $a in\n"
            "      -L/*) ;;\n"
            '      -L?*) [ -d "${a#-L}" ] && a="-L$PWD/${a#-L}" ;;\n'
            "      -* | /*) ;;\n"
            '      *) [ -e "$a" ] && a="$PWD/$a" ;;\n'
            "    esac\n"
            '    set -- "$@" "$a"\n'
            "  done\n"
            '  shift "$n"\n'
            f"  cd {shlex.quote(self.link_cwd)} || exit 1\n"
            f"{extra}"
            f"{self._link_args()}"
            "  ;;\n"
            "esac\n"
            f"{self._filter()}"
            f'exec {shlex.quote(self.zig)} cc -target {self.zig_target} "$@"\n'
        )

    @property
    def dlltool(self) -> str | None:
        """Windows: the import-library tool rustc runs for ``raw-dylib``
        (std's Windows bindings), zig's ``dlltool`` through a script beside
        this one (rustc's ``-Cdlltool`` takes one executable)."""
        return f"{self.path}-dlltool" if "-windows-" in self.zig_target else None

    @property
    def stubs(self) -> str | None:
        """macOS: a folder of link stubs beside this script (see
        :data:`MACOS_STUBS`), searched by every link for the target."""
        return f"{self.path}-stubs" if "-macos" in self.zig_target else None

    def dlltool_script(self) -> str:
        return f'#!/bin/sh\nexec {shlex.quote(self.zig)} dlltool "$@"\n'

    def _link_args(self) -> str:
        """What every link for the target adds. macOS: the stubs' folder is
        searched, and no debug map is written (-S: its stabs would name each
        object's path, here those of a staticlib built with debug info for
        the ABI check). Windows: a Rust staticlib's unwinder (rustc names no
        -lgcc_eh) is zig's libunwind."""
        if self.stubs is not None:
            stubs = shlex.quote(self.stubs)
            return f'  set -- "$@" -F{stubs} -L{stubs} -Wl,-S\n'
        if "-windows-" in self.zig_target:
            return '  set -- "$@" -lunwind\n'
        return ""

    def _filter(self) -> str:
        """Arguments zig must not see, for Windows and macOS, where rustc and
        Go speak to a GCC or Apple toolchain (as cargo-zigbuild does):
        MinGW's libgcc, libssp, winpthread and msvcrt come from zig's own
        MinGW-w64 (UCRT) and libunwind (``-lgcc_eh`` becomes ``-lunwind``),
        and ``-arch``/``-mmacosx-version-min`` are said by zig's target
        (which carries the minimum macOS). The native-libs appended to a
        link pass through here too, as they are added before."""
        if "-windows-" in self.zig_target:
            cases = (
                "      -lgcc_eh) a=-lunwind ;;\n"
                "      -lgcc | -lgcc_s | -l:libpthread.a | -lpthread | -lmsvcrt | -lssp | "
                "-lssp_nonshared | -Wl,--disable-auto-image-base | -fno-use-linker-plugin) "
                "continue ;;\n"
            )
        elif "-macos" in self.zig_target:
            cases = (
                "      -arch) skip=1; continue ;;\n"
                "      -mmacosx-version-min=* | -mmacos-version-min=*) continue ;;\n"
            )
        else:
            return ""
        return (
            "n=$# skip=0\n"
            "for a do\n"
            '  if [ "$skip" = 1 ]; then skip=0; continue; fi\n'
            "  case $a in\n"
            f"{cases}"
            "  esac\n"
            '  set -- "$@" "$a"\n'
            "done\n"
            'shift "$n"\n'
        )


# What a macOS link names beyond zig's libSystem stub, as text stubs (TAPI
# .tbd, the format of Apple's SDK stubs) that name the library a program
# loads and the symbols it may bind: Go's runtime/cgo links
# `-framework CoreFoundation` on arm64 and uses none of it outside iOS, and
# Go's resolver binds three functions of libresolv. A program that needs
# more of a framework fails to link, naming the symbol.
MACOS_STUBS = {
    "CoreFoundation.framework/CoreFoundation.tbd": (
        "/System/Library/Frameworks/CoreFoundation.framework/Versions/A/CoreFoundation",
        [],
    ),
    "libresolv.tbd": (
        "/usr/lib/libresolv.9.dylib",
        ["_res_9_nclose", "_res_9_ninit", "_res_9_nsearch"],
    ),
}


def tbd(install_name: str, symbols: list[str]) -> str:
    targets = "[ x86_64-macos, arm64-macos ]"
    text = (
        "--- !tapi-tbd\n"
        "tbd-version:     4\n"
        f"targets:         {targets}\n"
        f"install-name:    '{install_name}'\n"
        "current-version: 1\n"
    )
    if symbols:
        names = ", ".join(symbols)
        text += f"exports:\n  - targets:         {targets}\n    symbols:         [ {names} ]\n"
    return text + "...\n"


class Budget(Frozen):
    """The flash and RAM a firmware image may take (bytes); the smallest of
    the component's and the target's."""

    flash: int | None = None
    ram: int | None = None


class Step(Frozen):
    """One command of the plan, with everything needed to run it and to find
    what it made. Nothing is hidden in ``env``: what the build acts on is a
    field of its own."""

    target: str
    component: str
    language: str  # the config table of the component, and the key of BACKENDS
    tool: str  # the command it runs, as the manifest records it
    kind: StepKind
    argv: list[str]
    cwd: str
    env: dict[str, str]
    log: str
    # Where the outputs are found: cargo names them in its JSON messages by
    # package and target name; go writes the one at ``output``.
    package: str | None = None
    artifact_name: str | None = None
    output: str | None = None
    header: str | None = None
    # A staticlib is handed to cgo in this folder (lib/ and include/).
    handoff: str | None = None
    # A cgo step: its C compiler, the folders of the libraries it links, the
    # build tags (for the list of its inputs).
    cc: CcWrapper | None = None
    # A Rust step for another triple: the linker of the host's build scripts
    # and proc macros (zig too, so no host C compiler is needed).
    host_cc: CcWrapper | None = None
    inputs: list[str] = []
    tags: list[str] = []
    # Go variables the link sets with -X (ldflags-x keys): each must exist.
    defines: list[str] = []
    budget: Budget | None = None
    # Files the step must find in the source tree where its sources expect
    # them (a cgo directive's ./lib/libhello.a, the folder a build.rs
    # searches): path relative to the project root -> the host file built
    # for it. Shown there inside the sandbox; the tree itself is not written.
    place: dict[str, str] = {}
    # Why each placed file is expected there (file:line of the directive).
    place_why: dict[str, str] = {}
    # Run first when a placed file changed since the step last ran: the
    # tool may not see the change itself (cargo does not track a native
    # library a build.rs links), so its output for the package is removed.
    refresh: list[str] = []
    # The pinned toolchains the step uses (for the manifest and fingerprints).
    toolchains: list[str] = []


@dataclass(frozen=True)
class BuildPaths:
    """The folders a build may write besides the dist: caches and logs."""

    root: Path
    cache: Path

    def cargo_target(self, triple: str) -> Path:
        # One target dir per triple so targets can build side by side
        # without waiting on cargo's lock.
        return self.cache / "cargo" / triple

    def go_out(self, triple: str) -> Path:
        return self.cache / "go-out" / triple

    @property
    def go_list(self) -> Path:
        """`go list`'s answers, kept under a key of the files it reads."""
        return self.cache / "go-list"

    @property
    def go_build_cache(self) -> Path:
        return self.cache / "go-build"

    def cgo_dir(self, triple: str, lib: str) -> Path:
        return self.cache / "cgo" / triple / lib

    @property
    def tools(self) -> Path:
        return self.cache / "tools"

    @property
    def zig_env(self) -> dict[str, str]:
        """zig's caches: relbuild's own, never the user's global one, since
        zig writes the folder a library was first built from into it."""
        return {
            "ZIG_GLOBAL_CACHE_DIR": str(self.cache / "zig-global"),
            "ZIG_LOCAL_CACHE_DIR": str(self.cache / "zig-local"),
        }

    @property
    def zig_link_cwd(self) -> Path:
        return self.cache / "zig-link"

    @property
    def logs(self) -> Path:
        return self.cache / "logs"

    def stamp(self, step: Step) -> Path:
        return self.cache / "stamps" / step.target / f"{step.component}.sha256"


@dataclass(frozen=True)
class StepContext:
    """What every step of one build shares; backends make steps from it and
    the component's config alone, without starting a process."""

    loaded: LoadedConfig
    tools: ResolvedToolchains
    paths: BuildPaths
    version: str
    source_date_epoch: int
    offline: bool
    user_env: Mapping[str, str]
    # The steps planned so far, by (target, component): a step that links
    # another component finds what it makes here (it is planned after it).
    made: dict[tuple[str, str], Step] = field(default_factory=dict)

    @property
    def project(self) -> str:
        return self.loaded.config.project.name

    def base_env(self, extra_path: Sequence[str]) -> dict[str, str]:
        """The environment every step starts from: an allow-list, fixed
        locale and time zone, SOURCE_DATE_EPOCH, and PATH = the tool's folder
        and the system's."""
        return environ.step_env(self.user_env, extra_path, self.source_date_epoch)

    def log(self, triple: str, component: str) -> str:
        return str(self.paths.logs / triple / f"{component}.log")


@dataclass(frozen=True)
class Probe:
    """What a backend may look at to answer doctor or read facts: the
    config, the toolchains that resolved and the environment for probes."""

    loaded: LoadedConfig
    tools: ResolvedToolchains
    env: Mapping[str, str]
    offline: bool = False
    # Where a backend may keep what it read, keyed by its inputs.
    cache: Path | None = None


F = TypeVar("F")


class Backend(Protocol[F]):
    """One tool that builds the components of one config table."""

    language: str  # the config table: "rust", "go"
    pin: str  # the [toolchains.*] pin it resolves

    def resolve(self, pin: Any, env: Mapping[str, str]) -> ResolvedTool:
        """The toolchain that matches ``pin``, or a ToolchainError."""
        ...

    def needs(self, probe: Probe, target: TargetConfig) -> list[Check]:
        """What ``target`` needs from this tool, for doctor; ``probe.tools``
        holds those that resolved."""
        ...

    def read_facts(
        self, probe: Probe, components: Sequence[str], targets: Sequence[TargetConfig]
    ) -> F:
        """Everything planning needs to know about ``components`` (of this
        backend's table) on ``targets`` that only a process or the file
        system can say, read once."""
        ...

    def version(self, loaded: LoadedConfig, facts: F, component: str) -> str | None:
        """The version a component declares (a crate's), if any."""
        ...

    def extra_tools(self, facts: F) -> Mapping[str, ResolvedTool]:
        """Tools besides the pin that steps may use (a linker a target
        names), each recorded with the toolchains where a step uses it."""
        ...

    def dependencies(
        self, loaded: LoadedConfig, facts: F, components: Sequence[str]
    ) -> Dependencies:
        """The locked dependencies of ``components``, sorted, each once."""
        ...

    def step(self, ctx: StepContext, facts: F, target: TargetConfig, component: str) -> Step:
        """The command that builds ``component`` for ``target``: pure."""
        ...

    def outputs(self, step: Step, output: str) -> list[Path]:
        """What a finished step made, from its output (merged stdout/stderr)."""
        ...

    def handoff_notes(self, step: Step, output: str) -> dict[str, str]:
        """Files (name -> text) to put beside a staticlib handed to the cgo
        steps, read from the step's output (rustc's native-static-libs)."""
        ...

    def contents(self, probe: Probe, manifest: Manifest, folder: Path) -> dict[str, Contents]:
        """What each artifact of this backend's components in ``folder``
        holds (crates, modules, the staticlibs it links), for the SBOM."""
        ...

    def fingerprint(self, step: Step, releases: Mapping[str, str], paths: BuildPaths) -> str | None:
        """A digest of every input of ``step``, when the tool would redo work
        whose result is already at hand; None when the tool itself knows."""
        ...
