"""`go list -deps -json`, remembered under a key of what it reads.

What `go list` answers (the packages a program is built from, their files
and cgo directives) depends only on the file names in each package folder,
the *header* of each Go file (its build constraints, package clause and
imports, the cgo preamble with its ``#cgo`` lines), the leading comments of
the other source files (their build constraints), the go.mod, go.sum and
go.work files, the Go release and the environment. It does not depend on the
bodies of functions: an edit there must not cost a `go list` per target.

:func:`tree_digest` hashes exactly those parts of the module's folder (and
of any local ``replace`` or ``use`` folder outside it); :func:`listed` keeps
each answer under the digest, the command and its environment. Where a file
cannot be read as Go, its whole content is hashed; a package that imports
``embed`` has its whole folder tree's names hashed (embed patterns match
names). A changed header, an added file or a changed go.sum gives a new key
and a fresh `go list`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from relbuild.system.fsutil import atomic_write, prune_oldest

# Bump when what is kept, or how the key is made, changes.
_VERSION = "1"
# Answers kept at most (the oldest go): targets times recent header changes.
_KEPT_MAX = 64
# Files whose whole content changes what `go list` says.
_MODULE_FILES = frozenset({"go.mod", "go.sum", "go.work", "go.work.sum", "modules.txt"})
# Other files go/build reads build constraints from (their leading comments).
_CONSTRAINED = frozenset(
    {".c", ".cc", ".cpp", ".cxx", ".m", ".h", ".hh", ".hpp", ".hxx", ".f", ".F", ".for"}
    | {".f90", ".s", ".S", ".sx", ".swig", ".swigcxx", ".syso"}
)
# Fields kept of a package outside the standard library (the callers' needs).
_KEEP = frozenset({"ImportPath", "Dir", "Name", "Standard", "Module"})

_TOKEN = re.compile(
    rb"""(?P<space>[ \t\r\n]+)
    |(?P<line>//[^\n]*)
    |(?P<block>/\*.*?\*/)
    |(?P<string>"(?:[^"\\\n]|\\.)*"|`[^`]*`)
    |(?P<name>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<punct>[().;])""",
    re.X | re.S,
)


def header(source: bytes) -> tuple[bytes, bool] | None:
    """The part of a Go file `go list` reads (everything before its first
    declaration) and whether it imports ``embed``; None when the file does
    not read as Go (its whole content then counts)."""
    tokens = _tokens(source)
    embed = False
    try:
        kind, text, _ = next(tokens)
        if (kind, text) != ("name", b"package") or next(tokens)[0] != "name":
            return None
        kind, text, at = next(tokens)
        while True:
            if (kind, text) == ("punct", b";"):
                kind, text, at = next(tokens)
                continue
            if (kind, text) != ("name", b"import"):
                return source[:at], embed
            kind, text, at = next(tokens)
            grouped = (kind, text) == ("punct", b"(")
            if grouped:
                kind, text, at = next(tokens)
            while True:
                if grouped and (kind, text) == ("punct", b")"):
                    kind, text, at = next(tokens)
                    break
                if grouped and (kind, text) == ("punct", b";"):
                    kind, text, at = next(tokens)
                    continue
                if kind == "name" or (kind, text) == ("punct", b"."):
                    kind, text, at = next(tokens)  # the import's local name
                if kind != "string":
                    return None
                embed = embed or text in (b'"embed"', b"`embed`")
                kind, text, at = next(tokens)
                if not grouped:
                    break
    except StopIteration:
        return source, embed  # a file of nothing but a header


def _tokens(source: bytes) -> Iterator[tuple[str, bytes, int]]:
    """Go's tokens up to the first one this reader does not know, which
    ends the header (or stops the iteration at the end of the file)."""
    pos = 0
    while pos < len(source):
        m = _TOKEN.match(source, pos)
        if m is None:
            yield "other", b"", pos
            return
        kind = m.lastgroup
        assert kind is not None
        if kind not in ("space", "line", "block"):
            yield kind, m.group(), pos
        pos = m.end()


def _leading_comments(source: bytes) -> bytes:
    """The blank lines and // comments a non-Go file starts with: where
    go/build looks for its build constraints."""
    end = 0
    for line in source.splitlines(keepends=True):
        if line.strip() and not line.lstrip().startswith(b"//"):
            break
        end += len(line)
    return source[:end]


def _local_folders(text: str, folder: Path) -> list[Path]:
    """Folders a go.mod's ``replace`` or a go.work's ``use`` names on disk."""
    found = re.findall(r"=>\s*((?:\.{1,2}/|/)\S*)", text)
    for block in re.findall(r"(?m)^\s*use\s*\(([^)]*)\)", text):
        found += [w for w in block.split() if not w.startswith("//")]
    found += re.findall(r"(?m)^\s*use\s+([^\s(]\S*)", text)
    return [(folder / f.strip('"`')).resolve() for f in found if f]


def tree_digest(root: Path, skip: Sequence[Path] = ()) -> str:
    """A digest of what `go list` reads under ``root`` and in the local
    folders its go.mod and go.work files name."""
    h = hashlib.sha256(_VERSION.encode())
    todo, seen = [root.resolve()], set(map(os.path.abspath, skip))
    while todo:
        top = todo.pop()
        if str(top) in seen:
            continue
        seen.add(str(top))
        h.update(f"root {top}\n".encode())
        for folder, names in _walk(top, seen):
            todo += _hash_folder(h, top, folder, names)
    return h.hexdigest()


def _walk(top: Path, skip: set[str]) -> Iterator[tuple[Path, list[str]]]:
    """Each folder under ``top`` with its file names, in a fixed order;
    hidden folders, caches (CACHEDIR.TAG, as cargo's target) and ``skip``
    left out. Linked folders are followed (Go imports through them), each
    real folder once."""
    real: set[str] = set()
    for folder, dirs, files in os.walk(top, followlinks=True):
        here = os.path.realpath(folder)
        if "CACHEDIR.TAG" in files or here in real:
            dirs[:] = []
            continue
        real.add(here)
        dirs[:] = sorted(
            d for d in dirs if not d.startswith(".") and os.path.join(folder, d) not in skip
        )
        yield Path(folder), sorted(files)


def _hash_folder(h: Any, top: Path, folder: Path, names: list[str]) -> list[Path]:
    """Hash one folder's part; the local module folders it names."""
    more: list[Path] = []
    rel = folder.relative_to(top).as_posix()
    for name in names:
        if name in _MODULE_FILES:
            body = _read(folder / name)
            h.update(f"module {rel}/{name} {len(body)}\n".encode() + body)
            more += _local_folders(body.decode("utf-8", "replace"), folder)
    if not any(n.endswith(".go") for n in names):
        return more
    h.update(f"package {rel}\n".encode() + "\0".join(names).encode() + b"\n")
    for name in names:
        suffix = os.path.splitext(name)[1]
        if suffix != ".go" and suffix not in _CONSTRAINED:
            continue
        body = _read(folder / name)
        if suffix != ".go":
            part = _leading_comments(body)
        else:
            read = header(body)
            part = body if read is None else read[0]
            if read is not None and read[1]:
                h.update(f"embed {rel}\n".encode())
                for sub, files in _walk(folder, set()):
                    h.update(f"{sub.relative_to(folder)}\0{chr(0).join(files)}\n".encode())
        h.update(f"file {name} {len(part)}\n".encode() + part)
    return more


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:  # unreadable: the key says so, `go list` will too
        return f"unreadable {exc.errno}".encode()


def _trim(pkg: dict[str, Any]) -> dict[str, Any]:
    if pkg.get("Standard"):
        return {"ImportPath": pkg["ImportPath"], "Standard": True}
    return {
        k: v for k, v in pkg.items() if k in _KEEP or k.endswith("Files") or k.startswith("Cgo")
    }


def listed(
    memo: Path | None,
    command: Sequence[str],
    env: Mapping[str, str],
    cwd: Path,
    run: Callable[[], Iterator[dict[str, Any]]],
) -> list[dict[str, Any]]:
    """What ``run`` (a `go list -deps -json` of ``command`` in ``cwd`` with
    ``env``) answers, from ``memo`` when a run with the same key has
    answered before; ``memo`` None: always run."""
    if memo is None:
        return [_trim(p) for p in run()]
    key = hashlib.sha256(
        json.dumps([_VERSION, list(command), sorted(env.items()), str(cwd)]).encode()
        + tree_digest(_module_top(cwd, env), [memo]).encode()
    ).hexdigest()
    kept = memo / f"{key}.json"
    try:
        answer = json.loads(kept.read_bytes())
        if isinstance(answer, list) and all(_package(p) for p in answer):
            return answer
    except (OSError, ValueError):
        pass
    answer = [_trim(p) for p in run()]
    prune_oldest(memo, "*.json", _KEPT_MAX)
    atomic_write(kept, json.dumps(answer, separators=(",", ":")).encode())
    return answer


def _package(p: object) -> bool:
    """Whether a kept entry has what callers read of every package (a
    damaged cache file is asked of `go list` again, never trusted)."""
    if not isinstance(p, dict) or not isinstance(p.get("ImportPath"), str):
        return False
    return bool(p.get("Standard")) or isinstance(p.get("Dir"), str)


def _module_top(cwd: Path, env: Mapping[str, str]) -> Path:
    """The folder of the go.work `go` uses (GOWORK), else of the go.mod
    nearest above ``cwd``: the module `go` reads from there."""
    work = env.get("GOWORK", "")
    if work not in ("", "off"):
        return Path(work).resolve().parent
    top = cwd.resolve()
    return next((f for f in [top, *top.parents] if (f / "go.mod").is_file()), top)
