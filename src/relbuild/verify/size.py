"""`relbuild size`: firmware footprint per section, like `cargo size`, with
the worst-case stack and its deepest path, flash per crate and the largest
symbols (from the size file beside each firmware), growth against a
previous release and the budgets."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, computed_field

from relbuild.binaries import firmware
from relbuild.binaries.elfcheck import ELF_ERRORS
from relbuild.release.dist import ArtifactRecord, Manifest, load_manifest, locate
from relbuild.release.safefs import safe_relpath
from relbuild.release.sizefile import SUFFIX, SizeFile, read_size_file

# Symbols shown by default, and growths named with --compare.
TOP = 20


class SectionRow(BaseModel):
    name: str
    size: int
    old: int | None = None


class SymbolRow(BaseModel):
    name: str
    crate: str
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
    stack: int | None = None
    old_stack: int | None = None
    stack_path: list[str] = []
    stack_lower_bound: list[str] = []
    crates: list[SectionRow] = []  # flash per crate, largest first
    symbols: list[SymbolRow] = []  # the largest symbols
    growth: list[SymbolRow] = []  # with --compare: the symbols that changed most

    @property
    def over_budget(self) -> list[str]:
        """The budgets this firmware exceeds, as "flash" and "RAM"."""
        return [
            name
            for name, used, budget in (
                ("flash", self.flash, self.flash_budget),
                ("RAM", self.ram, self.ram_budget),
            )
            if budget is not None and used > budget
        ]


class SizeReport(BaseModel):
    """What `relbuild size --json` prints: one entry per firmware."""

    firmware: list[SizeEntry]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def over_budget(self) -> list[str]:
        """Each firmware over a budget, as "PATH: flash" or "PATH: RAM"."""
        return [f"{e.path}: {what}" for e in self.firmware for what in e.over_budget]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        """No firmware over its flash or RAM budget (`relbuild size` exits 1)."""
        return not self.over_budget


def _key(target: str | None, component: str | None, path: str) -> tuple[str, str]:
    return (target or "", component or Path(path).name)


def size_files(folder: Path, manifest: Manifest) -> dict[tuple[str, str], SizeFile]:
    """The size file of each firmware the manifest lists one for, by (target,
    component), where the folder has it; a hostile one is a UsageError (exit 2)."""
    out: dict[tuple[str, str], SizeFile] = {}
    for art in manifest.artifacts:
        if art.kind == "file" and art.path.endswith(SUFFIX):
            split = read_size_file(folder, art.path)
            if split is not None:
                out[_key(art.target, art.component, art.path)] = split
    return out


def size(arg: Path, compare: Path | None = None, top: int = TOP) -> SizeReport:
    folder, manifest_path = locate(arg)
    manifest = load_manifest(manifest_path)
    splits = size_files(folder, manifest)
    old: Manifest | None = None
    old_splits: dict[tuple[str, str], SizeFile] = {}
    if compare is not None:
        old_folder, old_path = locate(compare)
        old = load_manifest(old_path)
        old_splits = size_files(old_folder, old)
    old_arts = {
        _key(a.target, a.component, a.path): a
        for a in (old.artifacts if old else [])
        if a.footprint is not None
    }
    out: list[SizeEntry] = []
    for art in manifest.artifacts:
        if art.kind != "firmware":
            continue
        entry = _entry(folder, art, old_arts.get(_key(art.target, art.component, art.path)))
        if entry is None:
            continue
        key = _key(art.target, art.component, art.path)
        split, before = splits.get(key), old_splits.get(key)
        if split is not None:
            # Growth only against a size file: an old release without one
            # (older relbuild, a manifest alone) says nothing per crate.
            entry = entry.model_copy(update=_split_rows(split, before, before is not None, top))
        out.append(entry)
    return SizeReport(firmware=out)


def _entry(folder: Path, art: ArtifactRecord, old: ArtifactRecord | None) -> SizeEntry | None:
    fp = art.footprint
    path = folder / art.path
    if fp is None and safe_relpath(art.path) is None and not path.is_symlink():
        try:
            fp = firmware.footprint(path.read_bytes()) if path.is_file() else None
        except ELF_ERRORS:
            fp = None
    if fp is None:
        return None
    before = old.footprint if old else None
    sections = [
        SectionRow(name=n, size=s, old=(before.sections.get(n, 0) if before else None))
        for n, s in fp.sections.items()
    ]
    if before:
        sections += [
            SectionRow(name=n, size=0, old=s)
            for n, s in before.sections.items()
            if n not in fp.sections
        ]
    return SizeEntry(
        path=art.path,
        target=art.target,
        component=art.component,
        flash=fp.flash,
        ram=fp.ram,
        flash_budget=fp.flash_budget,
        ram_budget=fp.ram_budget,
        old_flash=before.flash if before else None,
        old_ram=before.ram if before else None,
        sections=sections,
        stack=fp.stack,
        old_stack=before.stack if before else None,
        stack_path=fp.stack_path,
        stack_lower_bound=fp.stack_lower_bound,
    )


def _split_rows(
    new: SizeFile, old: SizeFile | None, comparing: bool, top: int
) -> dict[str, list[SectionRow] | list[SymbolRow]]:
    was = old.crates if old else {}
    crates = [
        SectionRow(name=c, size=new.crates.get(c, 0), old=was.get(c, 0) if comparing else None)
        for c in sorted(set(new.crates) | set(was), key=lambda c: (-new.crates.get(c, 0), c))
    ]
    symbols = [SymbolRow(name=s.name, crate=s.crate, size=s.size) for s in new.symbols[:top]]
    growth = symbol_growth(old, new)[:top] if comparing else []
    return {"crates": crates, "symbols": symbols, "growth": growth}


def symbol_growth(old: SizeFile | None, new: SizeFile) -> list[SymbolRow]:
    """Symbols whose size changed (came, went or grew), largest change first.
    A symbol below the old file's smallest listed one counts as 0 there."""
    before = {(s.name, s.crate): s.size for s in (old.symbols if old else [])}
    after = {(s.name, s.crate): s.size for s in new.symbols}
    rows = [
        SymbolRow(name=name, crate=crate, size=after.get(k, 0), old=before.get(k, 0))
        for k in set(before) | set(after)
        for name, crate in [k]
        if after.get(k, 0) != before.get(k, 0)
    ]
    return sorted(rows, key=lambda r: (-abs(r.size - (r.old or 0)), r.name, r.crate))


def crate_growth(old: SizeFile, new: SizeFile) -> list[SectionRow]:
    rows = [
        SectionRow(name=c, size=new.crates.get(c, 0), old=old.crates.get(c, 0))
        for c in sorted(set(old.crates) | set(new.crates))
        if new.crates.get(c, 0) != old.crates.get(c, 0)
    ]
    return sorted(rows, key=lambda r: (-abs(r.size - (r.old or 0)), r.name))
