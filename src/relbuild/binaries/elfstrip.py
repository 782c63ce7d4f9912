"""A section removed from an ELF file, as `objcopy --remove-section` does,
for sections that are not loaded (``.stack_sizes``, which relbuild reads
at build time and does not ship): the loadable segments keep their bytes
and offsets, the sections after it move down (keeping their alignment),
and section indexes in the headers and the symbol table are renumbered."""

from __future__ import annotations

import struct

from relbuild.errors import MalformedFileError

SHF_ALLOC, SHF_INFO_LINK = 0x2, 0x40
SHT_SYMTAB, SHT_REL, SHT_RELA, SHT_NOBITS, SHT_SYMTAB_SHNDX = 2, 9, 4, 8, 18
SHN_LORESERVE, SHN_ABS = 0xFF00, 0xFFF1
PT_LOAD = 1
# Section header fields by index.
NAME, TYPE, FLAGS, OFFSET, SIZE, LINK, INFO, ALIGN, ENTSIZE = 0, 1, 2, 4, 5, 6, 7, 8, 9


def _bad(why: str) -> MalformedFileError:
    return MalformedFileError(f"cannot remove a section: {why}")


class _Elf:
    """The headers of an ELF file, as lists of fields to edit."""

    def __init__(self, data: bytes) -> None:
        if (
            len(data) < 52
            or data[:4] != b"\x7fELF"
            or data[4] not in (1, 2)
            or data[5] not in (1, 2)
        ):
            raise _bad("not an ELF file")
        self.data, self.wide, self.end = data, data[4] == 2, "<" if data[5] == 1 else ">"
        wide, end = self.wide, self.end
        self.hdr = struct.Struct(end + ("16xHHIQQQIHHHHHH" if wide else "16xHHIIIIIHHHHHH"))
        self.shdr = struct.Struct(end + ("IIQQQQIIQQ" if wide else "IIIIIIIIII"))
        self.phdr = struct.Struct(end + ("IIQQQQQQ" if wide else "IIIIIIII"))
        # p_offset, p_filesz and p_align among a program header's fields
        self.p_off, self.p_filesz, self.p_align = (2, 5, 7) if wide else (1, 4, 7)
        if len(data) < self.hdr.size:
            raise _bad("the header is cut short")
        self.fields = list(self.hdr.unpack_from(data))
        f = self.fields
        self.phoff, self.shoff, self.phnum, self.shnum, self.shstrndx = (
            f[4],
            f[5],
            f[9],
            f[11],
            f[12],
        )
        if f[10] != self.shdr.size or self.shoff + self.shnum * self.shdr.size > len(data):
            raise _bad("its section headers are not where the header says")
        if self.phnum and (
            f[8] != self.phdr.size or self.phoff + self.phnum * self.phdr.size > len(data)
        ):
            raise _bad("its program headers are not where the header says")
        if self.shstrndx >= self.shnum:
            raise _bad("no section name table")
        self.heads = [
            list(self.shdr.unpack_from(data, self.shoff + i * self.shdr.size))
            for i in range(self.shnum)
        ]
        self.segments = [
            list(self.phdr.unpack_from(data, self.phoff + i * self.phdr.size))
            for i in range(self.phnum)
        ]
        names = self.heads[self.shstrndx]
        self.names_at, self.names_end = names[OFFSET], names[OFFSET] + names[SIZE]
        if self.names_end > len(data):
            raise _bad("the section name table lies past the end of the file")

    def name_of(self, h: list[int]) -> bytes:
        start = self.names_at + h[NAME]
        stop = self.data.find(b"\0", start, self.names_end)
        return self.data[start:stop] if start < self.names_end and stop >= 0 else b""


def remove_section(data: bytes, name: str) -> bytes:
    """``data`` without the non-allocated section ``name`` (unchanged when
    it has none); MalformedFileError for a file this cannot rewrite."""
    elf = _Elf(data)
    wanted = name.encode()
    hits = [i for i, h in enumerate(elf.heads) if i and elf.name_of(h) == wanted]
    if not hits:
        return data
    r = hits[0]
    gone = elf.heads[r]
    if gone[FLAGS] & SHF_ALLOC:
        raise _bad(f"{name} is loaded into memory")
    if any(h[TYPE] == SHT_SYMTAB_SHNDX for h in elf.heads):
        raise _bad("extended section indexes are not supported")
    start, size = gone[OFFSET], 0 if gone[TYPE] == SHT_NOBITS else gone[SIZE]
    if start + size > len(data) or elf.phoff + elf.phnum * elf.phdr.size > start:
        raise _bad(f"{name} lies past the end of the file or before the program headers")
    moved = _segments_after(elf, start, size, name)
    later = [
        h for i, h in enumerate(elf.heads) if i != r and h[OFFSET] >= start + size and h[TYPE] != 8
    ]
    align = max(
        [h[ALIGN] for h in later if h[ALIGN]]
        + [p[elf.p_align] for p in moved]
        + [8 if elf.wide else 4]
    )
    if align & (align - 1) or align > 1 << 16:
        raise _bad("a section's alignment is not a power of two")
    shift = size - size % align
    out = bytearray(data)
    out[start : start + size] = bytes(size)
    del out[start : start + shift]
    # Its name in .shstrtab goes too, unless another name shares the bytes.
    if not any(
        i != r and gone[NAME] <= h[NAME] <= gone[NAME] + len(wanted)
        for i, h in enumerate(elf.heads)
    ):
        at = elf.names_at + gone[NAME] - (shift if elf.names_at >= start + size else 0)
        out[at : at + len(wanted)] = bytes(len(wanted))
    kept = [_renumbered(h, r, start + size, shift) for i, h in enumerate(elf.heads) if i != r]
    for h in kept:
        if h[TYPE] == SHT_SYMTAB and h[ENTSIZE]:
            _renumber_symbols(out, h, elf, r)
    _write_headers(elf, out, kept, moved, r, start + size, shift)
    return bytes(out)


def _segments_after(elf: _Elf, start: int, size: int, name: str) -> list[list[int]]:
    """Segments that move down with the sections after ``name`` (a RISC-V
    attributes segment); a loaded one, or one that holds it, never moves."""
    moved = []
    for p in elf.segments:
        if not p[elf.p_filesz]:
            continue
        if p[elf.p_off] >= start + size and p[0] != PT_LOAD:
            moved.append(p)
        elif p[elf.p_off] + p[elf.p_filesz] > start:
            raise _bad(f"a segment holds bytes at or after {name}")
    return moved


def _renumber(index: int, r: int) -> int:
    return index - 1 if r < index < SHN_LORESERVE else (0 if index == r else index)


def _renumbered(head: list[int], r: int, after: int, shift: int) -> list[int]:
    h = list(head)
    if h[OFFSET] >= after:
        h[OFFSET] -= shift
    h[LINK] = _renumber(h[LINK], r)
    if h[TYPE] in (SHT_REL, SHT_RELA) or h[FLAGS] & SHF_INFO_LINK:
        h[INFO] = _renumber(h[INFO], r)
    return h


def _write_headers(
    elf: _Elf, out: bytearray, kept: list[list[int]], moved: list[list[int]], r: int,
    after: int, shift: int,
) -> None:  # fmt: skip
    size = elf.shdr.size
    shoff = elf.shoff - shift if elf.shoff >= after else elf.shoff
    table = b"".join(elf.shdr.pack(*h) for h in kept)
    out[shoff : shoff + elf.shnum * size] = table + bytes(size)
    if all(h[OFFSET] < shoff or h[TYPE] == SHT_NOBITS for h in kept):
        del out[shoff + len(table) : shoff + len(table) + size]
    for p in moved:
        p[elf.p_off] -= shift
    for i, p in enumerate(elf.segments):
        out[elf.phoff + i * elf.phdr.size : elf.phoff + (i + 1) * elf.phdr.size] = elf.phdr.pack(*p)
    fields = list(elf.fields)
    fields[5], fields[11], fields[12] = shoff, elf.shnum - 1, _renumber(elf.shstrndx, r)
    out[: elf.hdr.size] = elf.data[:16] + elf.hdr.pack(*fields)[16:]


def _renumber_symbols(out: bytearray, h: list[int], elf: _Elf, r: int) -> None:
    """st_shndx of every symbol: past ``r`` one less, in ``r`` absolute."""
    offset, size, entsize = h[OFFSET], h[SIZE], h[ENTSIZE]
    at_shndx = 6 if elf.wide else 14
    if offset + size > len(out) or entsize < at_shndx + 2:
        raise _bad("the symbol table lies past the end of the file")
    for at in range(offset + at_shndx, offset + size - entsize + at_shndx + 1, entsize):
        (index,) = struct.unpack_from(elf.end + "H", out, at)
        if 0 < index < SHN_LORESERVE and index >= r:
            struct.pack_into(elf.end + "H", out, at, SHN_ABS if index == r else index - 1)
