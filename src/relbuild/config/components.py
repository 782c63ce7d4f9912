"""The components of toolchains.toml: Rust crates ([rust.*]) and Go
programs and archives ([go.*]), with the checks that need only the
component itself (:meth:`Config.cross_check` spans tables)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, model_validator

from relbuild.config.base import Model
from relbuild.config.embedded import Coverage, McubootConfig, SmokeTest, Uf2Config

# `allow-path-leaks` on a component: why its artifacts may hold this
# machine's paths (the leak scan then skips them; the manifest keeps why).
PathLeakWaiver = Annotated[
    str | None,
    Field(
        min_length=1,
        description="why its artifacts may hold paths or names of the building machine; the "
        "leak scan skips them and the manifest records the reason",
    ),
]


# --- components -------------------------------------------------------------


class Budget(Model):
    """The most flash and RAM a firmware image may take, in bytes."""

    flash: Annotated[int | None, Field(ge=0)] = None
    ram: Annotated[int | None, Field(ge=0)] = None
    boot_instructions: Annotated[
        int | None, Field(ge=0, description="guest instructions to the smoke test's exit")
    ] = None


RustKind = Literal["staticlib", "executable", "firmware"]

# `relbuild abi` findings that are accepted on purpose: symbol -> why.
AbiAllow = Annotated[
    dict[str, Annotated[str, Field(min_length=1, pattern=r"\S")]],
    Field(
        description="ABI check findings accepted on purpose: a function or struct "
        "('struct name') and the reason, recorded in the manifest (docs/abi.md)"
    ),
]


class RustComponent(Model):
    """A crate built with cargo."""

    package: Annotated[str | None, Field(description="cargo package; default: the key")] = None
    path: Annotated[str, Field(description="the cargo workspace, relative to project.root")] = "."
    kind: RustKind
    bin: Annotated[
        str | None, Field(description="binary name for executable/firmware; default: package")
    ] = None
    features: list[str] = []
    default_features: bool = True
    profile: str = "release"
    header: Annotated[
        str | None, Field(description="C header shipped with a staticlib, relative to `path`")
    ] = None
    budget: Annotated[Budget | None, Field(description="firmware flash/RAM budget")] = None
    test: SmokeTest | None = None
    coverage: Coverage | None = None
    uf2: Annotated[Uf2Config | None, Field(description="a UF2 image of the firmware")] = None
    mcuboot: Annotated[McubootConfig | None, Field(description="an MCUboot image")] = None
    allow_path_leaks: PathLeakWaiver = None
    abi_allow: AbiAllow = {}
    # Firmware: why its stack may be deeper than measured (docs/embedded.md).
    stack_unbounded: Annotated[str | None, Field(min_length=1)] = None
    links: Annotated[
        list[str],
        Field(
            description="Go components of buildmode 'c-archive' this program links (Go into "
            "Rust): each is built first and its archive and header placed where its `in-tree` "
            "says, where the crate's build.rs looks for them"
        ),
    ] = []

    @model_validator(mode="after")
    def _kind_specific(self) -> RustComponent:
        if self.links and self.kind != "executable":
            raise ValueError("`links` (Go archives) only applies to kind = 'executable'")
        if (self.header is not None or self.abi_allow) and self.kind != "staticlib":
            raise ValueError("`header` and `abi-allow` only apply to kind = 'staticlib'")
        if (self.budget or self.stack_unbounded) is not None and self.kind != "firmware":
            raise ValueError("`budget` and `stack-unbounded` only apply to kind = 'firmware'")
        for key in ("uf2", "mcuboot"):
            if getattr(self, key) is not None and self.kind != "firmware":
                raise ValueError(f"`{key}` only applies to kind = 'firmware'")
        if self.test is not None and self.kind == "staticlib":
            raise ValueError("a staticlib cannot be run: `test` needs an executable or firmware")
        return self


GoBuildMode = Literal["exe", "c-archive"]


class GoComponent(Model):
    """A Go main package built with go build."""

    path: Annotated[
        str,
        Field(
            description="the folder go build runs in, relative to project.root: a module's "
            "(or a go.work workspace's), or a folder of files built by name with no go.mod"
        ),
    ] = "."
    package: Annotated[
        str,
        Field(
            description="main package, e.g. './cmd/tool', or a file built by name, e.g. "
            "'./main_static.go' (as `go build main_static.go`)"
        ),
    ] = "."
    binary: Annotated[str | None, Field(description="output name; default: the key")] = None
    buildmode: Annotated[
        GoBuildMode,
        Field(
            description="'exe' (a program) or 'c-archive' (a static library with a C header, "
            "linked into a Rust program that lists it in its `links`)"
        ),
    ] = "exe"
    in_tree: Annotated[
        str | None,
        Field(
            description="c-archive: the path, relative to project.root, where the program "
            "linking it expects the archive (e.g. 'goproj/libgolib.a', as its build.rs "
            "searches); the header goes beside it with '.h'. Placed inside the sandbox, "
            "never written into the tree"
        ),
    ] = None
    links: Annotated[
        list[str], Field(description="Rust staticlib components this program links through cgo")
    ] = []
    cgo: Annotated[bool | None, Field(description="default: on exactly when `links` is set")] = None
    tags: list[str] = []
    ldflags_x: Annotated[
        dict[str, str],
        Field(description="-X settings; '{version}' is replaced with the project version"),
    ] = {}
    test: SmokeTest | None = None
    coverage: Coverage | None = None
    allow_path_leaks: PathLeakWaiver = None
    abi_allow: AbiAllow = {}

    @property
    def uses_cgo(self) -> bool:
        if self.buildmode == "c-archive":
            return True
        return self.cgo if self.cgo is not None else bool(self.links)

    @property
    def by_file(self) -> bool:
        """Built from a file named on the command line, not a package folder."""
        return self.package.endswith(".go")

    @model_validator(mode="after")
    def _links_need_cgo(self) -> GoComponent:
        if self.links and self.cgo is False:
            raise ValueError("`links` needs cgo, but `cgo = false`")
        if self.buildmode == "c-archive":
            if self.cgo is False:
                raise ValueError("buildmode = 'c-archive' needs cgo, but `cgo = false`")
            if self.test is not None or self.coverage is not None:
                raise ValueError("a c-archive cannot be run: `test` needs buildmode = 'exe'")
            if self.in_tree is not None and not re.fullmatch(r"(.*/)?lib[^/]+\.a", self.in_tree):
                raise ValueError(f"`in-tree` must name a lib<name>.a file, not {self.in_tree!r}")
            parts = (self.in_tree or "").split("/")
            if self.in_tree is not None and (self.in_tree.startswith("/") or ".." in parts):
                raise ValueError(
                    f"`in-tree` must be a path inside the project, not {self.in_tree!r}"
                )
        elif self.in_tree is not None:
            raise ValueError("`in-tree` only applies to buildmode = 'c-archive'")
        return self
