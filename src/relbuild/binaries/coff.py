"""COFF object files (Windows static libraries' members), read by hand: the
section table (long names from the string table: ``/4`` is
``.debug_abbrev``), the symbol table and a section's relocations. Regular
and "bigobj" headers.

LIEF 1.0 was tried first and drops symbols: in rustc's aarch64 objects
(one COMDAT section per function) it listed two of six exported functions.
The format is small and fixed, so it is read here, every count and offset
bounded by the object's size.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

# Machine -> (pointer size, pyelftools' arch name, the SECREL relocation type).
MACHINES = {
    0x8664: (8, "x64", 0x000B),  # AMD64
    0xAA64: (8, "AArch64", 0x0008),  # ARM64
    0x014C: (4, "x86", 0x000B),  # I386
    0x01C4: (4, "ARM", 0x000F),  # ARMNT
}
_BIGOBJ_CLASS = bytes.fromhex("c7a1bad1eebaa94baf20faf66aa4dcb8")
_NRELOC_OVFL = 0x01000000
CNT_CODE = 0x20
CLASS_EXTERNAL, CLASS_WEAK_EXTERNAL = 2, 105
FUNCTION_TYPE = 0x20  # IMAGE_SYM_DTYPE_FUNCTION << 4


class CoffError(ValueError):
    """A COFF object whose headers point outside it."""


@dataclass(frozen=True)
class Section:
    name: str
    offset: int
    size: int
    relocations_at: int
    relocations: int
    characteristics: int


@dataclass(frozen=True)
class Symbol:
    name: str
    value: int
    section: int  # 1-based; 0 undefined, negative: absolute or debug
    type: int
    storage_class: int


@dataclass(frozen=True)
class Relocation:
    offset: int
    symbol: int  # index into the symbol table (auxiliary records count)
    type: int


def header_machine(body: bytes) -> int | None:
    """The Machine field of a regular or bigobj COFF object's header, or
    None for a short import member (or anything shorter than a header)."""
    if len(body) < 20:
        return None
    first, second = struct.unpack_from("<HH", body, 0)
    if first == 0 and second == 0xFFFF:
        if len(body) < 56 or body[12:28] != _BIGOBJ_CLASS:
            return None  # an import object (short import library member)
        return int(struct.unpack_from("<H", body, 6)[0])
    return int(first) or None


def machine(body: bytes) -> int | None:
    """The machine of a regular or bigobj COFF object this module reads, or None."""
    found = header_machine(body)
    return found if found in MACHINES else None


class CoffObject:
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.machine = machine(body)
        if self.machine is None:
            raise CoffError("not a COFF object of a known machine")
        if struct.unpack_from("<HH", body, 0) == (0, 0xFFFF):
            count, symtab, nsyms = struct.unpack_from("<III", body, 44)
            table_at, self._sym_size, self._sym_fmt = 56, 20, "<IiHBB"
        else:
            count, _, symtab, nsyms, opt_size = struct.unpack_from("<HIIIH", body, 2)
            table_at, self._sym_size, self._sym_fmt = 20 + opt_size, 18, "<IhHBB"
        if table_at + 40 * count > len(body):
            raise CoffError(f"{count} sections do not fit")
        if symtab + self._sym_size * nsyms > len(body):
            raise CoffError(f"{nsyms} symbols do not fit")
        self._symtab, self._nsyms = symtab, nsyms
        strings_at = symtab + self._sym_size * nsyms
        self._strings = body[strings_at:] if symtab else b""
        self.sections = [self._section(table_at + 40 * i) for i in range(count)]

    def _string(self, offset: int) -> str:
        if offset >= len(self._strings):
            raise CoffError(f"a name at {offset} past the string table")
        end = self._strings.find(b"\0", offset)
        return self._strings[offset : end if end >= 0 else None].decode("utf-8", "replace")

    def _section(self, at: int) -> Section:
        raw, _, _, size, offset, rel_at, _, nrel, _, flags = struct.unpack_from(
            "<8sIIIIIIHHI", self.body, at
        )
        name = raw.rstrip(b"\0").decode("utf-8", "replace")
        if name.startswith("/") and name[1:].isdigit():
            name = self._string(int(name[1:]))
        if flags & _NRELOC_OVFL and nrel == 0xFFFF and rel_at + 10 <= len(self.body):
            # The true count is in the first record, which counts itself.
            (nrel,) = struct.unpack_from("<I", self.body, rel_at)
            nrel, rel_at = max(0, nrel - 1), rel_at + 10
        if size and offset + size > len(self.body):
            raise CoffError(f"section {name} lies outside the object")
        if rel_at + 10 * nrel > len(self.body):
            raise CoffError(f"the relocations of {name} lie outside the object")
        return Section(name, offset, size, rel_at, nrel, flags)

    def symbols(self) -> dict[int, Symbol]:
        """Symbols by their index (auxiliary records skipped)."""
        out: dict[int, Symbol] = {}
        i = 0
        while i < self._nsyms:
            at = self._symtab + self._sym_size * i
            raw = self.body[at : at + 8]
            value, section, type_, cls, naux = struct.unpack_from(self._sym_fmt, self.body, at + 8)
            if raw[:4] == b"\0\0\0\0":
                name = self._string(int.from_bytes(raw[4:], "little"))
            else:
                name = raw.rstrip(b"\0").decode("utf-8", "replace")
            out[i] = Symbol(name, value, section, type_, cls)
            i += 1 + naux
        return out

    def content(self, section: Section) -> bytes:
        return self.body[section.offset : section.offset + section.size]

    def relocations(self, section: Section) -> list[Relocation]:
        return [
            Relocation(*struct.unpack_from("<IIH", self.body, section.relocations_at + 10 * i))
            for i in range(section.relocations)
        ]
