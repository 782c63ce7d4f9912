"""Reading a project folder that may be hostile, as `relbuild init` does.

A folder named on the command line can hold anything: a FIFO called
``go.mod`` (a read blocks for ever), a ``main.go`` that links to
``/dev/zero`` (a read never ends), folders nested a thousand deep (a
recursive walk overflows), a file crafted so that a backtracking regex takes
minutes. Here:

- :func:`scan` walks the folder once, without recursion and without
  following a symbolic link, to a depth and an entry count, and keeps only
  the names init looks for;
- :func:`read_text` reads a regular file inside the folder, up to a size;
- :func:`rust_toolchain_requests` says what a rust-toolchain file asks
  for, which init reports and never runs.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from relbuild.release.safefs import read_regular

MAX_DEPTH = 40  # folders below the project; deeper ones are not searched
MAX_ENTRIES = 500_000  # names listed in the whole walk
MANIFEST_LIMIT = 1 << 20  # go.mod, rust-toolchain.toml, .gitignore
SOURCE_LIMIT = 4 << 20  # one .go file
SOURCE_BUDGET = 256 << 20  # all the Go source one init reads

# Names the walk keeps: the manifests and Go source.
WANTED = ("Cargo.toml", "go.mod", "go.work", "rust-toolchain.toml", "rust-toolchain")


class Unreadable(Exception):  # noqa: N818 - a reason, said in one sentence
    """The file is not one init reads (str: why)."""


class TooLarge(Exception):  # noqa: N818
    """The folder is larger than the walk lists (str: what)."""


@dataclass
class Tree:
    """The folders under ``root`` (relative POSIX paths, "." for the root)
    and, in each, the wanted file names (any kind of file: a read checks)."""

    root: Path
    files: dict[str, list[str]] = field(default_factory=dict)
    too_deep: list[str] = field(default_factory=list)  # folders not searched

    def has(self, rel: str) -> bool:
        return rel in self.files

    def names(self, rel: str) -> list[str]:
        return self.files.get(rel, [])

    def under(self, rel: str) -> list[str]:
        """``rel`` and every folder below it, sorted."""
        if rel == ".":
            return sorted(self.files)
        return sorted(d for d in self.files if d == rel or d.startswith(rel + "/"))


def _wanted(name: str) -> bool:
    return name in WANTED or name.endswith(".go")


def scan(root: Path, skip: Iterable[str]) -> Tree:
    """Every folder under ``root`` except those named in ``skip`` or
    starting with a dot, to :data:`MAX_DEPTH`; :class:`TooLarge` past
    :data:`MAX_ENTRIES` names."""
    skipped = set(skip)
    tree = Tree(root)
    entries = 0
    stack = ["."]
    while stack:
        rel = stack.pop()
        folder = root if rel == "." else root / rel
        names: list[str] = []
        subdirs: list[str] = []
        try:
            with os.scandir(folder) as it:
                for entry in it:
                    entries += 1
                    if entries > MAX_ENTRIES:
                        raise TooLarge(f"more than {MAX_ENTRIES} files and folders")
                    if entry.is_dir(follow_symlinks=False):
                        if entry.name not in skipped and not entry.name.startswith("."):
                            subdirs.append(entry.name)
                    elif _wanted(entry.name):
                        names.append(entry.name)
        except OSError:
            continue  # unreadable folder: nothing in it is found
        tree.files[rel] = sorted(names)
        depth = 0 if rel == "." else rel.count("/") + 1
        for name in sorted(subdirs, reverse=True):
            child = name if rel == "." else f"{rel}/{name}"
            if depth + 1 > MAX_DEPTH:
                tree.too_deep.append(child)
            else:
                stack.append(child)
    tree.too_deep.sort()
    return tree


def read_text(root: Path, path: Path, limit: int, *, follow: bool = True) -> str:
    """The text of ``path``, a regular file inside ``root`` (a symbolic
    link is followed only to a file inside it, and only with ``follow``),
    of at most ``limit`` bytes; :class:`Unreadable` saying why not, and
    FileNotFoundError when there is none."""
    try:
        real = _inside(root, path, follow)
        data = read_regular(real, limit)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise Unreadable(_reason(exc)) from None
    return data.decode("utf-8", errors="replace")


def _inside(root: Path, path: Path, follow: bool) -> Path:
    """``path``, or where its symbolic link leads if that is inside ``root``."""
    if not stat.S_ISLNK(path.lstat().st_mode):
        return path
    if not follow:
        raise Unreadable(f"a symbolic link to {os.readlink(path)!r}")
    real = os.path.realpath(path)
    if not real.startswith(os.path.realpath(root).rstrip(os.sep) + os.sep):
        raise Unreadable(f"a symbolic link to {os.readlink(path)!r}, outside the project")
    return Path(real)


def _reason(exc: OSError) -> str:
    if exc.strerror == "not a regular file":
        return "not a regular file"
    if exc.strerror and exc.strerror.startswith("larger than"):
        return exc.strerror
    return exc.strerror or str(exc)


# --- what a rust-toolchain file asks for -------------------------------------------


def rust_toolchain_requests(tree: Tree, pin: Mapping[str, Any]) -> list[str]:
    """One sentence for each rust-toolchain file of the tree that asks for
    another toolchain than ``pin`` (init's, of what is installed)."""
    notes: list[str] = []
    release = str(pin.get("release", ""))
    name = str(pin.get("rustup-toolchain", ""))
    for rel in sorted(tree.files):
        for file in ("rust-toolchain.toml", "rust-toolchain"):
            if file not in tree.names(rel):
                continue
            shown = file if rel == "." else f"{rel}/{file}"
            try:
                text = read_text(tree.root, tree.root / shown, MANIFEST_LIMIT)
            except (Unreadable, FileNotFoundError) as exc:
                notes.append(f"{shown!r} not read: {exc}")
                continue
            channel, path = _toolchain_request(text)
            if path is None and (
                channel in (None, release, name) or name.startswith(f"{channel}-")
            ):
                continue
            asks = f"the toolchain folder {path!r}" if path else f"the channel {channel!r}"
            notes.append(
                f"{shown!r} asks for {asks}; init pinned the installed Rust {release} "
                "and runs no toolchain a project names: to build with another, install "
                "it and change [toolchains.rust]"
            )
    return notes


def _toolchain_request(text: str) -> tuple[str | None, str | None]:
    """(channel, path) of a rust-toolchain file: TOML, or the older form
    that is one line naming the channel."""
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError):
        lines = text.strip().splitlines()
        return (lines[0][:100] if len(lines) == 1 else "(unreadable)"), None
    table = data.get("toolchain")
    if not isinstance(table, dict):
        return None, None
    channel, path = table.get("channel"), table.get("path")
    return (
        str(channel)[:100] if channel is not None else None,
        str(path)[:200] if path is not None else None,
    )
