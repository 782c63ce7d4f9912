"""The source being built: revision, dirty flag and SOURCE_DATE_EPOCH."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from relbuild.errors import ConfigError
from relbuild.system import vcs

# The largest value a 32-bit time_t holds; zip and some tar readers cannot
# go further, and no real commit is that late.
_MAX_EPOCH = 2**31 - 1


class SourceInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    vcs: str | None
    revision: str | None
    dirty: bool
    source_date_epoch: int
    tag: str | None = None


def parse_epoch(value: str, origin: str) -> int:
    """SOURCE_DATE_EPOCH is a non-negative integer count of seconds."""
    text = value.strip()
    if not re.fullmatch(r"\d{1,10}", text) or int(text) > _MAX_EPOCH:
        raise ConfigError(
            f"{origin}: SOURCE_DATE_EPOCH must be whole seconds since 1970 "
            f"(0 to {_MAX_EPOCH}), got {value!r}"
        )
    return int(text)


def read_source(
    root: Path,
    env: Mapping[str, str],
    override: str | None,
    environ: Mapping[str, str],
    revision_override: str | None = None,
    dirty_override: bool | None = None,
    also: tuple[Path, ...] = (),
    ignore: tuple[Path, ...] = (),
) -> SourceInfo:
    """Revision and dirty flag from git (or the overrides, for a tree exported
    without .git); the epoch from the override, the SOURCE_DATE_EPOCH
    variable, or the last commit's time, in that order."""
    state = vcs.tree_state(root, env, also, ignore)
    revision = state.revision if state else None
    dirty = state.dirty if state else False
    commit_time = state.commit_time if state else None
    if revision_override is not None:
        if not re.fullmatch(r"[0-9a-f]{7,64}", revision_override):
            raise ConfigError(f"--source-revision {revision_override!r}: not a commit hash")
        revision = revision_override
    if dirty_override is not None:
        dirty = dirty_override
    if override is not None:
        epoch = parse_epoch(override, "--source-date-epoch")
    elif "SOURCE_DATE_EPOCH" in environ:
        epoch = parse_epoch(environ["SOURCE_DATE_EPOCH"], "environment variable")
    elif commit_time is not None:
        epoch = commit_time
    else:
        raise ConfigError(
            f"{root} is not in a git checkout, so there is no commit time to use",
            hint="Set SOURCE_DATE_EPOCH (or pass --source-date-epoch) to the release's time.",
        )
    return SourceInfo(
        vcs="git" if revision else None,
        revision=revision,
        dirty=dirty,
        source_date_epoch=epoch,
        tag=state.tag if state and revision_override is None else None,
    )
