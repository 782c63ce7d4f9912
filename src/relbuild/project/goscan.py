"""The Go programs of a project tree, read as :mod:`relbuild.project.treescan`
reads it: which folders hold a main package, and the libraries each one
links through the ``#cgo LDFLAGS`` of its own package and of the module's
packages it imports.

A Go file is read once, within a size cap and a budget for the whole tree,
and what init needs of it (its package, its imports, the libraries of its
``#cgo LDFLAGS``) is found in one pass over its lines, with no pattern that
can backtrack across a line: time linear in the file's size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from relbuild.errors import ConfigError
from relbuild.project import treescan

# Each is matched against one line (or a token) from its start, and none has
# two quantifiers over the same characters in a row: no backtracking.
_PACKAGE = re.compile(r"package\s+(\w+)")
_IMPORT_ONE = re.compile(r'import\s+(?:[\w.]+\s+)?"([^"]+)"')
_QUOTED = re.compile(r'"([^"]+)"')
_LIB = re.compile(r"-l(\w+)")


@dataclass(frozen=True)
class GoFacts:
    package: str | None  # the first package clause
    imports: tuple[str, ...]
    cgo: bool  # imports "C"
    libs: tuple[str, ...]  # -l<name> of its #cgo LDFLAGS lines, in order


def go_facts(text: str) -> GoFacts:
    """The package, imports and cgo libraries of one Go file."""
    package: str | None = None
    imports: list[str] = []
    libs: list[str] = []
    in_block = False
    for raw in text.splitlines():
        line = raw.strip()
        libs += _ldflags_libs(line)
        if in_block:
            inside, closed, _ = line.partition(")")
            imports += _QUOTED.findall(inside)
            in_block = not closed
            continue
        if package is None and (m := _PACKAGE.match(line)):
            package = m.group(1)
        if not line.startswith("import"):
            continue
        rest = line[len("import") :].lstrip()
        if rest.startswith("("):
            inside, closed, _ = rest[1:].partition(")")
            imports += _QUOTED.findall(inside)
            in_block = not closed
        elif m := _IMPORT_ONE.match(line):
            imports.append(m.group(1))
    return GoFacts(
        package=package,
        imports=tuple(imports),
        cgo="C" in imports,
        libs=tuple(dict.fromkeys(libs)),
    )


def _ldflags_libs(line: str) -> list[str]:
    """The -l<name> flags of a ``#cgo [GOOS...] LDFLAGS: ...`` line."""
    at = line.find("#cgo")
    if at < 0:
        return []
    rest = line[at + len("#cgo") :]
    head, colon, flags = rest.partition(":")
    if not colon or not rest[:1].isspace() or not head.endswith("LDFLAGS"):
        return []
    words = head.split()
    if not words or words[-1] != "LDFLAGS":
        return []
    return [m.group(1) for tok in flags.split() if (m := _LIB.match(tok))]


def go_module_path(text: str) -> str:
    """The module path of a go.mod ("" if it names none)."""
    for raw in text.splitlines():
        words = raw.split()
        if len(words) >= 2 and words[0] == "module":
            return words[1].strip('"')
    return ""


class GoSource:
    """The Go files of ``tree``, each read at most once; the ones that could
    not be read are counted in ``skipped``."""

    def __init__(self, tree: treescan.Tree) -> None:
        self.tree = tree
        self.used = 0
        self.skipped: list[str] = []
        self._facts: dict[str, GoFacts | None] = {}

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
        found = self._facts[rel] = go_facts(text)
        return found

    def go_files(self, folder: str) -> list[str]:
        """The folder's .go files that a build reads (not its tests)."""
        return [
            name if folder == "." else f"{folder}/{name}"
            for name in self.tree.names(folder)
            if name.endswith(".go") and not name.endswith("_test.go")
        ]

    def note(self) -> list[str]:
        if not self.skipped:
            return []
        more = f" and {len(self.skipped) - 3} more" if len(self.skipped) > 3 else ""
        return [f"Go files not read: {', '.join(self.skipped[:3])}{more}"]


def modules(tree: treescan.Tree) -> dict[str, list[str]]:
    """Each folder holding a go.mod -> the folders of its module (those not
    inside a nested module), sorted."""
    owned: dict[str, list[str]] = {}
    for rel in sorted(tree.files):
        parts = [] if rel == "." else rel.split("/")
        for n in range(len(parts), -1, -1):  # the nearest go.mod above, or here
            up = "/".join(parts[:n]) or "."
            if "go.mod" in tree.names(up):
                owned.setdefault(up, []).append(rel)
                break
    return owned


def go_mains(source: GoSource, module: str, folders: list[str]) -> list[tuple[Path, list[str]]]:
    """The main packages among ``folders`` of the module at ``module`` and
    the libraries each links."""
    mains = [
        rel
        for rel in folders
        if any((f := source.facts(file)) and f.package == "main" for file in source.go_files(rel))
    ]
    try:
        go_mod = treescan.read_text(
            source.tree.root, source.tree.root / module / "go.mod", treescan.MANIFEST_LIMIT
        )
    except (treescan.Unreadable, OSError) as exc:
        raise ConfigError(f"{source.tree.root / module / 'go.mod'}: not read: {exc}") from None
    path = go_module_path(go_mod)
    root = source.tree.root
    return [(root / rel, cgo_libs(source, module, path, rel)) for rel in mains]


def cgo_libs(source: GoSource, module: str, module_path: str, package: str) -> list[str]:
    """The libraries named by the #cgo LDFLAGS of ``package`` and of the
    packages of its own module that it imports, directly or not."""
    libs: dict[str, None] = {}
    seen: set[str] = set()
    todo = [package]
    while todo:
        here = todo.pop()
        if here in seen or not source.tree.has(here):
            continue
        seen.add(here)
        for file in source.go_files(here):
            facts = source.facts(file)
            if facts is None:
                continue
            if facts.cgo:
                libs.update(dict.fromkeys(facts.libs))
            for imp in facts.imports:
                sub = imp.removeprefix(module_path + "/")
                if not module_path or sub == imp:
                    continue
                if any(part in ("", ".", "..") for part in sub.split("/")):
                    continue  # never a folder outside the module
                todo.append(sub if module == "." else f"{module}/{sub}")
    return list(libs)
