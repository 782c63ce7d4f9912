"""What a crate's build script says it links, read as text (init never runs
it): the ``cargo:rustc-link-search`` folders and the static
``cargo:rustc-link-lib`` libraries it prints with ``println!``, where the
values are string literals (``println!("cargo:rustc-link-search=native={}",
"./goproj")`` too), and whether its build-dependencies include bindgen.

The scan is one pass over the characters of the file (comments, strings,
raw strings and char literals told apart), so its time is linear in the
file's size; a value built at run time (``env::var(...)``) is not guessed.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relbuild.backends.cargo_meta import Crate
from relbuild.project import treescan

_SEARCH_KINDS = ("native", "dependency", "crate", "framework", "all")
_LIB_NAME = re.compile(r"[\w.+-]+")  # never a path: it becomes lib<name>.a in a folder
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{[^{}]*\}")


@dataclass(frozen=True)
class BuildLinks:
    """The link directives of one build script, each with its line."""

    search: tuple[tuple[int, str], ...]  # folders, as written
    static: tuple[tuple[int, str], ...]  # library names (lib<name>.a)


@dataclass(frozen=True)
class Linker:
    """A crate whose build script links static libraries."""

    package: str
    crate_dir: str  # its folder, relative to the project root
    build_rs: str  # relative to the project root
    programs: tuple[str, ...]  # its Rust components of kind executable
    links: BuildLinks
    bindgen: bool  # its build-dependencies include bindgen


def read_linker(
    root: Path, crate: Crate, programs: tuple[str, ...], notes: list[str]
) -> Linker | None:
    """What the build script of ``crate`` links, if it has one inside the
    project ``root`` (read within the manifest size cap, never run)."""
    script = next((t.src_path for t in crate.targets if "custom-build" in t.kinds), None)
    if not script:
        return None
    manifest = Path(crate.manifest_path)
    crate_dir, build_rs = _within(root, manifest.parent), _within(root, Path(script))
    if crate_dir is None or build_rs is None:
        return None
    texts: list[str] = []
    for path in (Path(script), manifest):
        try:
            texts.append(treescan.read_text(root, path, treescan.MANIFEST_LIMIT))
        except (treescan.Unreadable, OSError) as exc:
            notes.append(f"{path} not read: {exc}")
            return None
    links = build_script_links(texts[0])
    return Linker(crate.name, crate_dir, build_rs, programs, links, uses_bindgen(texts[1]))


def _within(root: Path, path: Path) -> str | None:
    """``path`` relative to ``root`` (as given, or resolved), or None outside it."""
    path = Path(os.path.normpath(path))  # a `build = "../x.rs"` leaves no ".." behind
    for base in (root, root.resolve()):
        if path.is_relative_to(base):
            return path.relative_to(base).as_posix()
    return None


def build_script_links(text: str) -> BuildLinks:
    search: list[tuple[int, str]] = []
    static: list[tuple[int, str]] = []
    for line, value in _printed(text):
        for out in value.splitlines():
            key, eq, rest = out.removeprefix("cargo:").removeprefix(":").partition("=")
            if not out.startswith("cargo:") or not eq or not rest:
                continue
            if key == "rustc-link-search":
                kind, eq, folder = rest.partition("=")
                search.append((line, folder if eq and kind in _SEARCH_KINDS else rest))
            elif key == "rustc-link-lib":
                kind, eq, name = rest.partition("=")
                if not eq:  # no kind: whichever rustc finds, a lib<name>.a included
                    kind, name = "static", rest
                if kind.partition(":")[0] == "static" and _LIB_NAME.fullmatch(
                    name.partition(":")[0]
                ):
                    static.append((line, name.partition(":")[0]))
    return BuildLinks(tuple(search), tuple(static))


def passes_linker_script(text: str) -> bool:
    """Whether a build script prints a ``cargo:rustc-link-arg*=-T...``
    (a linker script), in a format string or a literal: ``-T{script}``
    counts though its name is computed."""
    return any(
        "rustc-link-arg" in s and "=-T" in s
        for _, strings in _macro_strings(text, ("println!", "print!"))
        for s in strings
    )


def _printed(text: str) -> Iterator[tuple[int, str]]:
    """(line, the text printed) of each ``println!``/``print!`` whose
    format string's placeholders are all given string literals."""
    for line, strings in _macro_strings(text, ("println!", "print!")):
        if not strings:
            continue
        fmt, args = strings[0], strings[1:]
        holes = [m.group(0) for m in _PLACEHOLDER.finditer(fmt)]
        if any(h not in ("{}", "{{", "}}") for h in holes):
            continue  # {0}, {name}, {:?}: not resolved from text
        if holes.count("{}") != len(args):
            continue  # an argument that is not a literal
        yield line, _fill(fmt, args)


def _fill(fmt: str, args: list[str]) -> str:
    values = iter(args)
    return _PLACEHOLDER.sub(lambda m: {"{{": "{", "}}": "}"}.get(m.group(0)) or next(values), fmt)


def _ident(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _macro_strings(text: str, names: tuple[str, ...]) -> Iterator[tuple[int, list[str]]]:
    """(line, string literals inside) of each call of a macro in ``names``."""
    i, n, line = 0, len(text), 1
    depth, start, strings = 0, 0, []
    while i < n:
        ch = text[i]
        if ch == "\n":
            line, i = line + 1, i + 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            line, i = line + text.count("\n", i, end), end
        elif ch == '"' or (ch == "r" and text[i + 1 : i + 2] in ('"', "#") and not _prev(text, i)):
            value, end = _string(text, i)
            if depth:
                strings.append(value)
            line, i = line + text.count("\n", i, end), end
        elif ch == "'":
            i = _after_char(text, i)
        elif depth == 0:
            name = next((m for m in names if text.startswith(m, i)), None)
            after = i + len(name) if name else i + 1
            if name and not _prev(text, i):
                while after < n and text[after] in " \t":
                    after += 1
                if text[after : after + 1] == "(":
                    depth, start, strings = 1, line, []
                    after += 1
            i = after
        else:
            if ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth -= 1
                if depth == 0:
                    yield start, strings
            i += 1


def _prev(text: str, i: int) -> bool:
    """Whether an identifier character comes before ``i``."""
    return i > 0 and _ident(text[i - 1])


def _string(text: str, i: int) -> tuple[str, int]:
    """The value of the string literal at ``i`` and the index after it."""
    if text[i] == "r":
        hashes = 0
        j = i + 1
        while j < len(text) and text[j] == "#":
            hashes += 1
            j += 1
        if text[j : j + 1] != '"':
            return "", i + 1  # an identifier starting with r
        close = '"' + "#" * hashes
        end = text.find(close, j + 1)
        end = len(text) if end < 0 else end
        return text[j + 1 : end], min(len(text), end + len(close))
    out: list[str] = []
    j = i + 1
    while j < len(text) and text[j] != '"':
        if text[j] == "\\" and j + 1 < len(text):
            nxt = text[j + 1]
            out.append({"n": "\n", "t": "\t", "\n": ""}.get(nxt, nxt))
            j += 2
        else:
            out.append(text[j])
            j += 1
    return "".join(out), j + 1


def _after_char(text: str, i: int) -> int:
    """Past a char literal ('x', '\\n', '"') at ``i``, or past the quote of
    a lifetime ('a)."""
    if text[i + 1 : i + 2] == "\\":
        end = text.find("'", i + 3)
        return i + 1 if end < 0 or end > i + 12 else end + 1
    if text[i + 2 : i + 3] == "'":
        return i + 3
    return i + 1


def uses_bindgen(manifest: str) -> bool:
    """Whether a Cargo.toml's build-dependencies (any target's) include bindgen."""
    try:
        data = tomllib.loads(manifest)
    except (tomllib.TOMLDecodeError, RecursionError):
        return False
    tables: list[Any] = [data]
    targets = data.get("target")
    if isinstance(targets, dict):
        tables += list(targets.values())
    for table in tables:
        if not isinstance(table, dict):
            continue
        for key in ("build-dependencies", "build_dependencies"):
            deps = table.get(key)
            if isinstance(deps, dict) and any(
                name == "bindgen" or (isinstance(spec, dict) and spec.get("package") == "bindgen")
                for name, spec in deps.items()
            ):
                return True
    return False
