"""The latest release against the one before, as a changelog: artifacts
added, removed and changed, toolchains, dependencies, ABI changes (C
functions added, removed, or with another signature), firmware footprints
and targets added or dropped. Pure: two releases in, a model out."""

from __future__ import annotations

from pydantic import BaseModel

from relbuild.release.dist import Manifest
from relbuild.series.store import Release


class Change(BaseModel):
    what: str  # "added" | "removed" | "changed"
    subject: str
    before: str = ""
    after: str = ""


class Changelog(BaseModel):
    older: str
    newer: str
    artifacts: list[Change] = []
    toolchains: list[Change] = []
    dependencies: list[Change] = []
    abi: list[Change] = []
    footprints: list[Change] = []
    targets: list[Change] = []

    @property
    def sections(self) -> list[tuple[str, list[Change]]]:
        return [
            ("Artifacts", self.artifacts),
            ("Targets", self.targets),
            ("Firmware footprints", self.footprints),
            ("ABI", self.abi),
            ("Toolchains", self.toolchains),
            ("Dependencies", self.dependencies),
        ]


def _diff(old: dict[str, str], new: dict[str, str]) -> list[Change]:
    out: list[Change] = []
    for key in sorted(old.keys() | new.keys()):
        a, b = old.get(key), new.get(key)
        if a is None:
            out.append(Change(what="added", subject=key, after=b or ""))
        elif b is None:
            out.append(Change(what="removed", subject=key, before=a))
        elif a != b:
            out.append(Change(what="changed", subject=key, before=a, after=b))
    return out


def _artifacts(m: Manifest) -> dict[str, str]:
    v = m.project.version
    return {
        a.path.replace(v, "{version}"): f"{a.size:,} B, sha256 {a.sha256[:12]}" for a in m.artifacts
    }


def _footprints(m: Manifest) -> dict[str, str]:
    v = m.project.version
    out = {}
    for a in m.artifacts:
        f = a.footprint
        if f is not None:
            budget = f" (budget {f.flash_budget:,} B)" if f.flash_budget else ""
            ram = f" (budget {f.ram_budget:,} B)" if f.ram_budget else ""
            out[a.path.replace(v, "{version}")] = (
                f"flash {f.flash:,} B{budget}, RAM {f.ram:,} B{ram}"
            )
    return out


def _abi(m: Manifest) -> dict[str, str]:
    """Each exported function (and struct) of each staticlib, by target."""
    return {f"{r.target} {r.component}: {s.name}": s.signature for r in m.abi for s in r.symbols}


def _deps(m: Manifest) -> dict[str, str]:
    crates = {f"crate {c.name} ({c.source})": c.version for c in m.dependencies.rust}
    mods = {f"Go module {g.path}": g.version for g in m.dependencies.go}
    return crates | mods


def changelog(older: Release, newer: Release) -> Changelog:
    a, b = older.manifest, newer.manifest
    return Changelog(
        older=older.version,
        newer=newer.version,
        artifacts=_diff(_artifacts(a), _artifacts(b)),
        toolchains=_diff(
            {k: t.release for k, t in a.toolchains.items()},
            {k: t.release for k, t in b.toolchains.items()},
        ),
        dependencies=_diff(_deps(a), _deps(b)),
        abi=_diff(_abi(a), _abi(b)),
        footprints=_diff(_footprints(a), _footprints(b)),
        targets=_diff(
            {t.triple: ", ".join(t.components) for t in a.targets},
            {t.triple: ", ".join(t.components) for t in b.targets},
        ),
    )
