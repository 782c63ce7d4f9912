"""The Go side: the cgo preambles of the packages a Go program is built
from, as C files the C side can read.

`go list -deps -json` names, for the program's target (GOOS, GOARCH, tags,
CGO_ENABLED from the build step's environment), every package and its
CgoFiles; only packages of the main module are read, since a third-party
module's preamble declares its own C, not the project's boundary. A
preamble is the comment right before ``import "C"``; its ``#cgo`` lines are
blanked (cgo reads them, the C compiler never sees them) and a ``#line``
directive keeps the Go file's line numbers in every message.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from relbuild.backends.go_module import list_deps
from relbuild.errors import CommandError, UsageError


@dataclass(frozen=True)
class Preamble:
    go_file: Path
    line: int  # line of the preamble's first line in the Go file
    text: str


@dataclass
class CgoPackage:
    import_path: str
    folder: Path
    preambles: list[Preamble] = field(default_factory=list)
    cflags: list[str] = field(default_factory=list)  # from #cgo CFLAGS/CPPFLAGS
    c_files: list[str] = field(default_factory=list)


def go_list(
    go: str,
    package: str,
    env: Mapping[str, str],
    cwd: Path,
    tags: Sequence[str] = (),
    memo: Path | None = None,
) -> list[CgoPackage]:
    """The main module's packages with cgo files that ``package`` is built
    from (`go list`'s answer kept in ``memo``: backends.go_listing)."""
    try:
        packages = list_deps(go, package, env, cwd, tags, memo)
    except CommandError as exc:
        raise UsageError(f"go list {package} failed:\n{exc.output_tail}") from None
    out: list[CgoPackage] = []
    for pkg in packages:
        if pkg.get("Standard") or not pkg.get("CgoFiles"):
            continue
        if not (pkg.get("Module") or {}).get("Main"):
            continue
        folder = Path(pkg["Dir"])
        item = CgoPackage(
            import_path=pkg["ImportPath"],
            folder=folder,
            cflags=[*pkg.get("CgoCPPFLAGS", []), *pkg.get("CgoCFLAGS", [])],
            c_files=list(pkg.get("CFiles", [])),
        )
        for name in pkg["CgoFiles"]:
            path = folder / name
            try:
                source = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise UsageError(f"{path}: cannot read: {exc}") from None
            item.preambles += preambles(source, path)
        out.append(item)
    return out


def preambles(source: str, path: Path) -> list[Preamble]:
    """Each ``import "C"``'s preamble: the comment that ends on the line
    right before it (a blank line between makes it no preamble)."""
    comments, imports = _scan(source)
    out: list[Preamble] = []
    for import_line in imports:
        block = [c for c in comments if c[1] == import_line - 1]
        if not block:
            continue
        start, _, text, is_block = block[-1]
        if not is_block:
            # A run of // comments: gather the consecutive lines.
            lines = [text]
            first = start
            for c in reversed(comments):
                if c[1] == first - 1 and not c[3]:
                    lines.insert(0, c[2])
                    first = c[0]
            text = "\n".join(lines)
            start = first
        out.append(Preamble(path, start, _blank_cgo_lines(text)))
    return out


def _blank_cgo_lines(text: str) -> str:
    return "\n".join(
        "" if line.lstrip().startswith("#cgo ") or line.strip() == "#cgo" else line
        for line in text.split("\n")
    )


def _scan(source: str) -> tuple[list[tuple[int, int, str, bool]], list[int]]:
    """Comments (first line, last line, text, is a /* */ block) and the lines
    of ``import "C"``, found with Go's lexical rules for comments and
    literals."""
    comments: list[tuple[int, int, str, bool]] = []
    imports: list[int] = []
    i, n, line = 0, len(source), 1
    while i < n:
        c = source[i]
        if c == "\n":
            line += 1
            i += 1
        elif source.startswith("//", i):
            end = source.find("\n", i)
            end = n if end < 0 else end
            comments.append((line, line, source[i + 2 : end], False))
            i = end
        elif source.startswith("/*", i):
            end = source.find("*/", i + 2)
            end = n if end < 0 else end
            body = source[i + 2 : end]
            comments.append((line, line + body.count("\n"), body, True))
            line += body.count("\n")
            i = end + 2
        elif c in "\"'`":
            j = i + 1
            while j < n and source[j] != c:
                if c != "`" and source[j] == "\\":
                    j += 1
                elif c != "`" and source[j] == "\n":
                    break
                j += 1
            line += source.count("\n", i, j)
            i = j + 1
        elif source.startswith("import", i) and (i == 0 or not _ident(source[i - 1])):
            j = i + len("import")
            while j < n and source[j] in " \t":
                j += 1
            if source.startswith('"C"', j):
                imports.append(line)
                i = j + 3
            else:
                i = j
        else:
            i += 1
    return comments, imports


def _ident(c: str) -> bool:
    return c.isalnum() or c == "_"


def write_preamble(pre: Preamble, folder: Path, index: int) -> Path:
    """The preamble as a C file whose line numbers are the Go file's."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"cgo-{index}-{pre.go_file.stem}.c"
    path.write_text(f'#line {pre.line} "{pre.go_file}"\n{pre.text}\n')
    return path


def env_cflags(env: Mapping[str, str]) -> list[str]:
    """CGO_CFLAGS and CGO_CPPFLAGS of the build step, as cgo splits them."""
    flags: list[str] = []
    for key in ("CGO_CPPFLAGS", "CGO_CFLAGS"):
        flags += shlex.split(env.get(key, ""))
    return flags
