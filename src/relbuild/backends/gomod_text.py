"""A go.mod or go.work read as text, line by line (time linear in its
size, no pattern that backtracks): its module path, the modules it
requires, its local replacements and a workspace's `use` folders; and
whether a module needs a go.sum it does not have.

`relbuild init` reads these to follow a program's packages; `doctor`,
`plan` and `check` refuse a module whose requirements have no go.sum (Go
would stop at "missing go.sum entry", after the toolchains were fetched).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from relbuild.config import LoadedConfig
from relbuild.errors import ConfigError
from relbuild.system.fsutil import find_up

GO_MOD_LIMIT = 1 << 20  # a go.mod or go.work larger than this is not read


def go_module_path(text: str) -> str:
    """The module path of a go.mod ("" if it names none)."""
    for raw in text.splitlines():
        words = raw.split()
        if len(words) >= 2 and words[0] == "module":
            return words[1].strip('"')
    return ""


def _directives(text: str, verb: str) -> list[list[str]]:
    """The words of each ``verb`` directive of a go.mod or go.work, in its
    one-line form and in its ``verb ( ... )`` block form."""
    found: list[list[str]] = []
    in_block = False
    for raw in text.splitlines():
        words = raw.partition("//")[0].split()
        if in_block:
            if words[:1] == [")"]:
                in_block = False
            elif words:
                found.append(words)
        elif words[:1] == [verb]:
            if words[1:] == ["("]:
                in_block = True
            elif len(words) > 1:
                found.append(words[1:])
    return found


def go_work_uses(text: str) -> list[str]:
    """The module folders a go.work's ``use`` directives list, as written."""
    return [words[0].strip('"') for words in _directives(text, "use")]


def go_mod_replaces(text: str) -> dict[str, str]:
    """A go.mod's ``replace`` directives that point at a local folder:
    module path -> the folder, relative to the go.mod's, as written."""
    local: dict[str, str] = {}
    for words in _directives(text, "replace"):
        if "=>" not in words:
            continue
        at = words.index("=>")
        if at == 0 or at + 1 >= len(words):
            continue
        target = words[at + 1].strip('"')
        if target.startswith(("./", "../")) or target in (".", ".."):
            local[words[0].strip('"')] = target
    return local


def go_mod_requires(text: str) -> list[str]:
    """The module paths a go.mod's ``require`` directives name."""
    return [words[0].strip('"') for words in _directives(text, "require") if len(words) >= 2]


def wanted_release(gomod: Path) -> str | None:
    """The `go` directive of a go.mod: the oldest Go that may build it
    (None when there is none, or it is not a release number)."""
    for words in _directives(_read(gomod), "go"):
        if re.fullmatch(r"\d+(\.\d+){1,2}", words[0]):
            return words[0]
    return None


def needs_go_sum(root: Path, folder: Path) -> Path | None:
    """The go.mod that Go uses in ``folder`` (found as Go finds it, not
    above ``root``) when it requires modules from outside the project but
    has no go.sum beside it; None when its sums are there or none are
    needed. A requirement met by a local ``replace`` or by a module of the
    go.work in use needs no sum; with a go.work.sum, the workspace's sums
    are taken as there."""
    gomod = find_up(folder, root, "go.mod")
    if gomod is None or (gomod.parent / "go.sum").exists():
        return None
    local = set(go_mod_replaces(_read(gomod)))
    work = find_up(folder, root, "go.work")
    if work is not None:
        if (work.parent / "go.work.sum").exists():
            return None
        for use in go_work_uses(_read(work)):
            local.add(go_module_path(_read(work.parent / use / "go.mod")))
    outside = [m for m in go_mod_requires(_read(gomod)) if m not in local]
    return gomod if outside else None


def _read(path: Path) -> str:
    try:
        with path.open("rb") as f:
            return f.read(GO_MOD_LIMIT).decode("utf-8", errors="replace")
    except OSError:
        return ""


def missing_go_sum(loaded: LoadedConfig, component: str) -> str | None:
    """Why the module of a Go component cannot build: it requires modules
    from outside the project and has no go.sum (None: it can)."""
    gomod = needs_go_sum(loaded.root, loaded.root / loaded.config.go[component].path)
    if gomod is None:
        return None
    return (
        f"{gomod} requires modules but has no go.sum beside it: Go would stop at "
        "'missing go.sum entry'"
    )


def require_go_sums(loaded: LoadedConfig, components: Sequence[str]) -> None:
    """A ConfigError (exit 2) for the first component whose module needs a go.sum it lacks."""
    for name in components:
        problem = missing_go_sum(loaded, name)
        if problem is not None:
            raise ConfigError(problem, hint="Run `go mod tidy` there and commit go.sum.")
