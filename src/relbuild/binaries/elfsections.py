"""An ELF file's section headers, read straight from their bytes.

The symbol-table check and the leak scanner need each section's name, type,
flags, place and link, for every program of a build; pyelftools builds an
object per section and costs tens of milliseconds per file. This reader
parses the header table with ``struct`` and refuses (None) anything it
cannot place inside the file: its callers then fall back to reading the
file as bytes, as they do for a file pyelftools cannot read.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import BinaryIO

SHT_NULL, SHT_SYMTAB, SHT_NOBITS, SHT_DYNSYM = 0, 2, 8, 11
SHF_COMPRESSED = 0x800
# Above this many sections a header table is not a build's (nor worth reading).
_MAX_SECTIONS = 1 << 16


@dataclass(frozen=True)
class SectionHeader:
    name: str
    type: int
    flags: int
    offset: int
    size: int
    link: int


@dataclass(frozen=True)
class ElfHeaders:
    wide: bool  # ELFCLASS64
    little: bool
    sections: tuple[SectionHeader, ...]


def read_headers(fh: BinaryIO) -> ElfHeaders | None:
    """The section headers of the ELF file ``fh``; None when it is not ELF
    or its header table or names do not lie inside the file."""
    fh.seek(0)
    ident = fh.read(64)
    if (
        len(ident) < 52
        or ident[:4] != b"\x7fELF"
        or ident[4] not in (1, 2)
        or ident[5] not in (1, 2)
    ):
        return None
    wide, little = ident[4] == 2, ident[5] == 1
    order = "<" if little else ">"
    if wide:
        if len(ident) < 64:
            return None
        (shoff,) = struct.unpack_from(order + "Q", ident, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from(order + "HHH", ident, 0x3A)
        entry = struct.Struct(order + "IIQQQQIIQQ")
    else:
        (shoff,) = struct.unpack_from(order + "I", ident, 0x20)
        shentsize, shnum, shstrndx = struct.unpack_from(order + "HHH", ident, 0x2E)
        entry = struct.Struct(order + "IIIIIIIIII")
    length = fh.seek(0, io.SEEK_END)
    if shoff == 0 and shnum == 0:
        return ElfHeaders(wide, little, ())
    # shnum 0 with a table, or shstrndx 0xffff: extended numbering, which
    # no build here writes; left to the fallback.
    if shentsize < entry.size or not 0 < shnum <= _MAX_SECTIONS or shstrndx >= shnum:
        return None
    if shoff + shnum * shentsize > length:
        return None
    fh.seek(shoff)
    table = fh.read(shnum * shentsize)
    raw = [entry.unpack_from(table, i * shentsize) for i in range(shnum)]
    names_at, names_size = raw[shstrndx][4], raw[shstrndx][5]
    if names_at + names_size > length:
        return None
    fh.seek(names_at)
    names = fh.read(names_size)
    sections = []
    for name_at, kind, flags, _addr, offset, size, link, *_ in raw:
        if kind not in (SHT_NOBITS, SHT_NULL) and offset + size > length:
            return None
        end = names.find(b"\0", name_at)
        name = names[name_at : end if end >= 0 else len(names)].decode("utf-8", "replace")
        sections.append(SectionHeader(name, kind, flags, offset, size, link))
    return ElfHeaders(wide, little, tuple(sections))
