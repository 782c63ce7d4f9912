"""The Go components `relbuild init` writes, and the links between Go and
Rust it reads from the sources:

- a Go program links the Rust staticlibs its ``#cgo LDFLAGS`` name (by
  :func:`library_component`'s rule), and a path to a ``lib<name>.a`` that no
  crate builds is said, with its file and line;
- a Go ``package main`` with ``//export`` functions in a folder that a
  crate's build.rs searches (``cargo:rustc-link-search``) for a static
  library it links (``cargo:rustc-link-lib=static=<name>``) is a C archive
  (``buildmode = "c-archive"``, ``in-tree`` where build.rs finds it), and
  that crate's programs link it.
"""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Mapping, MutableMapping
from typing import Any

from relbuild.project import goscan, treescan
from relbuild.project.buildrs import Linker
from relbuild.project.gomains import GoMain, GoSource, go_mains


def library_component(name: str, libs: Mapping[str, str]) -> str | None:
    """The staticlib component that builds lib<``name``>.a: the one whose
    library name is ``name``, or the longest that is a prefix of it
    followed by ``_``, ``-`` or ``.`` (per-platform names, such as
    ``examplerustlib_linux_amd64`` for ``examplerustlib``)."""
    best: tuple[str, str] | None = None
    for lib, comp in libs.items():
        named = name == lib or (name.startswith(lib) and name[len(lib) : len(lib) + 1] in "_-.")
        if named and (best is None or len(lib) > len(best[0])):
            best = (lib, comp)
    return best[1] if best else None


def go_components(
    tree: treescan.Tree,
    rust: MutableMapping[str, Any],
    libs: Mapping[str, str],
    linkers: list[Linker],
    notes: list[str],
) -> dict[str, Any]:
    """The Go components of ``tree``; the Rust programs of ``linkers`` that
    link a Go archive get its name in their ``links``."""
    source = GoSource(tree)
    mains = go_mains(source)
    archives = _c_archives(source, mains, linkers, rust, notes)
    taken = set(rust) | {name for name, _, _ in archives.values()}
    go: dict[str, Any] = {}
    said: set[tuple[str, int]] = set()
    for found in mains:
        archive = archives.get(found)
        main = found
        if archive is not None:
            name, main, in_tree = archive
        else:
            name = _unique(_name(tree, main), main, rust, taken)
            taken.add(name)
        comp: dict[str, Any] = {"package": main.package}
        if main.path != ".":
            comp["path"] = main.path
        if archive is not None:
            comp.update({"buildmode": "c-archive", "in-tree": in_tree})
        else:
            linked = _linked(main, libs, said, notes)
            if linked:
                comp["links"] = linked
            if main.exports:
                notes.append(
                    f"go.{name} has //export functions; if it is built as a C archive, "
                    'set buildmode = "c-archive" (and in-tree, where its users find it)'
                )
        go[name] = comp
    notes += source.note()
    return go


def _linked(
    main: GoMain, libs: Mapping[str, str], said: set[tuple[str, int]], notes: list[str]
) -> list[str]:
    linked: list[str] = []
    for file, lib in main.links:
        comp = library_component(lib.name, libs)
        if comp is not None:
            if comp not in linked:
                linked.append(comp)
        elif lib.archive and (file, lib.line) not in said:
            said.add((file, lib.line))
            notes.append(
                f"{file}:{lib.line}: #cgo LDFLAGS names {lib.archive!r}, which no Rust "
                "staticlib of the project builds (as lib<name>.a)"
            )
    return linked


def _name(tree: treescan.Tree, main: GoMain) -> str:
    if main.file is None and main.folder == ".":
        return tree.root.name
    return main.name


def _unique(name: str, main: GoMain, rust: Mapping[str, Any], taken: set[str]) -> str:
    """``name``, or one no other component has: "<name>-go" beside a Rust
    component, "<folder>-<name>" with the folder that holds it (its file's,
    or its package folder's) beside a Go one, else a number."""
    if name in rust:  # a Rust binary of the same name: keep both
        name = f"{name}-go"
    parent = posixpath.basename(main.folder if main.file else posixpath.dirname(main.folder))
    if name in taken and parent not in ("", "."):
        name = f"{parent}-{name}"
    base, n = name, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


def _c_archives(
    source: GoSource,
    mains: list[GoMain],
    linkers: list[Linker],
    rust: MutableMapping[str, Any],
    notes: list[str],
) -> dict[GoMain, tuple[str, GoMain, str]]:
    """The mains some crate's build.rs links as a static library: main ->
    (component name, the main as built, in-tree); the crates' programs get
    the component in their ``links``."""
    found: dict[GoMain, tuple[str, GoMain, str]] = {}
    taken = set(rust)
    for linker in linkers:
        folders = [
            f
            for _, folder in linker.links.search
            if (f := goscan.inside(linker.crate_dir, folder)) is not None
        ]
        for line, lib in linker.links.static:
            where = f"{linker.build_rs}:{line}"
            main = _archive_main(mains, folders, lib)
            if main is None:
                if folders:
                    notes.append(
                        f"{where}: links the static library {lib!r}; init found no Go "
                        "package main with //export functions in the folders it searches"
                    )
                continue
            if main not in found:
                name = _unique(lib, main, rust, taken)
                taken.add(name)
                in_tree = _join(main.folder, f"lib{lib}.a")
                found[main] = (name, _as_built(source, main), in_tree)
            name = found[main][0]
            if not linker.programs:
                notes.append(
                    f"{where}: {linker.package} links the Go archive {name!r}, but has no "
                    "program: relbuild links Go archives into Rust executables only"
                )
            for program in linker.programs:
                links = rust[program].setdefault("links", [])  # an executable of the crate
                if name not in links:
                    links.append(name)
    return found


def _join(folder: str, name: str) -> str:
    return name if folder in (".", "") else f"{folder}/{name}"


def _archive_main(mains: list[GoMain], folders: list[str], lib: str) -> GoMain | None:
    """The Go main with //export functions in one of ``folders`` that the
    library ``lib`` names: the only one there, or the file named after it."""
    for folder in folders:
        here = [m for m in mains if m.exports and m.folder == folder]
        if len(here) == 1:
            return here[0]
        named = [m for m in here if m.name in (lib, f"lib{lib}")]
        if len(named) == 1:
            return named[0]
    return None


def _as_built(source: GoSource, main: GoMain) -> GoMain:
    """A C archive's package as its folder's one file, when it has one file
    (`go build -buildmode=c-archive ./golib.go`, as such projects write it)."""
    files = source.read_files(main.folder)
    if main.file is None and len(files) == 1:
        return dataclasses.replace(main, file=files[0][0])
    return main
