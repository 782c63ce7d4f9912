"""A crate whose Cargo.lock is not committed: locked once, by relbuild.

relbuild never builds a crate unlocked. Where a workspace has no Cargo.lock
(many repositories git-ignore it), the first build resolves one with
`cargo generate-lockfile` into relbuild's cache, never into the tree, and
every later cargo command of that workspace (metadata, tree, build, test)
uses it through cargo's ``resolver.lockfile-path`` setting (an unstable
cargo feature, enabled for exactly those commands). The build warns, the
manifest records the lock's text and digest (so does the provenance, through
the manifest), and `verify --rebuild` seeds its fresh cache with the
recorded lock, so a rebuild resolves the same versions. Committing a
Cargo.lock ends all of this.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path

from relbuild.errors import CommandError, ConfigError
from relbuild.release.deps import LockRecord
from relbuild.system import proc
from relbuild.system.fsutil import atomic_write


def slug(rel: str) -> str:
    """A folder name for a workspace path ('lib/hello' -> 'lib--hello'),
    never '.' or '..' (a path a manifest recorded names no folder above)."""
    name = re.sub(r"[^A-Za-z0-9._-]", "-", (rel.strip("/") or ".").replace("/", "--"))
    return name if name.strip(".") else f"root{len(name)}"


def generated_path(cache: Path, rel: str) -> Path:
    return cache / "locks" / slug(rel) / "Cargo.lock"


def lock_file(root: Path, rel: str, cache: Path | None) -> Path:
    """The Cargo.lock cargo uses for the workspace at ``rel``: the committed
    one, or relbuild's in the cache."""
    committed = root / rel / "Cargo.lock"
    if committed.is_file() or cache is None:
        return committed
    return generated_path(cache, rel)


def lock_env(root: Path, rel: str, cache: Path | None) -> dict[str, str]:
    """What makes cargo use relbuild's lock for a workspace with none (else {})."""
    lock = lock_file(root, rel, cache)
    return {} if lock == root / rel / "Cargo.lock" else use(lock)


def use(lock: Path) -> dict[str, str]:
    """The variables that make cargo read and keep ``lock`` as the
    workspace's Cargo.lock."""
    return {
        "RUSTC_BOOTSTRAP": "1",
        "CARGO_UNSTABLE_LOCKFILE_PATH": "true",
        "CARGO_RESOLVER_LOCKFILE_PATH": str(lock),
    }


def ensure(
    cargo: str, root: Path, rel: str, cache: Path, env: Mapping[str, str], offline: bool
) -> LockRecord | None:
    """The lock relbuild made for a workspace with no Cargo.lock (made now
    when there is none yet), or None when the tree has its own."""
    extra = lock_env(root, rel, cache)
    if not extra:
        return None
    lock = Path(extra["CARGO_RESOLVER_LOCKFILE_PATH"])
    if not lock.is_file():
        lock.parent.mkdir(parents=True, exist_ok=True)
        argv = [cargo, "generate-lockfile", *(["--offline"] if offline else [])]
        try:
            proc.run(argv, env={**env, **extra}, cwd=root / rel, timeout=600)
        except CommandError as exc:
            raise ConfigError(
                f"{root / rel}: no Cargo.lock, and `cargo generate-lockfile` failed:\n"
                f"{exc.output_tail}",
                hint="Commit a Cargo.lock (run `cargo generate-lockfile` there).",
            ) from None
    text = lock.read_text(encoding="utf-8")
    return LockRecord(text=text, sha256=hashlib.sha256(text.encode()).hexdigest())


def seed(cache: Path, locks: Mapping[str, LockRecord]) -> None:
    """Put the locks a release recorded where a build with ``cache`` uses them."""
    for rel, record in locks.items():
        atomic_write(generated_path(cache, rel), record.text.encode())
