"""One module per tool: each knows how to find its pinned toolchain and,
for the builders, how to turn a component into command lines."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ResolvedTool(BaseModel):
    """A toolchain that matched its pin.

    ``paths`` are absolute paths on this machine; they are shown by doctor but
    kept out of anything that must reproduce.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    release: str
    commit: str | None = None
    found_via: str
    executable: str
    paths: dict[str, str] = {}
    details: dict[str, str] = {}


class Check(BaseModel):
    """One need of a target (or tool), as doctor reports it."""

    model_config = ConfigDict(frozen=True)

    subject: str
    need: str
    ok: bool
    detail: str = ""
    fix: str | None = None
    # Not checked because a toolchain it depends on did not resolve; the
    # tool's own row carries the problem and its fix.
    skipped: bool = False
