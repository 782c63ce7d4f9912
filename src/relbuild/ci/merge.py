"""`relbuild merge`: the parts of a release built on several runners, made
into the one dist a single machine would have written for the same targets.

A part is untrusted input (it came back from a CI runner as an upload): each
is verified against its own manifest first (digests, SUMS, safe paths, no
extra files), then the parts are checked against each other (one revision,
dirty flag, epoch, config, sandbox, generator and toolchains; no target or
path claimed twice). The merged manifest is built from the parts' records in
the config's target order, the order `relbuild build` records them in, and
written with the same functions a build uses, so the bytes are the same.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, computed_field

from relbuild.attest import PROVENANCE_NAME, SBOM_NAME
from relbuild.attest.claims import claims
from relbuild.attest.contents import Contents
from relbuild.attest.provenance import ConfigRef
from relbuild.attest.readback import ReadbackError, config_from_statement, contents_from_sbom
from relbuild.attest.write import write_documents
from relbuild.config.triples import UNIVERSAL_APPLE, UNIVERSAL_SLICES
from relbuild.errors import UsageError
from relbuild.pipeline import output
from relbuild.release.deps import CrateDep, Dependencies, GoModuleDep
from relbuild.release.dist import (
    MANIFEST_NAME,
    ArtifactRecord,
    Manifest,
    StepRecord,
    ToolRecord,
    WaiverRecord,
    hash_file,
    load_manifest,
    locate,
    write_manifest,
)
from relbuild.release.safefs import read_regular
from relbuild.system import fsutil, signals
from relbuild.verify.attestations import MAX_BYTES
from relbuild.verify.folder import verify


class MergeReport(BaseModel):
    out: str
    manifest: str
    parts: list[str]
    targets: list[str]
    missing: list[str]
    artifacts: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def partial(self) -> bool:
        return bool(self.missing)


# Fields every part must agree on, with the name a message gives each.
_SAME: tuple[tuple[str, str], ...] = (
    ("source.revision", "source revision"),
    ("source.dirty", "dirty flag"),
    ("source.source_date_epoch", "SOURCE_DATE_EPOCH"),
    ("source.vcs", "version control"),
    ("source.tag", "release tag"),
    ("source", "source record"),
    ("config_digest", "config digest"),
    ("targets_of_config", "targets of the config"),
    ("components_selected", "components chosen with --component"),
    ("project", "project name and version"),
    ("generator", "relbuild release"),
    ("sandbox", "sandbox"),
)


def _field(manifest: Manifest, dotted: str) -> object:
    value: object = manifest
    for name in dotted.split("."):
        value = getattr(value, name, None)
    return value


def load_parts(parts: Sequence[Path], jobs: int | None = None) -> list[tuple[Path, Manifest]]:
    """Each part verified on its own, then its manifest; a part that fails is
    refused with its first findings."""

    if not parts:
        raise UsageError("merge needs at least one part")
    loaded: list[tuple[Path, Manifest]] = []
    seen: dict[Path, Path] = {}
    for arg in parts:
        folder, manifest_path = locate(arg)
        key = folder.resolve()
        if key in seen:
            raise UsageError(f"part {arg}: given twice (also as {seen[key]})")
        seen[key] = arg
        report = verify(arg, jobs=jobs)
        if not report.ok:
            shown = "; ".join(f"{f.path}: {f.kind}: {f.detail}" for f in report.findings[:5])
            more = f" (and {len(report.findings) - 5} more)" if len(report.findings) > 5 else ""
            raise UsageError(
                f"part {arg}: does not match its manifest: {shown}{more}",
                hint="A part is used only as its runner wrote it; rebuild or re-download it.",
            )
        loaded.append((folder, load_manifest(manifest_path)))
    return loaded


def check_parts(parts: Sequence[tuple[Path, Manifest]]) -> None:
    """Refuse parts that were not built from one source, config and set of
    toolchains, or that claim a target or a path twice."""
    first_folder, first = parts[0]
    for folder, m in parts:
        if m.config_digest is None or not m.targets_of_config:
            raise UsageError(
                f"part {folder}: {MANIFEST_NAME} has no config_digest or targets_of_config; "
                "it was written by a relbuild that cannot make parts of a release"
            )
        if m.source is None:
            raise UsageError(f"part {folder}: {MANIFEST_NAME} records no source")
        for dotted, label in _SAME:
            mine, theirs = _field(m, dotted), _field(first, dotted)
            if mine != theirs:
                raise UsageError(
                    f"part {folder}: {dotted} ({label}) is {_show(mine)}, but part "
                    f"{first_folder} has {_show(theirs)}; parts of one release must agree"
                )
        for t in m.targets:
            if t.triple not in m.targets_of_config:
                raise UsageError(
                    f"part {folder}: targets: {t.triple} is not a target of its config"
                )
        claimed = {t.triple for t in m.targets}
        if claimed.issuperset(UNIVERSAL_SLICES):
            claimed.add(UNIVERSAL_APPLE)  # made of the two, on the runner that built both
        for a in m.artifacts:
            if a.target is not None and a.target not in claimed:
                raise UsageError(
                    f"part {folder}: artifacts: {a.path} is for target {a.target}, "
                    "which this part does not claim"
                )
        for s in m.steps:
            if s.target not in claimed:
                raise UsageError(
                    f"part {folder}: steps: a step for {s.target}, which this part does not claim"
                )
    tools: dict[str, tuple[Path, ToolRecord]] = {}
    targets: dict[str, Path] = {}
    paths: dict[str, Path] = {}
    for folder, m in parts:
        for name, tool in sorted(m.toolchains.items()):
            if name in tools and tools[name][1] != tool:
                other = tools[name][0]
                raise UsageError(
                    f"part {folder}: toolchains.{name} is {_show(tool.model_dump())}, but part "
                    f"{other} has {_show(tools[name][1].model_dump())}; parts of one release "
                    "must use the same toolchains"
                )
            tools.setdefault(name, (folder, tool))
        for t in m.targets:
            if t.triple in targets:
                raise UsageError(
                    f"part {folder}: targets: {t.triple} is also claimed by part "
                    f"{targets[t.triple]}; each target belongs to one part"
                )
            targets[t.triple] = folder
        for a in m.artifacts:
            if a.path in paths:
                raise UsageError(
                    f"part {folder}: artifacts: {a.path} is also in part {paths[a.path]}; "
                    "each path belongs to one part"
                )
            paths[a.path] = folder


def merged_manifest(parts: Sequence[tuple[Path, Manifest]]) -> tuple[Manifest, list[str]]:
    """The manifest a one-machine build of the parts' targets records, and
    the config's targets no part covers."""
    first = parts[0][1]
    order = first.targets_of_config
    owner = {t.triple: (folder, m) for folder, m in parts for t in m.targets}
    covered = [t for t in order if t in owner]
    missing = [t for t in order if t not in owner]

    def part_of(triple: str) -> Manifest:
        return owner[triple][1]

    # A build records each target's files in target order, then the archives.
    files: list[ArtifactRecord] = []
    archives: list[ArtifactRecord] = []
    steps: list[StepRecord] = []
    for triple in covered:
        m = part_of(triple)
        files += [_settled(a) for a in m.artifacts if a.target == triple and a.kind != "archive"]
        archives += [_settled(a) for a in m.artifacts if a.target == triple and a.kind == "archive"]
        steps += [s for s in m.steps if s.target == triple]
    # Universal macOS files come after the targets' files, and their archive
    # last, as a build records them; only a part that built both Apple
    # triples has any (a merge makes none of two parts' slices).
    for _, m in parts:
        made = [_settled(a) for a in m.artifacts if a.target == UNIVERSAL_APPLE]
        files += [a for a in made if a.kind != "archive"]
        archives += [a for a in made if a.kind == "archive"]
    untargeted = [a for _, m in parts for a in m.artifacts if a.target is None]
    if untargeted:
        raise UsageError(
            f"artifacts: {untargeted[0].path} belongs to no target; a build records none such, "
            "so a merge cannot place it"
        )
    toolchains: dict[str, ToolRecord] = {}
    for _, m in parts:
        toolchains.update(m.toolchains)
    waivers: dict[tuple[str, str], WaiverRecord] = {}
    for _, m in parts:
        for w in m.waivers:
            waivers.setdefault((w.component, w.check), w)
    manifest = Manifest(
        generator=first.generator,
        project=first.project,
        source=first.source,
        toolchains=dict(sorted(toolchains.items())),
        sandbox=first.sandbox,
        waivers=[waivers[c] for c in sorted(waivers)],
        config_digest=first.config_digest,
        targets_of_config=list(order),
        partial=bool(missing),
        components_selected=first.components_selected,
        targets=[t for triple in covered for t in part_of(triple).targets if t.triple == triple],
        steps=steps,
        artifacts=files + archives,
        dependencies=_dependencies(parts),
        abi=[r for triple in covered for r in part_of(triple).abi if r.target == triple],
    )
    return manifest, missing


def _settled(art: ArtifactRecord) -> ArtifactRecord:
    """The record with the mode a build gives its kind: a part's own modes
    (0777, setuid) are not carried into the release."""
    return art.model_copy(update={"mode": "0755" if art.kind == "executable" else "0644"})


def _dependencies(parts: Sequence[tuple[Path, Manifest]]) -> Dependencies:
    """The union a build of all the parts' components records: each backend
    lists its locked dependencies sorted by key, each once."""
    crates: dict[tuple[str, str, str], tuple[Path, CrateDep]] = {}
    mods: dict[tuple[str, str], tuple[Path, GoModuleDep]] = {}
    for folder, m in parts:
        for d in m.dependencies.rust:
            _same_dep(crates.setdefault((d.name, d.version, d.source), (folder, d)), folder, d)
        for g in m.dependencies.go:
            _same_dep(mods.setdefault((g.path, g.version), (folder, g)), folder, g)
    return Dependencies(
        rust=[crates[k][1] for k in sorted(crates)], go=[mods[k][1] for k in sorted(mods)]
    )


def _same_dep(
    kept: tuple[Path, CrateDep | GoModuleDep], folder: Path, dep: CrateDep | GoModuleDep
) -> None:
    if kept[1] != dep:
        raise UsageError(
            f"part {folder}: dependencies: {_show(dep.model_dump())} differs from part "
            f"{kept[0]}'s {_show(kept[1].model_dump())}"
        )


def merge(
    parts: Sequence[Path], out: Path, *, allow_partial: bool = False, jobs: int | None = None
) -> MergeReport:
    loaded = load_parts(parts, jobs)
    check_parts(loaded)
    manifest, missing = merged_manifest(loaded)
    if missing and not allow_partial:
        raise UsageError(
            f"parts {', '.join(str(p) for p in parts)}: targets_of_config: no part covers "
            f"{', '.join(missing)}",
            hint="Merge every runner's part, or pass --allow-partial for a release "
            "without those targets.",
        )
    out = out.resolve()
    _check_out(out, [folder for folder, _ in loaded])
    output.check_out(out)
    where = {a.path: folder for folder, m in loaded for a in m.artifacts}
    epoch = manifest.source.source_date_epoch if manifest.source else 0
    # SIGTERM raises here, so the staging copy is removed on the way out.
    with signals.guarded(), output.staging_for(out) as staging:
        for art in manifest.artifacts:
            dest = staging / art.path
            dest.parent.mkdir(parents=True, exist_ok=True)
            _copy_regular(where[art.path] / art.path, dest)
            # The part was verified, but it is not ours: check what was copied.
            sha256, sha512, _, _ = hash_file(dest)
            if (sha256, sha512) != (art.sha256, art.sha512):
                raise UsageError(
                    f"part {where[art.path]}: artifacts: {art.path} changed while it was merged"
                )
            dest.chmod(int(art.mode, 8))
        write_manifest(staging, manifest)
        _attest(staging, manifest, loaded)
        output.settle_times(staging, epoch)
        output.swap_into_place(staging, out)
    return MergeReport(
        out=str(out),
        manifest=str(out / MANIFEST_NAME),
        parts=[str(p) for p in parts],
        targets=[t.triple for t in manifest.targets],
        missing=missing,
        artifacts=len(manifest.artifacts),
    )


def _check_out(out: Path, parts: Sequence[Path]) -> None:
    """``out`` (resolved) is replaced as a whole: it may not be a part, hold
    one, or lie inside one."""
    for folder in parts:
        part = folder.resolve()
        if part == out:
            raise UsageError(f"--out {out} is one of the parts; merge into a new folder")
        if out in part.parents:
            raise UsageError(
                f"--out {out} holds part {folder}, which replacing it would delete; "
                "merge into a folder outside the parts"
            )
        if part in out.parents:
            raise UsageError(
                f"--out {out} lies inside part {folder}, which would then hold a file its "
                "manifest does not list; merge into a folder outside the parts"
            )


def _attest(staging: Path, manifest: Manifest, parts: Sequence[tuple[Path, Manifest]]) -> None:
    """The merged release's SBOM and provenance, written from the merged
    manifest by the functions a build uses, so the bytes are the same.

    Only what the manifest does not record is read from a part, whose own
    SBOM and provenance verify held against its manifest: what each of its
    artifacts contains (each package one of the manifest's locked
    dependencies, with its digest) and the config file's name (the same in
    every part). Everything else (config digest, source, toolchains,
    builder) is the merged manifest's; what was written is checked against
    it again. A part's signatures sign that part only: sign the merged
    release again."""
    have = [(folder / SBOM_NAME).is_file() for folder, _ in parts]
    if not any(have):
        return  # parts from a relbuild that wrote none
    contents: dict[str, Contents] = {}
    names: dict[str, Path] = {}
    for (folder, m), present in zip(parts, have, strict=True):
        if not present:
            raise UsageError(f"part {folder}: {SBOM_NAME} is missing while other parts have one")
        try:
            theirs = contents_from_sbom(read_regular(folder / SBOM_NAME, MAX_BYTES))
            ref = config_from_statement(read_regular(folder / PROVENANCE_NAME, MAX_BYTES))
        except ReadbackError as exc:
            raise UsageError(f"part {folder}: {exc}") from None
        except OSError as exc:
            raise UsageError(f"part {folder}: cannot read its attestations: {exc}") from None
        first = next(iter(names), None)
        if ref is not None and first is not None and ref.name != first:
            raise UsageError(
                f"part {folder}: {PROVENANCE_NAME} names the config {_show(ref.name)}, part "
                f"{names[first]} {_show(first)}; parts of one release must agree"
            )
        if ref is not None:
            names.setdefault(ref.name, folder)
        contents.update({a.path: theirs[a.path] for a in m.artifacts if a.path in theirs})
    config = None
    if manifest.config_digest is not None and names:
        config = ConfigRef(next(iter(names)), manifest.config_digest)
    write_documents(staging, manifest, contents, config)
    wrong = claims(
        manifest,
        (staging / PROVENANCE_NAME).read_bytes(),
        (staging / SBOM_NAME).read_bytes(),
    )
    if wrong:
        shown = "; ".join(f"{c.file}: {c.field}: {c.detail}" for c in wrong[:5])
        raise UsageError(f"the parts' attestations do not agree with the merged manifest: {shown}")


def _copy_regular(src: Path, dest: Path) -> None:
    """Copy a file that must still be the regular file verify saw: a link
    put in its place since is refused, not followed."""
    try:
        fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise UsageError(f"part {src}: cannot open: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as fin:
        if not stat.S_ISREG(os.fstat(fin.fileno()).st_mode):
            raise UsageError(f"part {src}: not a regular file any more")
        with fsutil.naming(dest), dest.open("wb") as fout:
            shutil.copyfileobj(fin, fout, 1 << 20)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."
