"""`relbuild init`: a starting toolchains.toml for an existing project."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w

from relbuild.backends import go, rustc, zig
from relbuild.backends.cargo_meta import Crate, read_workspace
from relbuild.errors import CommandError, ConfigError, ToolchainError
from relbuild.system import proc, vcs
from relbuild.system.fsutil import atomic_write

_SKIP_DIRS = {"target", "vendor", "testdata", "node_modules", ".git", "dist"}
_LDFLAGS_LINE = re.compile(r"#cgo\s+(?:[^:]*\s)?LDFLAGS:(.*)")
_LIB_FLAG = re.compile(r"(?:^|\s)-l(\w+)")

HEADER = """\
# toolchains.toml, written by `relbuild init`: the pinned toolchains, the
# components and the targets of this project. Check it, then run
# `relbuild doctor`. The schema: `relbuild schema`.
"""


def scaffold(project: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """The config `init` would write for ``project``, as a TOML-ready dict."""
    cargo_tomls = _workspace_roots(project)
    go_mods = sorted(
        p for p in project.rglob("go.mod") if not (_SKIP_DIRS & set(p.relative_to(project).parts))
    )
    if not cargo_tomls and not go_mods:
        raise ConfigError(
            f"{project}: no Cargo.toml and no go.mod found",
            hint="Run `relbuild init` in the folder that holds your Cargo.toml or go.mod.",
        )
    toolchains: dict[str, Any] = {}
    rust: dict[str, Any] = {}
    libs: dict[str, str] = {}  # library name (-l<name>) -> component
    version: str | None = None
    host = "x86_64-unknown-linux-gnu"
    for cargo_toml in cargo_tomls:
        if "rust" not in toolchains:
            toolchains["rust"], host = _pin_rust(env)
        more, more_libs, first = _rust_components(project, cargo_toml, env)
        rust.update({k: v for k, v in more.items() if k not in rust})
        libs.update({k: v for k, v in more_libs.items() if k not in libs})
        version = version or first
    go = _go_components(project, go_mods, rust, libs)
    if go:
        toolchains["go"] = _pin_go(env)
    # zig is the C compiler of cgo and the linker of Rust programs on hosted Linux.
    if any("links" in c for c in go.values()) or any(
        c["kind"] == "executable" for c in rust.values()
    ):
        toolchains["zig"] = _pin_zig(env)
    runnable = [n for n, c in rust.items() if c["kind"] != "firmware"] + list(go)
    if not runnable:
        raise ConfigError(
            f"{project}: found no staticlib, binary or Go main package to build",
            hint="relbuild builds Rust staticlibs and binaries and Go main packages; write "
            "toolchains.toml by hand for other layouts (`relbuild schema` describes it).",
        )
    data: dict[str, Any] = {
        "schema-version": 1,
        "project": {
            "name": _safe_name(_repository_name(project)),
            **({"version": version} if version else {}),
        },
        "toolchains": toolchains,
    }
    if rust:
        data["rust"] = rust
    if go:
        data["go"] = go
    data["targets"] = [{"triple": host, "components": runnable}]
    return data


def _workspace_roots(project: Path) -> list[Path]:
    """Every Cargo.toml under ``project`` that is not inside another one's
    folder (a workspace, or a lone package), skipping build and vendor
    folders: `rust/Cargo.toml` as well as `./Cargo.toml`."""
    found = sorted(
        (
            p
            for p in project.rglob("Cargo.toml")
            if not (_SKIP_DIRS & set(p.relative_to(project).parts))
            and not any(part.startswith(".") for part in p.relative_to(project).parts[:-1])
        ),
        key=lambda p: (len(p.parts), p),
    )
    roots: list[Path] = []
    for p in found:
        if not any(p.parent.is_relative_to(r.parent) for r in roots):
            roots.append(p)
    return sorted(roots)


def _repository_name(project: Path) -> str:
    """The repository's folder name (run inside `rust/`, not "rust")."""

    top = vcs.toplevel(project)
    return top.name if top is not None else project.name


def _rust_components(
    project: Path, cargo_toml: Path, env: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str], str | None]:
    """(components, library name -> component, first package version) of
    the workspace at ``cargo_toml``; components outside the project's root
    folder say `path`."""
    rel_dir = cargo_toml.parent.relative_to(project).as_posix()
    try:
        packages = _cargo_packages(cargo_toml.parent, env)
    except CommandError as exc:
        raise ConfigError(
            f"{cargo_toml}: cargo cannot read the workspace:\n{exc.output_tail}"
        ) from None
    rust: dict[str, Any] = {}
    libs: dict[str, str] = {}
    version: str | None = None
    for pkg in packages:
        version = version or pkg.version
        for target in pkg.targets:
            if "staticlib" in target.kinds:
                comp: dict[str, Any] = {"kind": "staticlib"}
                header = _find_header(Path(pkg.manifest_path).parent)
                if header is not None:
                    # relative to the component's `path`, as the build reads it
                    comp["header"] = header.relative_to(cargo_toml.parent).as_posix()
                rust[pkg.name] = _in(rel_dir, _with_package(comp, pkg.name, pkg.name))
                libs[target.name.replace("-", "_")] = pkg.name
            elif "bin" in target.kinds:
                exe = _with_package({"kind": "executable"}, pkg.name, target.name)
                rust[target.name] = _in(rel_dir, exe)
    return rust, libs, version


def _go_components(
    project: Path, go_mods: list[Path], rust: Mapping[str, Any], libs: Mapping[str, str]
) -> dict[str, Any]:
    go: dict[str, Any] = {}
    for go_mod in go_mods:
        module_dir = go_mod.parent
        rel_dir = module_dir.relative_to(project).as_posix()
        for main_dir, links in _go_mains(module_dir):
            name = main_dir.name if main_dir != module_dir else module_dir.name
            if name in rust:  # a Rust binary of the same name: keep both
                name = f"{name}-go"
            comp: dict[str, Any] = {"package": "./" + main_dir.relative_to(module_dir).as_posix()}
            if rel_dir != ".":
                comp["path"] = rel_dir
            linked = [libs[lib] for lib in links if lib in libs]
            if linked:
                comp["links"] = linked
            go[name] = comp
    return go


def init(project: Path, out: Path, env: Mapping[str, str], force: bool) -> str:
    if out.exists() and not force:
        raise ConfigError(f"{out} exists already", hint="Pass --force to replace it.")
    text = HEADER + tomli_w.dumps(scaffold(project, env))
    atomic_write(out, text.encode(), make_parents=False)
    ignore_outputs(out.parent)
    return text


# relbuild's own outputs: never the user's changes, never committed.
IGNORED = (".relbuild/", "dist/")


def ignore_outputs(folder: Path) -> list[str]:
    """Add relbuild's cache and dist folders to ``folder/.gitignore`` (kept
    as it is otherwise); the lines added."""
    path = folder / ".gitignore"
    try:
        text = path.read_text() if path.is_file() else ""
    except OSError:
        return []
    have = {line.strip().lstrip("/") for line in text.splitlines()}
    missing = [p for p in IGNORED if p not in have and p.rstrip("/") not in have]
    if missing:
        sep = "" if not text or text.endswith("\n") else "\n"
        atomic_write(path, (text + sep + "\n".join(missing) + "\n").encode(), make_parents=False)
    return missing


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


def _pin_rust(env: Mapping[str, str]) -> tuple[dict[str, Any], str]:
    exe = proc.which("rustc", env)
    if exe is None:
        raise ToolchainError("Cargo.toml found, but no rustc on PATH to pin")
    info = rustc.parse_rustc_vv(proc.run([exe, "-vV"], env=env).stdout)
    pin: dict[str, Any] = {"release": info.release}
    if info.commit:
        pin["commit"] = info.commit
    sysroot = proc.run([exe, "--print", "sysroot"], env=env).stdout.strip()
    if "/toolchains/" in sysroot:
        # rustup's: the toolchain by name, so a proxy on PATH cannot pick another.
        pin["rustup-toolchain"] = Path(sysroot).name
    else:  # not rustup's: pin the folder itself
        pin["path"] = str(Path(sysroot) / "bin")
    return pin, info.host


def _pin_go(env: Mapping[str, str]) -> dict[str, Any]:
    exe = proc.which("go", env)
    if exe is None:
        raise ToolchainError("go.mod found, but no go on PATH to pin")
    release, _ = go.parse_go_version(
        proc.run([exe, "version"], env={**env, "GOTOOLCHAIN": "local"}).stdout
    )
    return {"release": release}


def _pin_zig(env: Mapping[str, str]) -> dict[str, Any]:
    exe, version = zig.package_zig()
    if exe is None or version is None:
        raise ToolchainError(
            "zig links cgo and Rust programs, but the `ziglang` package is not installed to pin",
            hint="Fix: pip install ziglang",
        )
    return {"release": proc.run([exe, "version"], env=env).stdout.strip()}


def _cargo_packages(project: Path, env: Mapping[str, str]) -> list[Crate]:
    cargo = proc.which("cargo", env)
    if cargo is None:
        raise ToolchainError("Cargo.toml found, but no cargo on PATH")
    workspace = read_workspace(cargo, project, env, offline=False, locked=False)
    return list(workspace.members.values())


def _find_header(crate: Path) -> Path | None:
    headers = sorted(crate.glob("include/*.h")) + sorted(crate.glob("*.h"))
    return headers[0] if headers else None


def _go_mains(module_dir: Path) -> list[tuple[Path, list[str]]]:
    mains: dict[Path, list[str]] = {}
    for root, dirs, files in os.walk(module_dir):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        here = Path(root)
        if here != module_dir and (here / "go.mod").exists():
            dirs[:] = []  # a nested module is its own project
            continue
        for fname in sorted(files):
            if not fname.endswith(".go") or fname.endswith("_test.go"):
                continue
            text = (here / fname).read_text(errors="replace")
            if re.search(r"^package main\b", text, re.M):
                mains.setdefault(here, [])
    # A main links the libraries that its own package and the packages of the
    # module it imports (usually an internal one) declare with #cgo LDFLAGS.
    module = _module_path(module_dir / "go.mod")
    return [(d, _cgo_libs(module_dir, module, d)) for d in sorted(mains)]


_IMPORT_BLOCK = re.compile(r"^import\s*\((.*?)\)", re.M | re.S)
_IMPORT_LINE = re.compile(r'^import\s+(?:\w+\s+)?"([^"]+)"', re.M)
_QUOTED = re.compile(r'"([^"]+)"')


def _module_path(go_mod: Path) -> str:
    m = re.search(r"^module\s+(\S+)", go_mod.read_text(errors="replace"), re.M)
    return m.group(1) if m else ""


def _cgo_libs(module_dir: Path, module: str, package: Path) -> list[str]:
    libs: list[str] = []
    seen: set[Path] = set()
    todo = [package]
    while todo:
        here = todo.pop()
        if here in seen or not here.is_dir():
            continue
        seen.add(here)
        for f in sorted(here.glob("*.go")):
            if f.name.endswith("_test.go"):
                continue
            text = f.read_text(errors="replace")
            if 'import "C"' in text:
                for line in _LDFLAGS_LINE.findall(text):
                    libs += [lib for lib in _LIB_FLAG.findall(line) if lib not in libs]
            imports = _IMPORT_LINE.findall(text)
            for block in _IMPORT_BLOCK.findall(text):
                imports += _QUOTED.findall(block)
            for imp in imports:
                if module and imp.startswith(module + "/"):
                    todo.append(module_dir / imp.removeprefix(module + "/"))
    return libs
