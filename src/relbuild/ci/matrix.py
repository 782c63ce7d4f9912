"""`relbuild plan --matrix`: the config's targets as the entries of a CI
matrix, one entry per runner. Pure: it reads the config, nothing else, so a
plan job needs no toolchain.

Entries keep the config's target order, inside an entry and across entries,
so the parts a matrix makes merge in the order a one-machine build records.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel

from relbuild.config import LoadedConfig
from relbuild.errors import UsageError

GroupBy = Literal["none", "kind"]
Flavor = Literal["github", "gitlab"]


class MatrixEntry(BaseModel):
    name: str
    kind: Literal["hosted", "bare-metal", "mixed"]
    # Space-separated, for a shell loop: `for t in $TARGETS; do ...`.
    targets: str
    # The same as `relbuild build` arguments.
    target_args: str


def entries(
    loaded: LoadedConfig, *, per_runner: int | None = None, group_by: GroupBy = "none"
) -> list[MatrixEntry]:
    """One entry per runner: by default one per target; ``per_runner``
    targets at most in each; with ``group_by="kind"`` hosted and bare-metal
    targets never share a runner."""
    if per_runner is not None and per_runner < 1:
        raise UsageError(f"--per-runner {per_runner}: give a number of targets, 1 or more")
    targets = loaded.config.targets
    kinds = {t.triple: "bare-metal" if t.info.bare_metal else "hosted" for t in targets}
    order = [t.triple for t in targets]
    groups: list[list[str]]
    if group_by == "kind":
        groups = [
            [t for t in order if kinds[t] == kind]
            for kind in ("hosted", "bare-metal")
            if any(kinds[t] == kind for t in order)
        ]
    else:
        groups = [order]
    size = per_runner or (1 if group_by == "none" else 0)
    chunks = [chunk for g in groups for chunk in _chunks(g, size or len(g))]
    out = []
    for i, chunk in enumerate(chunks):
        chunk_kinds = {kinds[t] for t in chunk}
        kind = chunk_kinds.pop() if len(chunk_kinds) == 1 else "mixed"
        name = chunk[0] if len(chunk) == 1 else f"{kind}-{i + 1}"
        out.append(
            MatrixEntry(
                name=name,
                kind=kind,
                targets=" ".join(chunk),
                target_args=" ".join(f"--target {t}" for t in chunk),
            )
        )
    return out


def _chunks(items: Sequence[str], size: int) -> list[list[str]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def as_json(found: list[MatrixEntry], flavor: Flavor) -> object:
    """GitHub: ``{"include": [...]}`` for ``strategy.matrix: ${{ fromJSON(...) }}``;
    GitLab: the list ``parallel:matrix`` takes, one variable set per job."""
    if flavor == "github":
        return {"include": [e.model_dump() for e in found]}
    return [{"PART": e.name, "TARGETS": e.targets, "TARGET_ARGS": e.target_args} for e in found]
