"""cgo directives as the project wrote them, matched to the staticlibs relbuild builds.

A Go package that links a Rust library names it in its ``#cgo LDFLAGS``:
a path to the archive (``./lib/libhello.a``,
``${SRCDIR}/libtally_linux_amd64.a``) or a folder and a name
(``-L./lib -lhello``). `go list -json` reads these for a target's GOOS and
GOARCH (build constraints and file-name suffixes applied, ``${SRCDIR}``
expanded); this module finds, for each one that points into the project,
the staticlib component that makes it, so the build can show the fresh
library at exactly that path inside the sandbox. A path into the project
that no component makes is an error naming the file and line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relbuild.errors import ConfigError


@dataclass(frozen=True)
class Placement:
    """A staticlib the sources expect at ``at`` (relative to the project root)."""

    at: str
    component: str
    where: str  # file:line of the directive


def lib_name(file_name: str) -> str | None:
    """'libhello.a' -> 'hello'; None for a name that is not lib<name>.a."""
    m = re.fullmatch(r"lib(.+)\.a", file_name)
    return m.group(1) if m else None


def match_library(name: str, libs: Mapping[str, str]) -> str | None:
    """The component whose library name ``name`` is, or starts with followed
    by '_', '-' or '.' (per-platform names: tally_linux_amd64 -> tally).
    ``libs`` maps a component to its library name; the longest match wins."""
    found = [c for c, lib in libs.items() if lib == name]
    if found:
        return found[0]
    prefixed = [
        (len(lib), c)
        for c, lib in libs.items()
        if len(name) > len(lib) and name.startswith(lib) and name[len(lib)] in "_-."
    ]
    return max(prefixed)[1] if prefixed else None


def _inside(path: Path, root: Path) -> str | None:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return None


def _normal(path: str) -> Path:
    return Path(os.path.normpath(path))


def _directive_line(pkg_dir: Path, files: Iterable[str], flag: str) -> str:
    """file:line of the ``#cgo`` line that holds ``flag`` (as written, with
    ${SRCDIR} put back), relative to the package folder."""
    written = {flag, flag.replace(str(pkg_dir), "${SRCDIR}")}
    for name in files:
        try:
            lines = (pkg_dir / name).read_text(errors="replace").splitlines()
        except OSError:
            continue
        for number, line in enumerate(lines, 1):
            if "#cgo" in line and any(w in line.split() for w in written):
                return f"{name}:{number}"
    return next(iter(files), "?")


def placements(
    packages: Sequence[Mapping[str, Any]], root: Path, libs: Mapping[str, str]
) -> list[Placement]:
    """The staticlibs the cgo directives of ``packages`` (`go list -json`
    objects) expect inside ``root``; ``libs`` maps each staticlib component
    the program may link to its library name."""
    root = _normal(str(root))
    found: dict[str, Placement] = {}
    for pkg in packages:
        if pkg.get("Standard") or not pkg.get("Dir"):
            continue
        pkg_dir = _normal(pkg["Dir"])
        if _inside(pkg_dir, root) is None:
            continue  # a module from the cache: not the project's to place
        rel_pkg = _inside(pkg_dir, root) or "."
        flags: list[str] = list(pkg.get("CgoLDFLAGS") or [])
        files = list(pkg.get("CgoFiles") or [])
        search: list[Path] = []
        for flag in flags:
            if flag.startswith("-L") and len(flag) > 2:
                search.append(_normal(str(pkg_dir / flag[2:])))
        for flag in flags:
            if flag.endswith(".a") and not flag.startswith("-"):
                archive = _normal(str(pkg_dir / flag))
                name = lib_name(archive.name)
                component = match_library(name, libs) if name else None
            elif flag.startswith("-l") and len(flag) > 2:
                dirs = [d for d in search if _inside(d, root) is not None]
                component = match_library(flag[2:], libs) if dirs else None
                if component is None:
                    # A system library (-ldl, -lm: no -L into the project),
                    # or one the folder holds or the system has.
                    continue
                archive = dirs[0] / f"lib{flag[2:]}.a"
            else:
                continue
            rel = _inside(archive, root)
            if rel is None:
                continue  # an absolute path elsewhere: the user's to provide
            where = f"{rel_pkg}/{_directive_line(pkg_dir, files, flag)}".removeprefix("./")
            if component is None:
                raise ConfigError(
                    f"{where}: `#cgo LDFLAGS: {flag}` names {rel}, and no Rust staticlib "
                    "this program links makes it",
                    hint="Add the crate as a [rust.<name>] kind = 'staticlib' component and "
                    "list it in the Go component's `links` (`relbuild init` finds both).",
                )
            found.setdefault(rel, Placement(at=rel, component=component, where=where))
    return [found[k] for k in sorted(found)]
