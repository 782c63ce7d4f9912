"""The universal stage: with ``project.universal``, each program built for
both Apple triples becomes one universal2 Mach-O file as well,
``universal2-apple-darwin/<component>-<version>-universal2-apple-darwin``,
made of the two staged programs (already normalized and checked) by
:func:`relbuild.binaries.fat.create`, the bytes `llvm-lipo -create` writes.

Its target in the manifest is ``universal2-apple-darwin``, which is not a
triple: nothing is built for it. It is recorded, summed and attested like
any artifact, after the targets' own files, and archived on its own
(``<project>-<version>-universal2-apple-darwin.tar.gz``) when archives are
made. A build of one Apple triple (``--target``, a runner of a CI matrix)
makes none, and says so; neither does a merge of parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from relbuild.binaries import fat, formats
from relbuild.config.triples import UNIVERSAL_APPLE, UNIVERSAL_SLICES
from relbuild.errors import BuildError
from relbuild.pipeline import record
from relbuild.pipeline.checks import DigestCache
from relbuild.pipeline.model import Plan, Staged
from relbuild.release.archive import ArchiveFormat
from relbuild.system import ui
from relbuild.system.fsutil import naming

_PROGRAMS = ("executable", "go-executable")


def half(plan: Plan) -> str | None:
    """What a build asked for universal files says when it covers one of
    the two Apple triples: it makes none (a warning, not an error: a CI
    runner of a matrix builds a part)."""
    built = [t for t in UNIVERSAL_SLICES if t in plan.targets]
    if not plan.universal or len(built) != 1:
        return None
    return (
        f"project.universal is on, but this build covers only {built[0]} of "
        f"{' and '.join(UNIVERSAL_SLICES)}: no {UNIVERSAL_APPLE} program is made"
    )


def skip_reason(plan: Plan) -> str | None:
    """Why no universal file is made (None: it is)."""
    if not plan.universal:
        return "project.universal is off"
    if (why := half(plan)) is not None:
        return why
    if not any(t in plan.targets for t in UNIVERSAL_SLICES):
        return "no Apple target is built"
    if not _programs(plan):
        return "no program is built for both Apple targets"
    return None


def _programs(plan: Plan) -> list[str]:
    """The components with a program step on both Apple triples, in the
    plan's order."""
    have = {(s.target, s.component) for s in plan.steps if s.kind in _PROGRAMS}
    order = dict.fromkeys(s.component for s in plan.steps)
    return [c for c in order if all((t, c) in have for t in UNIVERSAL_SLICES)]


def pairs(plan: Plan, staged: Sequence[Staged]) -> list[tuple[str, list[Staged]]]:
    """Each component with a program staged for both Apple triples, and the
    two programs (x86_64, then arm64), in the plan's order."""
    by = {(s.target, s.component): s for s in staged if s.kind == "executable"}
    out = []
    for component in _programs(plan):
        found = [by.get((t, component)) for t in UNIVERSAL_SLICES]
        if all(s is not None for s in found):
            out.append((component, [s for s in found if s is not None]))
    return out


def skip(plan: Plan) -> str | None:
    """The stage's skip: why it has nothing to do; a build asked for
    universal files that covers one Apple triple says so (a warning)."""
    warning = half(plan)
    if warning is not None:
        ui.err.print(f"warning: {warning}")
    return skip_reason(plan)


def make(
    plan: Plan,
    staged: Sequence[Staged],
    staging: Path,
    fmt: ArchiveFormat | None,
    cache: Path,
    digests: DigestCache,
) -> tuple[list[Staged], Staged | None]:
    """The universal file of each program built for both Apple triples,
    written into the staging folder and checked as `relbuild verify`
    checks it; their archive when the build makes archives."""
    made = _files(plan, staged, staging)
    if fmt is None or not made:
        return made, None
    return made, record.archive(plan, UNIVERSAL_APPLE, made, staging, fmt, cache, digests)


def _files(plan: Plan, staged: Sequence[Staged], staging: Path) -> list[Staged]:
    made: list[Staged] = []
    for component, slices in pairs(plan, staged):
        name = f"{component}-{plan.version}-{UNIVERSAL_APPLE}"
        data = fat.create([s.src.read_bytes() for s in slices], name)
        problems = formats.check_universal(data, name)
        if problems:
            raise BuildError(f"{name}: " + "; ".join(problems))
        rel = f"{UNIVERSAL_APPLE}/{name}"
        dest = staging / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        with naming(dest):
            dest.write_bytes(data)
        made.append(Staged(dest, rel, "executable", UNIVERSAL_APPLE, component, 0o755))
    return made
