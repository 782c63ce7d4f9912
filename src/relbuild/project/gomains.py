"""The Go programs of a project tree, read as :mod:`relbuild.project.treescan`
reads it: the main packages of each module, the mains given as files (a
folder of several, or a folder with no go.mod, which Go builds as
`go build main_static.go`), and the libraries each program links through the
``#cgo LDFLAGS`` of its own files and of the packages it imports from its
module, from the modules of its go.work workspace, and from the local
folders its go.mod's ``replace`` directives name.

A Go file is read once, within a size cap and a budget for the whole tree
(:class:`GoSource`); what is found in it is :func:`goscan.go_facts`.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from relbuild.errors import ConfigError
from relbuild.project import goscan, treescan
from relbuild.project.goscan import CgoLib, GoFacts


@dataclass(frozen=True)
class GoMain:
    """One Go program init found."""

    path: str  # the folder go build runs in: its module's, or its own with no go.mod
    folder: str  # the main package's folder
    file: str | None  # built by file: the file (relative to the root)
    links: tuple[tuple[str, CgoLib], ...]  # (the file that says it, the directive)
    exports: bool  # has //export functions: a C archive, if something links it

    @property
    def package(self) -> str:
        """As `go build` in ``path`` is given it: "./cmd/tool", "." or "./main.go"."""
        rel = posixpath.relpath(self.file or self.folder, self.path)
        return "." if rel == "." else "./" + rel

    @property
    def name(self) -> str:
        if self.file is not None:
            return posixpath.basename(self.file).removesuffix(".go")
        return posixpath.basename(self.folder)


class GoSource:
    """The Go files of ``tree``, each read at most once; the ones that could
    not be read are counted in ``skipped``."""

    def __init__(self, tree: treescan.Tree) -> None:
        self.tree = tree
        self.used = 0
        self.skipped: list[str] = []
        self._facts: dict[str, GoFacts | None] = {}
        self._module_paths: dict[str, str] = {}

    def facts(self, rel: str) -> GoFacts | None:
        if rel in self._facts:
            return self._facts[rel]
        if self.used > treescan.SOURCE_BUDGET:
            raise ConfigError(
                f"{self.tree.root}: more than {treescan.SOURCE_BUDGET} bytes of Go source; "
                "relbuild init reads no more than that",
                hint="Run `relbuild init` in a smaller folder, or write toolchains.toml by hand.",
            )
        try:
            text = treescan.read_text(self.tree.root, self.tree.root / rel, treescan.SOURCE_LIMIT)
        except (treescan.Unreadable, OSError) as exc:
            self.skipped.append(f"{rel!r} ({exc})")
            self._facts[rel] = None
            return None
        self.used += len(text)
        found = self._facts[rel] = goscan.go_facts(text)
        return found

    def go_files(self, folder: str) -> list[str]:
        """The folder's .go files that a build reads (not its tests)."""
        return [
            name if folder == "." else f"{folder}/{name}"
            for name in self.tree.names(folder)
            if name.endswith(".go") and not name.endswith("_test.go")
        ]

    def read_files(self, folder: str) -> list[tuple[str, GoFacts]]:
        """The folder's Go files a build reads, with their facts (the
        unreadable ones and `//go:build ignore` ones left out)."""
        found = [(file, self.facts(file)) for file in self.go_files(folder)]
        return [(file, f) for file, f in found if f is not None and not f.ignored]

    def text(self, rel: str, required: bool) -> str | None:
        """A go.mod or go.work: its text; unreadable, a ConfigError when
        ``required``, else None and a note."""
        try:
            return treescan.read_text(self.tree.root, self.tree.root / rel, treescan.MANIFEST_LIMIT)
        except (treescan.Unreadable, OSError) as exc:
            if required:
                raise ConfigError(f"{self.tree.root / rel}: not read: {exc}") from None
            self.skipped.append(f"{rel!r} ({exc})")
            return None

    def module_path(self, module: str) -> str:
        if module not in self._module_paths:
            text = self.text(_join(module, "go.mod"), required=True) or ""
            self._module_paths[module] = goscan.go_module_path(text)
        return self._module_paths[module]

    def note(self) -> list[str]:
        if not self.skipped:
            return []
        more = f" and {len(self.skipped) - 3} more" if len(self.skipped) > 3 else ""
        return [f"Go files not read: {', '.join(self.skipped[:3])}{more}"]


def _join(folder: str, name: str) -> str:
    return name if folder == "." else f"{folder}/{name}"


def modules(tree: treescan.Tree) -> dict[str | None, list[str]]:
    """Each folder holding a go.mod -> the folders of its module (those not
    inside a nested module), sorted; None -> the folders in no module."""
    owned: dict[str | None, list[str]] = {}
    for rel in sorted(tree.files):
        parts = [] if rel == "." else rel.split("/")
        owner: str | None = None
        for n in range(len(parts), -1, -1):  # the nearest go.mod above, or here
            up = "/".join(parts[:n]) or "."
            if "go.mod" in tree.names(up):
                owner = up
                break
        owned.setdefault(owner, []).append(rel)
    return owned


def module_map(source: GoSource, module: str) -> list[tuple[str, str]]:
    """(module path, folder) of each module a program of ``module`` may
    import from within the project: its own, the modules of the nearest
    go.work above it that lists it, and the local folders of its go.mod's
    replace directives; longest module path first."""
    tree = source.tree
    found = {source.module_path(module): module}
    go_mod = source.text(_join(module, "go.mod"), required=True) or ""
    for mod_path, target in goscan.go_mod_replaces(go_mod).items():
        folder = goscan.inside(module, target)
        if folder is not None and "go.mod" in tree.names(folder):
            found.setdefault(mod_path, folder)
    work = _workspace(tree, module)
    if work is not None:
        text = source.text(_join(work, "go.work"), required=False) or ""
        uses = [goscan.inside(work, use) for use in goscan.go_work_uses(text)]
        if module in uses:
            for folder in uses:
                if folder is not None and "go.mod" in tree.names(folder):
                    found.setdefault(source.module_path(folder), folder)
    pairs = [(path, folder) for path, folder in found.items() if path]
    return sorted(pairs, key=lambda p: (-len(p[0]), p[0]))


def _workspace(tree: treescan.Tree, module: str) -> str | None:
    """The folder of the nearest go.work at ``module`` or above it."""
    parts = [] if module == "." else module.split("/")
    for n in range(len(parts), -1, -1):
        up = "/".join(parts[:n]) or "."
        if "go.work" in tree.names(up):
            return up
    return None


def go_mains(source: GoSource) -> list[GoMain]:
    """Every Go program of the tree: a folder's main package, or each file
    with its own ``func main`` where a folder holds several (or has no
    go.mod, so Go builds it by file)."""
    mains: list[GoMain] = []
    for module, folders in sorted(modules(source.tree).items(), key=lambda m: m[0] or ""):
        mods = module_map(source, module) if module is not None else []
        for folder in folders:
            files = [
                (f, facts) for f, facts in source.read_files(folder) if facts.package == "main"
            ]
            if not files:
                continue
            with_main = [f for f, facts in files if facts.has_main]
            if module is not None and len(with_main) < 2:
                exports = any(facts.exports for _, facts in files)
                links = cgo_libs(source, mods, [folder], [f for f, _ in files])
                mains.append(GoMain(module, folder, None, links, exports))
                continue
            for file in with_main:
                facts = dict(files)[file]
                links = cgo_libs(source, mods, [], [file])
                mains.append(GoMain(module or folder, folder, file, links, facts.exports))
    return mains


def cgo_libs(
    source: GoSource, mods: list[tuple[str, str]], folders: list[str], files: list[str]
) -> tuple[tuple[str, CgoLib], ...]:
    """The libraries named by the #cgo LDFLAGS of ``files`` and of the
    packages they import (directly or not) from the modules of ``mods``."""
    libs: dict[tuple[str, CgoLib], None] = {}
    seen = set(folders)
    todo = [(f, source.facts(f)) for f in files]
    while todo:
        file, facts = todo.pop()
        if facts is None or facts.ignored:
            continue
        if facts.cgo:
            libs.update(dict.fromkeys((file, lib) for lib in facts.libs))
        for imp in facts.imports:
            folder = _import_folder(mods, imp)
            if folder is None or folder in seen or not source.tree.has(folder):
                continue
            seen.add(folder)
            todo += source.read_files(folder)
    return tuple(sorted(libs, key=lambda fl: (fl[0], fl[1].line)))


def _import_folder(mods: list[tuple[str, str]], imp: str) -> str | None:
    """The project folder of import path ``imp``, if one of ``mods`` holds it."""
    for mod_path, folder in mods:
        if imp != mod_path and not imp.startswith(mod_path + "/"):
            continue
        sub = imp[len(mod_path) + 1 :] if imp != mod_path else ""
        if sub and any(part in ("", ".", "..") for part in sub.split("/")):
            return None  # never a folder outside the module
        return goscan.inside(folder, sub or ".")
    return None
