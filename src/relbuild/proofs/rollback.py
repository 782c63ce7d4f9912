"""`relbuild rollback-test PREVIOUS [CURRENT]`: can CURRENT replace the
published release PREVIOUS, and does PREVIOUS still hold up if a user rolls
back to it?

1. PREVIOUS is checked against its own manifest (every digest, the SUMS
   files, the SBOM and provenance claims; its signatures when keys are
   given); so is CURRENT.
2. CURRENT must be able to replace it: a strictly greater semantic version;
   no target or component dropped; every function and struct PREVIOUS's
   staticlibs exported still there with the same signature, unless the
   version step allows breaking changes (major, or minor in 0.x); no glibc
   floor raised; no firmware over its budget. Dependency changes are listed.
3. With ``run``, both releases' smoke tests run on this machine.

A version that is not semver is unusable input (exit 2): what "greater"
and "breaking" mean cannot be said of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel, computed_field

from relbuild.attest.keys import Verifier
from relbuild.errors import UsageError
from relbuild.proofs.diff import Change, diff_manifests
from relbuild.release import semver
from relbuild.release.dist import MANIFEST_NAME, Manifest, load_manifest
from relbuild.system.escaping import shown
from relbuild.verify.findings import VerifyReport
from relbuild.verify.folder import verify
from relbuild.verify.smoke import SmokeReport

SmokeRunner = Callable[[Path], SmokeReport]


class RollbackFinding(BaseModel):
    check: str  # "verify", "version", "target", "abi", "glibc", "budget", "smoke"
    subject: str
    detail: str


class RollbackReport(BaseModel):
    previous: str
    current: str
    previous_version: str
    current_version: str
    breaking_allowed: bool
    findings: list[RollbackFinding]
    dependency_changes: list[Change]
    abi_changes: list[Change]
    previous_check: VerifyReport
    current_check: VerifyReport
    previous_smoke: SmokeReport | None = None
    current_smoke: SmokeReport | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return not self.findings


def _dist(
    arg: Path, keys: Sequence[Verifier], threshold: int | None
) -> tuple[Manifest, VerifyReport]:
    if not arg.is_dir() or not (arg / MANIFEST_NAME).exists():
        raise UsageError(f"{shown(arg)}: not a dist folder (no {MANIFEST_NAME})")
    manifest = load_manifest(arg / MANIFEST_NAME)
    return manifest, verify(arg, keys=keys, threshold=threshold)


def _version(manifest: Manifest, where: Path) -> semver.Version:
    try:
        return semver.parse(manifest.project.version)
    except semver.SemverError as exc:
        raise UsageError(
            f"{shown(where)}: version {shown(manifest.project.version)}: {exc}; a rollback "
            "test orders releases by semver"
        ) from None


def _glibc(text: str) -> tuple[int, ...] | None:
    parts = text.split(".")
    return tuple(int(p) for p in parts) if all(p.isdigit() and len(p) < 6 for p in parts) else None


def compatibility(old: Manifest, new: Manifest, breaking_allowed: bool) -> list[RollbackFinding]:
    """What keeps ``new`` from replacing ``old`` (the version aside)."""
    found: list[RollbackFinding] = []
    new_targets = {t.triple: t for t in new.targets}
    for t in old.targets:
        now = new_targets.get(t.triple)
        if now is None:
            found.append(RollbackFinding(check="target", subject=t.triple, detail="dropped"))
            continue
        for c in sorted(set(t.components) - set(now.components)):
            found.append(
                RollbackFinding(
                    check="target", subject=f"{t.triple} {c}", detail="component dropped"
                )
            )
        was, floor = _glibc(t.glibc or ""), _glibc(now.glibc or "")
        if was is not None and floor is not None and floor > was:
            found.append(
                RollbackFinding(
                    check="glibc",
                    subject=t.triple,
                    detail=f"glibc floor raised from {t.glibc} to {now.glibc}: systems "
                    "the previous release ran on are left behind",
                )
            )
    if not breaking_allowed:
        found += _abi(old, new)
    for art in new.artifacts:
        fp = art.footprint
        if fp is None:
            continue
        for what, used, budget in (
            ("flash", fp.flash, fp.flash_budget),
            ("RAM", fp.ram, fp.ram_budget),
        ):
            if budget is not None and used > budget:
                found.append(
                    RollbackFinding(
                        check="budget",
                        subject=art.path,
                        detail=f"{what} {used} B is over its budget of {budget} B",
                    )
                )
    return found


def _abi(old: Manifest, new: Manifest) -> list[RollbackFinding]:
    found: list[RollbackFinding] = []
    now = {(r.target, r.component): {s.name: s for s in r.symbols} for r in new.abi}
    for rec in old.abi:
        where = f"{rec.component} on {rec.target}"
        symbols = now.get((rec.target, rec.component))
        if symbols is None:
            found.append(
                RollbackFinding(
                    check="abi", subject=where, detail="the staticlib's ABI is no longer recorded"
                )
            )
            continue
        for sym in rec.symbols:
            kept = symbols.get(sym.name)
            if kept is None:
                found.append(
                    RollbackFinding(
                        check="abi",
                        subject=f"{where}: {sym.name}",
                        detail=f"removed ({sym.signature}) without a breaking version step",
                    )
                )
            elif kept.sha256 != sym.sha256:
                found.append(
                    RollbackFinding(
                        check="abi",
                        subject=f"{where}: {sym.name}",
                        detail=f"changed from {sym.signature} to {kept.signature} without a "
                        "breaking version step",
                    )
                )
    return found


def rollback_test(
    previous: Path,
    current: Path,
    *,
    keys: Sequence[Verifier] = (),
    threshold: int | None = None,
    smoke: SmokeRunner | None = None,
) -> RollbackReport:
    old, old_check = _dist(previous, keys, threshold)
    new, new_check = _dist(current, (), None)
    was, now = _version(old, previous), _version(new, current)
    findings = [
        RollbackFinding(
            check="verify", subject=f"{previous}: {f.path}", detail=f"{f.kind}: {f.detail}"
        )
        for f in old_check.findings
    ] + [
        RollbackFinding(
            check="verify", subject=f"{current}: {f.path}", detail=f"{f.kind}: {f.detail}"
        )
        for f in new_check.findings
    ]
    if not now > was:
        findings.append(
            RollbackFinding(
                check="version",
                subject=str(now),
                detail=f"not greater than the previous release's {was}",
            )
        )
    breaking = now.breaking_step(was)
    findings += compatibility(old, new, breaking)
    changes = diff_manifests(old, new, str(previous), str(current)).changes
    report = RollbackReport(
        previous=str(previous),
        current=str(current),
        previous_version=str(was),
        current_version=str(now),
        breaking_allowed=breaking,
        findings=findings,
        dependency_changes=[c for c in changes if c.section.endswith("-dependency")],
        abi_changes=[c for c in changes if c.section == "abi"],
        previous_check=old_check,
        current_check=new_check,
    )
    if smoke is not None:
        report.previous_smoke, report.current_smoke = smoke(previous), smoke(current)
        for name, res in ((previous, report.previous_smoke), (current, report.current_smoke)):
            for r in res.results:
                if r.status not in ("passed", "skipped", "not-run"):
                    report.findings.append(
                        RollbackFinding(
                            check="smoke",
                            subject=f"{name}: {r.path}",
                            detail=f"{r.status} {r.reason}".strip(),
                        )
                    )
            if not any(r.status == "passed" for r in res.results):
                report.findings.append(
                    RollbackFinding(check="smoke", subject=str(name), detail="no smoke test ran")
                )
    return report
