"""The libraries committed where the sources link them, checked against the
ones built from source (the release links the latter; binaries/prebuilt.py
compares), and the warnings a build owes about what it did for the tree:
a Cargo.lock it had to make, a committed library that is not its source's."""

from __future__ import annotations

import hashlib
from pathlib import Path

from relbuild.binaries.prebuilt import differing_members
from relbuild.pipeline.model import Plan
from relbuild.release.dist import PrebuiltRecord
from relbuild.system import ui
from relbuild.system.escaping import shown

SHOWN = 4  # differences in the warning; the manifest keeps more


def _producer(plan: Plan, triple: str, host: str) -> str:
    for s in plan.steps_for(triple):
        if host in (s.output, s.header) or (s.handoff and host.startswith(s.handoff + "/")):
            return s.component
    return "?"


def check(plan: Plan) -> list[PrebuiltRecord]:
    """One record per committed file a step was given a fresh copy of."""
    root = Path(plan.root)
    records: dict[tuple[str, str], PrebuiltRecord] = {}
    for step in plan.steps:
        for rel, host in sorted(step.place.items()):
            committed = root / rel
            if (rel, step.target) in records or not committed.is_file():
                continue
            if rel.endswith(".h"):
                continue  # a header cgo writes is compared with the archive it goes with
            old, new = committed.read_bytes(), Path(host).read_bytes()
            same = old == new
            records[(rel, step.target)] = PrebuiltRecord(
                path=rel,
                component=_producer(plan, step.target, host),
                target=step.target,
                why=step.place_why.get(rel, ""),
                matches=same,
                sha256_committed=hashlib.sha256(old).hexdigest(),
                sha256_built=hashlib.sha256(new).hexdigest(),
                differences=[] if same else differing_members(old, new),
            )
    return [records[k] for k in sorted(records)]


def warn(plan: Plan, records: list[PrebuiltRecord]) -> None:
    for rel, lock in plan.dependencies.cargo_locks.items():
        ui.err.print(
            f"warning: {shown(rel)} has no Cargo.lock: relbuild locked it once "
            f"(sha256 {lock.sha256[:16]}…), built with that lock and recorded it in the "
            "manifest; commit a Cargo.lock to choose the versions yourself"
        )
    for r in records:
        if r.matches:
            ui.err.print(
                f"prebuilt: {shown(r.path)} ({r.target}) is the same bytes as "
                f"{shown(r.component)} built from source"
            )
            continue
        ui.err.print(
            f"warning: {shown(r.path)} committed to the tree is NOT what its source "
            f"builds ({shown(r.component)}, {r.target}; named by {shown(r.why)}); the release "
            f"links the one built from source. Differences: "
            + "; ".join(shown(d) for d in r.differences[:SHOWN])
            + (
                f"; … (the manifest lists {len(r.differences)})"
                if len(r.differences) > SHOWN
                else ""
            )
        )
