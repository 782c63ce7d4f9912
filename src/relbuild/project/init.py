"""`relbuild init`: a starting toolchains.toml for an existing project.

Init reads the project and never runs what it names: the toolchains it pins
are the ones installed (asked with a neutral working folder, so no
rust-toolchain.toml of the tree picks them), cargo is called by the absolute
path of the pinned toolchain's own binary, every child has a timeout and is
killed with its process group when init is stopped, and the tree is read as
:mod:`relbuild.project.treescan` reads it (regular files, bounded).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from relbuild.backends import go, rustc, zig
from relbuild.backends.cargo_meta import Crate, parse_metadata
from relbuild.errors import CommandError, ConfigError, ToolchainError
from relbuild.project import firmware, goinit, initfiles, inittargets, treescan
from relbuild.project.buildrs import Linker, read_linker
from relbuild.project.initfiles import IGNORED as IGNORED  # noqa: PLC0414 - re-exported
from relbuild.project.initfiles import ignore_outputs as ignore_outputs  # noqa: PLC0414
from relbuild.system import proc, signals
from relbuild.system.fsutil import atomic_write

_SKIP_DIRS = {"target", "vendor", "testdata", "node_modules", ".git", "dist"}

# A probe of an installed tool runs here: no rust-toolchain.toml or go.mod of
# the project (or of any folder above it) can then choose the tool.
NEUTRAL_CWD = "/"
PROBE_TIMEOUT = 60.0  # `rustc -vV`, `go version`, `zig version`
METADATA_TIMEOUT = 300.0  # `cargo metadata --no-deps` reads manifests only
MAX_WORKSPACES = 100  # one `cargo metadata` each

HEADER = """\
# toolchains.toml, written by `relbuild init`: the pinned toolchains, the
# components and the targets of this project. Check it, then run
# `relbuild doctor`. The schema: `relbuild schema`.
"""


@dataclass(frozen=True)
class RustTools:
    """The installed toolchain init pinned: its compiler and cargo by
    absolute path, and the environment that keeps cargo on them."""

    rustc: str
    cargo: str
    env: Mapping[str, str]


def read_tree(project: Path, notes: list[str]) -> treescan.Tree:
    """The project's folders, as init reads them; what was not searched is
    added to ``notes``."""
    try:
        tree = treescan.scan(project, _SKIP_DIRS)
    except treescan.TooLarge as exc:
        raise ConfigError(
            f"{project}: {exc}; relbuild init does not search a folder that large",
            hint="Run `relbuild init` in the folder that holds your Cargo.toml or go.mod.",
        ) from None
    if tree.too_deep:
        notes.append(
            f"not searched: {len(tree.too_deep)} folder(s) nested deeper than "
            f"{treescan.MAX_DEPTH} levels, such as {tree.too_deep[0][:200]!r}"
        )
    return tree


def scaffold(
    project: Path,
    env: Mapping[str, str],
    notes: list[str] | None = None,
    targets: Sequence[str] = (),
) -> dict[str, Any]:
    """The config `init` would write for ``project``, as a TOML-ready dict,
    built for ``targets`` (known triples; none: the host and each
    firmware's suggested targets); what the user should know (the tree
    asks for another toolchain, files that were not read) is added to
    ``notes``."""
    notes = [] if notes is None else notes
    tree = read_tree(project, notes)
    cargo_tomls = _workspace_roots(tree)
    go_files = any(n.endswith(".go") for d in tree.files for n in tree.names(d))
    if not cargo_tomls and not go_files:
        raise ConfigError(
            f"{project}: no Cargo.toml, no go.mod and no Go file found",
            hint="Run `relbuild init` in the folder that holds your Cargo.toml or go.mod.",
        )
    toolchains: dict[str, Any] = {}
    rust: dict[str, Any] = {}
    libs: dict[str, str] = {}  # library name (-l<name>) -> component
    version: str | None = None
    host = "x86_64-unknown-linux-gnu"
    tools: RustTools | None = None
    linkers: list[Linker] = []
    fw: dict[str, tuple[str, ...]] = {}  # firmware component -> suggested targets
    for cargo_toml in cargo_tomls:
        if tools is None:
            toolchains["rust"], host, tools = _pin_rust(env)
            notes += treescan.rust_toolchain_requests(tree, toolchains["rust"])
        more, more_libs, first = _rust_components(project, cargo_toml, tools, linkers, fw, notes)
        rust.update({k: v for k, v in more.items() if k not in rust})
        libs.update({k: v for k, v in more_libs.items() if k not in libs})
        version = version or first
    go = goinit.go_components(tree, rust, libs, linkers, notes)
    if go:
        toolchains["go"] = _pin_go(env)
    # zig is the C compiler of cgo and the linker of Rust programs on hosted Linux.
    if any("links" in c or "buildmode" in c for c in go.values()) or any(
        c["kind"] == "executable" for c in rust.values()
    ):
        toolchains["zig"] = _pin_zig(env)
    hosted = [n for n, c in rust.items() if c["kind"] != "firmware"] + list(go)
    if not hosted and not fw:
        raise ConfigError(
            f"{project}: found no staticlib, binary or Go main package to build",
            hint="relbuild builds Rust staticlibs and binaries and Go main packages; write "
            "toolchains.toml by hand for other layouts (`relbuild schema` describes it).",
        )
    licences = initfiles.licence_files(project)
    data: dict[str, Any] = {
        "schema-version": 1,
        "project": {
            "name": _safe_name(_repository_name(project)),
            **({"version": version} if version else {}),
            **({"license-files": licences} if licences else {}),
        },
        "toolchains": toolchains,
    }
    if rust:
        data["rust"] = rust
    if go:
        data["go"] = go
    data["targets"] = inittargets.assign(targets, host, hosted, fw, notes)
    return data


def _workspace_roots(tree: treescan.Tree) -> list[Path]:
    """Every Cargo.toml under the project that is not inside another one's
    folder (a workspace, or a lone package), skipping build and vendor
    folders: `rust/Cargo.toml` as well as `./Cargo.toml`. Cargo reads each
    manifest of the tree, so each must be a regular file (a FIFO would
    hang it)."""
    found = sorted(
        (tree.root / d / "Cargo.toml" for d in tree.files if "Cargo.toml" in tree.names(d)),
        key=lambda p: (len(p.parts), p),
    )
    for p in found:
        _regular_manifest(p)
    roots: list[Path] = []
    seen: set[Path] = set()
    for p in found:  # shallowest first: a folder's own workspace is seen first
        if not any(up in seen for up in p.parents):
            roots.append(p)
            seen.add(p.parent)
    if len(roots) > MAX_WORKSPACES:
        raise ConfigError(
            f"{tree.root}: {len(roots)} Cargo workspaces; relbuild init runs `cargo metadata` "
            f"for at most {MAX_WORKSPACES}",
            hint="Run `relbuild init` in the folder that holds your Cargo.toml or go.mod.",
        )
    return sorted(roots)


def _regular_manifest(path: Path) -> None:
    try:
        st = path.stat()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(f"{path} is not a regular file; relbuild init reads only regular files")
    if st.st_size > treescan.MANIFEST_LIMIT:
        raise ConfigError(f"{path} is larger than {treescan.MANIFEST_LIMIT} bytes")


def _repository_name(project: Path) -> str:
    """The repository's folder name (run inside `rust/`, not "rust"): the
    nearest folder with a `.git`, found by looking, not by running git in a
    tree whose configuration could name programs."""
    for folder in (project, *project.parents):
        if (folder / ".git").exists():
            return folder.name
    return project.name


def _rust_components(
    project: Path,
    cargo_toml: Path,
    tools: RustTools,
    linkers: list[Linker],
    fw: dict[str, tuple[str, ...]],
    notes: list[str],
) -> tuple[dict[str, Any], dict[str, str], str | None]:
    """(components, library name -> component, first package version) of
    the workspace at ``cargo_toml``; components outside the project's root
    folder say `path`. The crates whose build scripts link static libraries
    are added to ``linkers``, firmware and its suggested targets to ``fw``;
    a workspace with no Cargo.lock, and a build script that needs libclang,
    to ``notes``."""
    rel_dir = cargo_toml.parent.relative_to(project).as_posix()
    try:
        packages = _cargo_packages(cargo_toml.parent, tools)
    except CommandError as exc:
        raise ConfigError(
            f"{cargo_toml}: cargo cannot read the workspace:\n{exc.output_tail}"
        ) from None
    rust: dict[str, Any] = {}
    libs: dict[str, str] = {}
    version: str | None = None
    if not (cargo_toml.parent / "Cargo.lock").exists():
        lock = "Cargo.lock" if rel_dir == "." else f"{rel_dir}/Cargo.lock"
        names = ", ".join(p.name for p in packages)
        notes.append(
            f"{lock} is missing ({names}): the build generates one, records its digest "
            "in the release and warns; commit it to pin the dependencies"
        )
    for pkg in packages:
        version = version or pkg.version
        linker = read_linker(project, pkg, pkg.bins, notes)
        if linker is not None:
            linkers.append(linker)
            if linker.bindgen:
                notes.append(
                    f"{linker.build_rs}: {pkg.name} runs bindgen at build time, which needs "
                    "libclang (Debian: libclang-dev); `relbuild doctor` says if it is missing"
                )
        for target in pkg.targets:
            if "staticlib" in target.kinds:
                comp: dict[str, Any] = {"kind": "staticlib"}
                header = _find_header(Path(pkg.manifest_path).parent)
                if header is not None and header.is_relative_to(cargo_toml.parent):
                    # relative to the component's `path`, as the build reads it
                    comp["header"] = header.relative_to(cargo_toml.parent).as_posix()
                rust[pkg.name] = _in(rel_dir, _with_package(comp, pkg.name, pkg.name))
                libs[target.name.replace("-", "_")] = pkg.name
            elif "bin" in target.kinds:
                found = firmware.firmware_of(project, cargo_toml.parent, pkg, target.src_path)
                kind = "executable" if found is None else "firmware"
                exe = _with_package({"kind": kind}, pkg.name, target.name)
                rust[target.name] = _in(rel_dir, exe)
                if found is not None and target.name not in fw:
                    fw[target.name] = found.triples
                    notes.append(found.note(target.name))
    return rust, libs, version


@dataclass(frozen=True)
class Initialized:
    text: str  # what was written
    notes: list[str]  # what the user should know: shown, and kept as comments
    written: list[str]  # each file written or changed, and how: for stdout


def init(
    project: Path,
    out: Path,
    env: Mapping[str, str],
    force: bool,
    targets: Sequence[str] = (),
) -> Initialized:
    """Write the config for ``project`` to ``out``: its `project.root` is
    the project as seen from ``out``'s folder, and relbuild's outputs (made
    beside ``out``) are added to the project's .gitignore only when they
    land inside the project."""
    replaced = out.exists()
    if replaced and not force:
        raise ConfigError(f"{out} exists already", hint="Pass --force to replace it.")
    notes: list[str] = []
    # Stopped by a signal, init kills the child it waits for (with its
    # process group) before it goes: no `cargo metadata` is left behind.
    with signals.guarded():
        data = scaffold(project, env, notes, targets)
    base = out.absolute().parent.resolve()
    root = Path(os.path.relpath(project.resolve(), base)).as_posix()
    if root != ".":
        data["project"]["root"] = root
    comments = "".join(f"# note: {n}\n" for n in notes)
    text = HEADER + comments + tomli_w.dumps(data)
    atomic_write(out, text.encode(), make_parents=False)
    written = [f"{'replaced' if replaced else 'wrote'} {out}"]
    if base.is_relative_to(project.resolve()):
        ignore = project / ".gitignore"
        had = ignore.exists()
        added = ignore_outputs(project, notes)
        if added:
            verb = "changed" if had else "wrote"
            written.append(f"{verb} {_display(ignore)} (added {', '.join(added)})")
    else:
        notes.append(
            f"the build's outputs ({' and '.join(IGNORED)}) go beside {out}, outside the "
            f"project, so its .gitignore was left as it is"
        )
    return Initialized(text, notes, written)


def _display(path: Path) -> str:
    """``path`` as a user in this folder would type it: relative when it is below."""
    rel = os.path.relpath(path)
    return path.as_posix() if rel.startswith("..") else rel


def _in(rel_dir: str, comp: dict[str, Any]) -> dict[str, Any]:
    if rel_dir != ".":
        comp["path"] = rel_dir
    return comp


def _with_package(comp: dict[str, Any], package: str, key: str) -> dict[str, Any]:
    if package != key:
        comp["package"] = package
    return comp


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "-", name).strip("-.") or "project"


def _probe(argv: list[str], env: Mapping[str, str]) -> str:
    return proc.run(argv, env=env, cwd=NEUTRAL_CWD, timeout=PROBE_TIMEOUT).stdout


def _pin_rust(env: Mapping[str, str]) -> tuple[dict[str, Any], str, RustTools]:
    """The installed Rust (rustup's default, or the rustc on PATH), never
    one a rust-toolchain.toml of the tree names: the pin, the host, and
    the absolute paths init runs cargo by."""
    exe = proc.which("rustc", env)
    if exe is None:
        raise ToolchainError("Cargo.toml found, but no rustc on PATH to pin")
    info = rustc.parse_rustc_vv(_probe([exe, "-vV"], env))
    pin: dict[str, Any] = {"release": info.release}
    if info.commit:
        pin["commit"] = info.commit
    sysroot = Path(_probe([exe, "--print", "sysroot"], env).strip())
    tool_env = {**env, "RUSTC_WRAPPER": "", "RUSTC_WORKSPACE_WRAPPER": ""}
    if "/toolchains/" in str(sysroot):
        # rustup's: the toolchain by name, so a proxy on PATH cannot pick another.
        pin["rustup-toolchain"] = sysroot.name
        tool_env["RUSTUP_TOOLCHAIN"] = sysroot.name
    else:  # not rustup's: pin the folder itself
        pin["path"] = str(sysroot / "bin")
    real_rustc = sysroot / "bin" / "rustc"
    real_rustc = real_rustc if real_rustc.is_file() else Path(exe)
    cargo = real_rustc.parent / "cargo"
    if not cargo.is_file():
        found = proc.which("cargo", env)
        if found is None:
            raise ToolchainError("Cargo.toml found, but no cargo on PATH")
        cargo = Path(found)
    # RUSTC over any `build.rustc` of the tree's .cargo/config.toml, and
    # no wrapper it may name.
    tool_env["RUSTC"] = str(real_rustc)
    return pin, info.host, RustTools(str(real_rustc), str(cargo), tool_env)


def _pin_go(env: Mapping[str, str]) -> dict[str, Any]:
    exe = proc.which("go", env)
    if exe is None:
        raise ToolchainError("go.mod found, but no go on PATH to pin")
    release, _ = go.parse_go_version(_probe([exe, "version"], {**env, "GOTOOLCHAIN": "local"}))
    return {"release": release}


def _pin_zig(env: Mapping[str, str]) -> dict[str, Any]:
    exe, version = zig.package_zig()
    if exe is None or version is None:
        raise ToolchainError(
            "zig links cgo and Rust programs, but the `ziglang` package is not installed to pin",
            hint="Fix: pip install ziglang",
        )
    return {"release": _probe([str(exe), "version"], env).strip()}


def _cargo_packages(folder: Path, tools: RustTools) -> list[Crate]:
    argv = [tools.cargo, "metadata", "--no-deps", "--format-version", "1"]
    res = proc.run(argv, env=tools.env, cwd=folder, timeout=METADATA_TIMEOUT)
    members, _ = parse_metadata(res.stdout)
    return list(members.values())


def _find_header(crate: Path) -> Path | None:
    headers = sorted(crate.glob("include/*.h")) + sorted(crate.glob("*.h"))
    return headers[0] if headers else None
