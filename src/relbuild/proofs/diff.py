"""`relbuild diff OLD NEW`: what changed between two releases.

A side given as a dist folder is first checked against its own manifest
(relbuild.verify.folder): two folders whose manifests agree are the same release
only when each folder holds what its manifest says, since a published
binary can be swapped without touching its manifest. A side given as a
manifest file is compared as a manifest only, and the report says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, computed_field

from relbuild.errors import UsageError
from relbuild.release.dist import (
    MANIFEST_NAME,
    ArtifactRecord,
    Manifest,
    ToolRecord,
    duplicates,
    load_manifest,
)
from relbuild.release.pairing import pair_renamed
from relbuild.system.escaping import shown
from relbuild.verify.findings import VerifyReport
from relbuild.verify.folder import verify
from relbuild.verify.size import crate_growth, size_files, symbol_growth

# Symbols named per firmware in a diff: those whose size changed most.
SIZE_SYMBOLS = 10


class Change(BaseModel):
    section: Literal[
        "artifact",
        "toolchain",
        "rust-dependency",
        "go-dependency",
        "project",
        "source",
        "abi",
        "size",
    ]
    change: Literal["added", "removed", "changed"]
    name: str
    old: str | None = None
    new: str | None = None


class DiffReport(BaseModel):
    old: str
    new: str
    changes: list[Change]
    # Each folder's files against its own manifest; None for a side given as
    # a manifest file, compared as a manifest only.
    old_check: VerifyReport | None = None
    new_check: VerifyReport | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def same(self) -> bool:
        return not self.changes and all(c is None or c.ok for c in self.checks)

    @property
    def checks(self) -> tuple[VerifyReport | None, VerifyReport | None]:
        return self.old_check, self.new_check

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return self.same


def load_side(arg: Path, jobs: int | None = None) -> tuple[Manifest, VerifyReport | None]:
    """A manifest file (compared alone), or a dist folder: its manifest and
    the check of its files against it."""
    if not arg.is_dir():
        return load_manifest(arg), None
    if not (arg / MANIFEST_NAME).exists():
        raise UsageError(
            f"{shown(arg)}: not a dist folder (no {MANIFEST_NAME}); "
            f"`relbuild manifest DIR` writes one for files built elsewhere"
        )
    manifest = load_manifest(arg / MANIFEST_NAME)
    return manifest, verify(arg, jobs=jobs)


def _artifact_key(a: ArtifactRecord) -> tuple[str | None, str | None, str] | None:
    # Names carry the version, so a release's binary is found by what it is.
    return (a.target, a.component, a.kind) if a.component or a.target else None


def _describe(a: ArtifactRecord, with_path: bool = True) -> str:
    facts = f"{a.size} B, {a.mode}, sha256 {a.sha256[:16]}"
    return f"{a.path} ({facts})" if with_path else facts


def diff_manifests(old: Manifest, new: Manifest, old_name: str, new_name: str) -> DiffReport:
    for manifest, name in ((old, old_name), (new, new_name)):
        for i, j, path in duplicates(manifest.artifacts)[:1]:
            # Which of the two entries is the release? Neither answer is safe.
            raise UsageError(
                f"{name}: artifacts[{i}].path {path!r} is listed twice (first as "
                f"artifacts[{j}]); such a manifest does not describe one release"
            )
    changes: list[Change] = []
    if old.project != new.project:
        was, now = (f"{m.project.name} {m.project.version}" for m in (old, new))
        changes.append(
            Change(section="project", change="changed", name="project", old=was, new=now)
        )
    if old.source and new.source and old.source != new.source:
        was, now = (f"{s.revision} dirty={s.dirty}" for s in (old.source, new.source))
        changes.append(Change(section="source", change="changed", name="source", old=was, new=now))
    changes += _artifacts(old.artifacts, new.artifacts)
    for tool in sorted(set(old.toolchains) | set(new.toolchains)):
        a, b = old.toolchains.get(tool), new.toolchains.get(tool)
        if a is None or b is None or (a.release, a.commit) != (b.release, b.commit):
            changes.append(
                Change(
                    section="toolchain",
                    change="added" if a is None else "removed" if b is None else "changed",
                    name=tool,
                    old=_tool(a),
                    new=_tool(b),
                )
            )
    old_crates = {(d.name, d.source): d for d in old.dependencies.rust}
    new_crates = {(d.name, d.source): d for d in new.dependencies.rust}
    changes += _deps(
        "rust-dependency",
        {
            f"{n} ({s})": f"{d.version} {d.checksum or ''}".strip()
            for (n, s), d in old_crates.items()
        },
        {
            f"{n} ({s})": f"{d.version} {d.checksum or ''}".strip()
            for (n, s), d in new_crates.items()
        },
    )
    changes += _deps(
        "go-dependency",
        {m.path: f"{m.version} {m.sum or ''}".strip() for m in old.dependencies.go},
        {m.path: f"{m.version} {m.sum or ''}".strip() for m in new.dependencies.go},
    )
    changes += _abi(old, new)
    return DiffReport(old=old_name, new=new_name, changes=changes)


def _abi(old: Manifest, new: Manifest) -> list[Change]:
    """Functions and structs at the C boundary that came, went or changed
    signature, per staticlib and target (docs/abi.md). A release without
    ABI records (an older relbuild, or no cgo) is not compared."""
    if not old.abi or not new.abi:
        return []

    def table(m: Manifest) -> dict[str, str]:
        return {f"{r.component} {r.target} {s.name}": s.signature for r in m.abi for s in r.symbols}

    out: list[Change] = []
    a, b = table(old), table(new)
    for name in sorted(set(a) | set(b)):
        if a.get(name) != b.get(name):
            kind: Literal["added", "removed", "changed"] = (
                "added" if name not in a else "removed" if name not in b else "changed"
            )
            out.append(
                Change(section="abi", change=kind, name=name, old=a.get(name), new=b.get(name))
            )
    return out


def _tool(t: ToolRecord | None) -> str | None:
    return f"{t.release} ({(t.commit or '-')[:9]})" if t else None


def _artifacts(old: list[ArtifactRecord], new: list[ArtifactRecord]) -> list[Change]:
    changes: list[Change] = []
    old_by_path = {a.path: a for a in old}
    new_by_path = {a.path: a for a in new}
    # Pair renamed artifacts (a version bump renames every file) by what they are.
    paired, gone, came = pair_renamed(
        [a for a in old if a.path not in new_by_path],
        [a for a in new if a.path not in old_by_path],
        _artifact_key,
    )
    for path in sorted(set(old_by_path) & set(new_by_path)):
        a, b = old_by_path[path], new_by_path[path]
        if (a.sha256, a.sha512, a.size, a.mode, a.kind, a.target) != (
            b.sha256,
            b.sha512,
            b.size,
            b.mode,
            b.kind,
            b.target,
        ):
            changes.append(
                Change(
                    section="artifact",
                    change="changed",
                    name=path,
                    old=_describe(a, False),
                    new=_describe(b, False),
                )
            )
    for a, b in paired:
        if (a.sha256, a.mode) != (b.sha256, b.mode) or a.path != b.path:
            changes.append(
                Change(
                    section="artifact",
                    change="changed",
                    name=b.path,
                    old=_describe(a),
                    new=_describe(b),
                )
            )
    changes += [
        Change(section="artifact", change="removed", name=a.path, old=_describe(a))
        for a in sorted(gone, key=lambda a: a.path)
    ]
    changes += [
        Change(section="artifact", change="added", name=a.path, new=_describe(a))
        for a in sorted(came, key=lambda a: a.path)
    ]
    return changes


def _deps(
    section: Literal["rust-dependency", "go-dependency"], old: dict[str, str], new: dict[str, str]
) -> list[Change]:
    out: list[Change] = []
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name), new.get(name)
        if a != b:
            kind: Literal["added", "removed", "changed"] = (
                "added" if a is None else "removed" if b is None else "changed"
            )
            out.append(Change(section=section, change=kind, name=name, old=a, new=b))
    return out


def diff(old: Path, new: Path, jobs: int | None = None) -> DiffReport:
    (old_manifest, old_check), (new_manifest, new_check) = (
        load_side(old, jobs),
        load_side(new, jobs),
    )
    report = diff_manifests(old_manifest, new_manifest, str(old), str(new))
    changes = report.changes
    if old.is_dir() and new.is_dir():
        changes = [*changes, *_sizes(old, old_manifest, new, new_manifest)]
    return report.model_copy(
        update={"changes": changes, "old_check": old_check, "new_check": new_check}
    )


def _sizes(old: Path, old_manifest: Manifest, new: Path, new_manifest: Manifest) -> list[Change]:
    """Flash per crate and the symbols that changed most, per firmware with
    a size file on both sides: a jump names the function behind it."""
    before, after = size_files(old, old_manifest), size_files(new, new_manifest)
    out: list[Change] = []
    for key in sorted(set(before) & set(after)):
        where = " ".join(key)
        for row in crate_growth(before[key], after[key]):
            out.append(_size_change(f"{where} crate {row.name}", row.old or 0, row.size))
        for sym in symbol_growth(before[key], after[key])[:SIZE_SYMBOLS]:
            out.append(_size_change(f"{where} {sym.crate} {sym.name}", sym.old or 0, sym.size))
    return out


def _size_change(name: str, old: int, new: int) -> Change:
    kind: Literal["added", "removed", "changed"] = (
        "added" if not old else "removed" if not new else "changed"
    )
    return Change(
        section="size", change=kind, name=name, old=f"{old} B", new=f"{new} B ({new - old:+d})"
    )
