"""The files `relbuild init` finds and writes beside the config: the
licence files shipped in every archive, and relbuild's outputs kept out of
git in the project's .gitignore."""

from __future__ import annotations

import os
from pathlib import Path

from relbuild.project import treescan
from relbuild.system.fsutil import atomic_write

# LICENSE, LICENSE-MIT, LICENCE.md, COPYING, COPYING.LESSER, UNLICENSE...
LICENCE_PREFIXES = ("license", "licence", "copying", "unlicense")

# relbuild's own outputs: never the user's changes, never committed.
IGNORED = (".relbuild/", "dist/")


def licence_files(root: Path) -> list[str]:
    """The licence files at the top of ``root``: regular files (not links)
    whose names start with LICENSE, LICENCE, COPYING or UNLICENSE, in any
    case, sorted."""
    try:
        with os.scandir(root) as it:
            found = [
                e.name
                for e in it
                if e.is_file(follow_symlinks=False) and e.name.lower().startswith(LICENCE_PREFIXES)
            ]
    except OSError:
        return []
    return sorted(found)


def ignore_outputs(folder: Path, notes: list[str] | None = None) -> list[str]:
    """Add relbuild's cache and dist folders to ``folder/.gitignore`` (kept
    as it is otherwise); the lines added. A .gitignore that is not a
    regular file (a symbolic link, perhaps to a file outside the project)
    is left alone, and ``notes`` says so."""
    path = folder / ".gitignore"
    try:
        text = treescan.read_text(folder, path, treescan.MANIFEST_LIMIT, follow=False)
    except FileNotFoundError:
        text = ""
    except treescan.Unreadable as exc:
        if notes is not None:
            notes.append(
                f"{path} left as it is ({exc}); add {' and '.join(IGNORED)} to it yourself"
            )
        return []
    have = {line.strip().lstrip("/") for line in text.splitlines()}
    missing = [p for p in IGNORED if p not in have and p.rstrip("/") not in have]
    if missing:
        sep = "" if not text or text.endswith("\n") else "\n"
        atomic_write(path, (text + sep + "\n".join(missing) + "\n").encode(), make_parents=False)
    return missing
