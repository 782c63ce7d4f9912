"""`relbuild size`: firmware footprint per section, like `cargo size`, with
growth against a previous manifest and the budgets."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, RootModel

from relbuild.binaries import firmware
from relbuild.binaries.elfcheck import ELF_ERRORS
from relbuild.release.dist import Manifest, load_manifest, locate
from relbuild.release.safefs import safe_relpath


class SectionRow(BaseModel):
    name: str
    size: int
    old: int | None = None


class SizeEntry(BaseModel):
    path: str
    target: str | None
    component: str | None
    flash: int
    ram: int
    flash_budget: int | None = None
    ram_budget: int | None = None
    old_flash: int | None = None
    old_ram: int | None = None
    sections: list[SectionRow]


class SizeReport(RootModel[list[SizeEntry]]):
    """What `relbuild size --json` prints: one entry per firmware."""


def _key(target: str | None, component: str | None, path: str) -> tuple[str, str]:
    return (target or "", component or Path(path).name)


def size(arg: Path, compare: Path | None = None) -> SizeReport:
    folder, manifest_path = locate(arg)
    manifest = load_manifest(manifest_path)
    old: Manifest | None = None
    if compare is not None:
        old = load_manifest(locate(compare)[1])
    old_prints = {
        _key(a.target, a.component, a.path): a.footprint
        for a in (old.artifacts if old else [])
        if a.footprint is not None
    }
    out: list[SizeEntry] = []
    for art in manifest.artifacts:
        if art.kind != "firmware":
            continue
        fp = art.footprint
        path = folder / art.path
        if fp is None and safe_relpath(art.path) is None and not path.is_symlink():
            try:
                fp = firmware.footprint(path.read_bytes()) if path.is_file() else None
            except ELF_ERRORS:
                fp = None
        if fp is None:
            continue
        before = old_prints.get(_key(art.target, art.component, art.path))
        out.append(
            SizeEntry(
                path=art.path,
                target=art.target,
                component=art.component,
                flash=fp.flash,
                ram=fp.ram,
                flash_budget=fp.flash_budget,
                ram_budget=fp.ram_budget,
                old_flash=before.flash if before else None,
                old_ram=before.ram if before else None,
                sections=[
                    SectionRow(name=n, size=s, old=(before.sections.get(n, 0) if before else None))
                    for n, s in fp.sections.items()
                ]
                + (
                    [
                        SectionRow(name=n, size=0, old=s)
                        for n, s in before.sections.items()
                        if n not in fp.sections
                    ]
                    if before
                    else []
                ),
            )
        )
    return SizeReport(out)
