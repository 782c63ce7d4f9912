"""One entry for every object format: the header checks and the
normalization of a triple's artifacts, whether the triple's programs are
ELF (Linux, bare metal: :mod:`elfcheck`), PE (Windows: :mod:`pe`) or
Mach-O (macOS: :mod:`macho`).

A file whose format is not its triple's is a problem ("x.exe: not a PE
file"); a static library is checked object by object, as for ELF.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path
from typing import BinaryIO

from relbuild.binaries import elfcheck, fat, macho, pe
from relbuild.binaries.elfcheck import AR_MAGIC, Passes, ar_index
from relbuild.binaries.lieflib import lief
from relbuild.config.triples import TRIPLES, UNIVERSAL_SLICES, Triple
from relbuild.errors import MalformedFileError

_HEAD = 4096
# Part of the key under which a build remembers files that passed these
# checks: a relbuild that checks more must not trust an older pass.
CHECKS = "2"


def check_file(
    path: Path, triple: Triple, passes: Passes | None = None, max_minos: str | None = None
) -> list[str]:
    """Problems with ``path`` for ``triple``; [] when it matches."""
    with path.open("rb") as fh:
        return check_stream(fh, triple, path.name, passes, max_minos)


def check_stream(
    fh: BinaryIO,
    triple: Triple,
    name: str,
    passes: Passes | None = None,
    max_minos: str | None = None,
) -> list[str]:
    """Problems with an open file for ``triple``: a program or library of
    the triple's format, or a static library of its objects. ``max_minos``:
    the newest minimum macOS a Mach-O file may ask for (None: any)."""
    if triple.binary_format == "elf":
        return elfcheck.check_stream(fh, triple, name, passes)
    fh.seek(0)
    head = fh.read(_HEAD)
    if head[:8] == AR_MAGIC:
        return _archive_problems(fh, triple, name, passes)
    if triple.binary_format == "pe":
        if not pe.is_pe(head):
            return [f"{name}: not a PE file"]
        return pe.check(fh, triple, name)
    if not macho.is_macho(head):
        return [f"{name}: not a Mach-O file"]
    return macho.check(fh, triple, name, max_minos)


def check_universal(src: bytes | BinaryIO, name: str) -> list[str]:
    """Problems with a universal2 macOS program: a universal Mach-O file
    holding an x86_64 and an arm64 slice, each checked as a program of its
    Apple triple is; [] when it is one."""
    if not isinstance(src, bytes):
        src.seek(0)
        src = src.read()
    if not fat.is_fat(src[:4]):
        return [f"{name}: not a universal file"]
    try:
        fat.read(src, name)  # its own words for a hostile table, first
        found = [f.cpu for f in macho.facts(src, name)]
    except MalformedFileError as exc:
        return [str(exc)]
    if sorted(found) != ["ARM64", "X86_64"]:
        shown = ", ".join(found)
        return [f"{name}: holds {shown} slices; a universal2 file holds x86_64 and ARM64"]
    problems: list[str] = []
    for triple in UNIVERSAL_SLICES:
        problems += [p for p in macho.check(src, TRIPLES[triple], name) if p not in problems]
    return problems


def normalize(data: bytes, triple: Triple, name: str = "file") -> bytes:
    """``data`` with what its linker stamps differently on each build made a
    function of the rest: PE files (see :func:`pe.normalize`); ELF and
    Mach-O files, and anything else, are returned as they are (see
    :func:`macho.normalize`). Raises MalformedFileError on a malformed PE
    or Mach-O file."""
    if triple.binary_format == "pe" and data[:2] == b"MZ":
        return pe.normalize(data, name)
    if triple.binary_format == "macho" and macho.is_macho(data[:_HEAD]):
        return macho.normalize(data, name)
    return data


def _archive_problems(fh: BinaryIO, triple: Triple, name: str, passes: Passes | None) -> list[str]:
    """Each object of a static library must be for the triple's machine:
    COFF objects for Windows, Mach-O ones for macOS."""
    length = fh.seek(0, io.SEEK_END)
    problems: list[str] = []
    objects = 0
    for member, _, size in ar_index(fh, length):
        body = fh.read(size)
        found = _object_machine(body, triple)
        if found is None:
            continue
        objects += 1
        if passes is not None and passes.known(body):
            continue
        what = f"{name}({member})"
        # (LIEF spells the Mach-O CPU type x86_64 "X86_64".)
        ok = found.upper() == triple.machine.upper()
        if not ok:
            problems.append(f"{what}: machine is {found}, {triple.name} needs {triple.machine}")
        elif passes is not None:
            passes.add(body)
    kind = "COFF" if triple.binary_format == "pe" else "Mach-O"
    return problems if objects else [f"{name}: archive holds no {kind} object"]


def _object_machine(body: bytes, triple: Triple) -> str | None:
    if triple.binary_format == "pe":
        return pe.coff_machine(body)
    if len(body) >= 8 and body[:4] == macho.MH_MAGIC_64_LE:
        (cpu,) = struct.unpack_from("<i", body, 4)
        return macho.cpu_name(cpu)
    return None


def symbol_names(path: Path, triple: Triple) -> set[str] | None:
    """The names in a program's symbol table, as Go spells them (Mach-O's
    leading underscore removed); None when the file has no symbol table to
    read (lld writes none into a PE file it links)."""
    if triple.binary_format == "elf":
        return elfcheck.symbol_names(path)
    parsed = lief().parse(str(path))
    if parsed is None:
        return None
    names = {str(sym.name) for sym in parsed.symbols}
    if triple.binary_format == "macho":
        names = {n.removeprefix("_") for n in names}
    return names or None
