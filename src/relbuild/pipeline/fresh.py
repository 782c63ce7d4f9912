"""Is the release in ``--out`` still the one these inputs make?

After each build the last stage records a key of everything the build read
(relbuild itself, the config, the options, the environment a step or a
probe sees, the source's revision, dirty flag and epoch, every file of the
project tree by size and time, the toolchain executables it used and the
folders of PATH) and the SHA-256 of every file it wrote into ``--out``.
The first stage of the next build computes the key again: when it is the
same and every file of ``--out`` still has its digest, no later stage has
anything to do, and the build says so. Any difference (a touched source
file, another toolchain, an edited or extra file in the dist) and the
build runs as usual, each step still deciding for itself.

This module imports little on purpose: `relbuild build` asks it before
importing the pipeline's stages, so a no-op build costs the check alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relbuild import __version__
from relbuild.release.digest import hash_file
from relbuild.system import environ
from relbuild.system.fsutil import atomic_write
from relbuild.system.sourceinfo import SourceInfo, read_source

if TYPE_CHECKING:
    from relbuild.config import LoadedConfig
    from relbuild.pipeline.options import BuildOptions
    from relbuild.system.progress import Reporter

RECORD = "last-build.json"
# A record larger than this is not one relbuild wrote: it is ignored.
MAX_RECORD = 64 << 20
# What a tree walk looks at, at most, before it gives up (and so does the
# shortcut: the build runs).
MAX_FILES = 200_000
# Variables that change what a step or a toolchain probe does, beyond the
# allow-lists of system/environ.py.
_PREFIXES = ("RELBUILD_", "RUSTUP_", "CARGO_", "RUST", "GO", "CGO_", "ZIG_")
_PACKAGE = Path(__file__).resolve().parent.parent


def default_cache(loaded: LoadedConfig) -> Path:
    return loaded.base / ".relbuild"


def cache_of(loaded: LoadedConfig, options: BuildOptions) -> Path:
    return (options.cache or default_cache(loaded)).resolve()


def up_to_date(
    loaded: LoadedConfig, options: BuildOptions, inputs: Seen | None = None
) -> dict[str, Any] | None:
    """The last build's result (as `relbuild build --json` printed it) when
    nothing it read has changed (``inputs``: as :func:`seen` just took them)
    and ``--out`` holds exactly what it wrote; else None."""
    out = options.out.resolve()
    record = _read_record(cache_of(loaded, options) / RECORD)
    if record is None or record.get("out") != str(out):
        return None
    tools = record.get("tools")
    if not isinstance(tools, list) or not all(isinstance(t, str) for t in tools):
        return None
    current = key_of(seen(loaded, options) if inputs is None else inputs, tools)
    if current is None or current != record.get("key"):
        return None
    if record.get("files") != _digests(out):
        return None
    result = record.get("result")
    return result if isinstance(result, dict) else None


def announce(result: Mapping[str, Any], reporter: Reporter) -> None:
    """Every step of an up-to-date release (the last build's report), said
    as up to date."""
    for step in result.get("steps") or []:
        if isinstance(step, dict):
            label = f"{step.get('target')} {step.get('component')} (up to date)"
            reporter.finish(label, 0, ok=True)


def remember(
    loaded: LoadedConfig,
    options: BuildOptions,
    inputs: Seen | None,
    tools: list[str],
    result: dict[str, Any],
) -> None:
    """Record what this build read (``inputs``, taken before it started)
    and wrote, for the next one (atomically: a build stopped here leaves
    the old record or none)."""
    folder = cache_of(loaded, options)
    record = folder / RECORD
    current = key_of(inputs, tools)
    if current is None:
        record.unlink(missing_ok=True)
        return
    data = {
        "key": current,
        "out": str(options.out.resolve()),
        "tools": tools,
        "files": _digests(options.out.resolve()),
        "result": result,
    }
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(record, json.dumps(data, sort_keys=True).encode())


Seen = dict[str, Any]


def key(loaded: LoadedConfig, options: BuildOptions, tools: list[str]) -> str | None:
    """A digest of every input of a build, or None when a build with these
    options is never the same twice (run metadata in the provenance)."""
    return key_of(seen(loaded, options), tools)


def key_of(inputs: Seen | None, tools: list[str]) -> str | None:
    """The key of ``inputs`` (as :func:`seen` took them) with the toolchain
    files ``tools``."""
    if inputs is None:
        return None
    facts = {**inputs, "tools": {t: _stat(Path(t)) for t in tools}}
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


def seen(loaded: LoadedConfig, options: BuildOptions) -> Seen | None:
    """Every input of a build but its toolchain files, as they are now (a
    build takes them before it starts, so an edit made while it runs is not
    recorded as built); None when a build with these options is never the
    same twice (run metadata in the provenance)."""
    attest = options.attest
    if attest is not None and attest.run_metadata:
        return None
    cache = cache_of(loaded, options)
    out = options.out.resolve()
    source = source_of(loaded, options, environ.probe_env())
    tree = _tree(loaded.root, skip={cache, out, loaded.root / ".git"})
    if tree is None:
        return None
    signer = attest.signer if attest is not None else None
    facts: Seen = {
        "relbuild": [__version__, _tree(_PACKAGE, skip=set())],
        "config": [str(loaded.path.resolve()), hash_file(loaded.path)[0]],
        "options": {
            "targets": list(options.targets),
            "components": list(options.components),
            "offline": options.offline,
            "archive": options.archive,
            "epoch": options.source_date_epoch,
            "revision": options.source_revision,
            "dirty": options.source_dirty,
            "version": options.version,
            "previous": options.previous.model_dump() if options.previous else None,
            "cache": str(cache),
            "out": str(out),
            # The public half: a new key at the same path signs anew.
            "signer": signer.public().pem().decode() if signer is not None else None,
        },
        "env": _environment(os.environ),
        "source": source.model_dump(),
        "tree": tree,
        # MCUboot signing keys may live outside the project's tree.
        "keys": sorted(
            _sha256(loaded.base / c.mcuboot.key)
            for c in loaded.config.rust.values()
            if c.mcuboot is not None and c.mcuboot.key is not None
        ),
        "path": {d: _stat(Path(d)) for d in os.environ.get("PATH", "").split(os.pathsep) if d},
    }
    return facts


def source_of(loaded: LoadedConfig, options: BuildOptions, env: Mapping[str, str]) -> SourceInfo:
    """The source's revision, dirty flag and epoch as a build with these
    options reads them (git run with ``env``): relbuild's own cache and
    output are not the user's changes."""
    return read_source(
        loaded.root,
        env,
        options.source_date_epoch,
        os.environ,
        options.source_revision,
        options.source_dirty,
        also=(loaded.path,),
        ignore=(cache_of(loaded, options), options.out.resolve(), loaded.base / "dist"),
    )


def _environment(env: Mapping[str, str]) -> dict[str, str]:
    names = {*environ.PASS_THROUGH, "SOURCE_DATE_EPOCH"}
    return {k: v for k, v in env.items() if k in names or k.startswith(_PREFIXES)}


def _stat(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ino, st.st_mode]


def _tree(root: Path, skip: set[Path]) -> list[list[Any]] | None:
    """(path, size, mtime, mode) of every file under ``root``, in walk
    order made stable; folders a cache marks (CACHEDIR.TAG, as cargo's
    target folders) and ``skip`` are left out. None past MAX_FILES."""
    rows: list[list[Any]] = []
    for rel, st in _walk(root, {p.resolve() for p in skip}):
        rows.append([rel, st.st_size, st.st_mtime_ns, st.st_mode])
        if len(rows) > MAX_FILES:
            return None
    return rows


def _walk(root: Path, skip: set[Path]) -> Iterator[tuple[str, os.stat_result]]:
    todo = [root.resolve()]
    while todo:
        folder = todo.pop()
        if folder in skip:
            continue
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        if any(e.name == "CACHEDIR.TAG" for e in entries):
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode):
                todo.append(Path(entry.path))
            else:
                yield os.path.relpath(entry.path, root), st


def _digests(out: Path) -> dict[str, str] | None:
    """SHA-256 of every file in ``out``; None when it cannot be read."""
    found: dict[str, str] = {}
    try:
        for rel, st in _walk(out, set()):
            if not stat.S_ISREG(st.st_mode):
                return None
            found[rel] = _sha256(out / rel)
    except OSError:
        return None
    return found


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _read_record(path: Path) -> dict[str, Any] | None:
    try:
        if path.stat().st_size > MAX_RECORD:
            return None
        data = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None
