"""The manifest's records of the project's locked dependencies: crates
with their checksums and features, Go modules with their h1: sums. The
backends read them (backends/deps.py)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class CrateDep(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    version: str
    source: str
    checksum: str | None = None
    features: list[str] = []


class GoModuleDep(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    version: str
    sum: str | None = None  # h1: of the module zip
    gomod_sum: str | None = None  # h1: of its go.mod


class LockRecord(BaseModel):
    """A Cargo.lock relbuild made for a workspace that commits none."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sha256: str
    text: str


class Dependencies(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    rust: list[CrateDep] = []
    go: list[GoModuleDep] = []
    # Workspaces with no committed Cargo.lock, by path: the lock relbuild
    # made and built with (backends/cargo_lock.py).
    cargo_locks: dict[str, LockRecord] = {}
