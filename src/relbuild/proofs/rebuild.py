"""`relbuild verify --rebuild`: rebuild the recorded revision elsewhere and
compare bit for bit.

The revision in the manifest is exported with git into a fresh temporary
folder (another path than the original build's), built there with the
pinned toolchains, fresh build caches (cargo's target folder, Go's build
cache, zig's caches) and the recorded SOURCE_DATE_EPOCH, then every artifact
and the manifest are compared byte for byte. Only the download caches
(cargo's registry, Go's module cache) are shared: their contents are checked
against Cargo.lock and go.sum.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from pydantic import BaseModel, computed_field

from relbuild.backends import cargo_lock
from relbuild.config import LoadedConfig, load_config
from relbuild.errors import UsageError
from relbuild.pipeline.options import BuildOptions, default_jobs
from relbuild.pipeline.stages import build
from relbuild.proofs.compare import Comparison, compare_dists
from relbuild.release.dist import load_manifest, locate
from relbuild.system import environ, vcs
from relbuild.system.progress import Reporter
from relbuild.verify.findings import VerifyReport


class RebuildReport(BaseModel):
    dist: str
    revision: str
    rebuilt_in: str
    kept: bool  # False: ``rebuilt_in`` was removed once compared (no --keep)
    seconds: float
    comparison: Comparison

    @computed_field  # type: ignore[prop-decorator]
    @property
    def reproduced(self) -> bool:
        return self.comparison.identical


class VerifyRebuildReport(BaseModel):
    """What `relbuild verify --rebuild --json` prints."""

    verify: VerifyReport
    rebuild: RebuildReport

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return self.verify.ok and self.rebuild.reproduced


def rebuild(
    arg: Path,
    loaded: LoadedConfig,
    reporter: Reporter,
    *,
    keep: bool = False,
) -> RebuildReport:
    import time

    folder, manifest_path = locate(arg)
    manifest = load_manifest(manifest_path)
    source = manifest.source
    if source is None or not source.revision:
        raise UsageError(
            f"{manifest_path}: records no source revision, so there is nothing to rebuild from"
        )
    if source.dirty:
        raise UsageError(
            f"{manifest_path}: was built from a tree with uncommitted changes "
            f"(dirty at {source.revision[:12]}); a rebuild from the commit cannot reproduce it",
            hint="Commit, build again, then verify --rebuild.",
        )
    if vcs.git() is None:
        raise UsageError("verify --rebuild needs git to export the recorded revision")
    env = environ.probe_env()
    repo = vcs.toplevel(loaded.base, env)
    if repo is None:
        raise UsageError(f"{loaded.base} is not in a git checkout to export the revision from")
    if not vcs.has_commit(repo, source.revision, env):
        raise UsageError(
            f"revision {source.revision} is not in {repo}",
            hint="Fetch it first (git fetch origin <revision>).",
        )
    config_rel = loaded.path.relative_to(repo)

    work = Path(tempfile.mkdtemp(prefix="relbuild-rebuild-"))
    try:
        tree = work / "export" / "of" / manifest.project.name
        tree.parent.mkdir(parents=True)
        vcs.export(repo, source.revision, tree, env)
        archive = next((a.path for a in manifest.artifacts if a.kind == "archive"), None)
        fmt = None if archive is None else ("zip" if archive.endswith(".zip") else "tar.gz")
        options = BuildOptions(
            out=work / "dist",
            targets=[t.triple for t in manifest.targets],
            # The --component choice recorded, so the manifest says the same.
            components=manifest.components_selected,
            jobs=default_jobs(),
            archive=fmt,  # type: ignore[arg-type]
            source_date_epoch=str(source.source_date_epoch),
            cache=work / "fresh-cache",
            reuse=False,  # a proof builds, whatever a record says
        )
        # A workspace with no Cargo.lock builds with the lock the release recorded.
        cargo_lock.seed(work / "fresh-cache", manifest.dependencies.cargo_locks)
        t0 = time.monotonic()
        build(load_config(tree / config_rel), options, reporter)
        seconds = time.monotonic() - t0
        reports = (folder.parent / f".{folder.name}.rebuild-reports") if keep else None
        comparison = compare_dists(
            folder, work / "dist", report_dir=reports, hints=[str(work), str(tree)]
        )
        return RebuildReport(
            dist=str(folder),
            revision=source.revision,
            rebuilt_in=str(work),
            kept=keep,
            seconds=round(seconds, 1),
            comparison=comparison,
        )
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
