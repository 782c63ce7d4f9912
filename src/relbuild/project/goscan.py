"""What `relbuild init` needs of one Go file, go.mod or go.work, read as
text: a Go file's package, imports, ``func main``, ``//export`` lines, and
the libraries its ``#cgo LDFLAGS`` name (``-l<name>``, or a path to a
``lib<name>.a``, ``${SRCDIR}/...`` included), each with its line.

Everything is found in one pass over the lines, with no pattern that can
backtrack across a line: time linear in the file's size. Which files are
read, and how a program's packages are followed, is
:mod:`relbuild.project.gomains`.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

# Re-exported: the go.mod readers moved below, where doctor and plan use them too.
from relbuild.backends.gomod_text import go_mod_replaces as go_mod_replaces  # noqa: PLC0414
from relbuild.backends.gomod_text import go_module_path as go_module_path  # noqa: PLC0414
from relbuild.backends.gomod_text import go_work_uses as go_work_uses  # noqa: PLC0414

# Each is matched against one line (or a token) from its start, and none has
# two quantifiers over the same characters in a row: no backtracking.
_PACKAGE = re.compile(r"package\s+(\w+)")
_IMPORT_ONE = re.compile(r'import\s+(?:[\w.]+\s+)?"([^"]+)"')
_QUOTED = re.compile(r'"([^"]+)"')
_LIB = re.compile(r"-l([\w.+-]+)")
_FUNC_MAIN = re.compile(r"func\s+main\s*\(\s*\)")


@dataclass(frozen=True)
class CgoLib:
    """A library one ``#cgo LDFLAGS`` line names."""

    name: str  # <name>, of -l<name> or of lib<name>.a
    line: int  # 1-based
    archive: str = ""  # the path of a lib<name>.a as written; "" for -l<name>


@dataclass(frozen=True)
class GoFacts:
    package: str | None  # the first package clause
    imports: tuple[str, ...]
    cgo: bool  # imports "C"
    libs: tuple[CgoLib, ...]  # of its #cgo LDFLAGS lines, in order
    has_main: bool = False  # declares func main()
    exports: bool = False  # has //export lines (callable from C)
    ignored: bool = False  # //go:build ignore: no build reads it

    @property
    def lib_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(lib.name for lib in self.libs))


def go_facts(text: str) -> GoFacts:
    """The package, imports, main, exports and cgo libraries of one Go file."""
    package: str | None = None
    imports: list[str] = []
    libs: list[CgoLib] = []
    has_main = exports = ignored = False
    in_block = False
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        libs += _ldflags_libs(line, number)
        if in_block:
            inside, closed, _ = line.partition(")")
            imports += _QUOTED.findall(inside)
            in_block = not closed
            continue
        if package is None:
            ignored = ignored or _build_ignore(line)
            if m := _PACKAGE.match(line):
                package = m.group(1)
        has_main = has_main or bool(_FUNC_MAIN.match(line))
        exports = exports or line.startswith("//export ")
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
        libs=tuple(libs),
        has_main=has_main,
        exports=exports,
        ignored=ignored,
    )


def _build_ignore(line: str) -> bool:
    """``//go:build ignore`` (or the old ``// +build ignore``): a file no
    build reads, such as a generator run with `go run`."""
    for head in ("//go:build", "// +build"):
        if line.startswith(head):
            return line[len(head) :].split() == ["ignore"]
    return False


def _ldflags_libs(line: str, number: int) -> list[CgoLib]:
    """The libraries of a ``#cgo [GOOS...] LDFLAGS: ...`` line."""
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
    found: list[CgoLib] = []
    for word in flags.split():
        token = word.strip("\"'")
        if m := _LIB.match(token):
            found.append(CgoLib(m.group(1), number))
            continue
        base = token.rpartition("/")[2]
        if base.startswith("lib") and base.endswith(".a") and len(base) > len("lib.a"):
            found.append(CgoLib(base[3:-2], number, token))
    return found


def inside(base: str, rel: str) -> str | None:
    """``rel`` (a POSIX path, relative to the folder ``base``, both relative
    to the project root) as a path relative to the root, or None when it
    leaves the project."""
    joined = posixpath.normpath(posixpath.join(base, rel))
    if joined == ".." or joined.startswith("../") or joined.startswith("/"):
        return None
    return joined
