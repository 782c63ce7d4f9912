"""Universal ("fat") Mach-O files: written as ``llvm-lipo -create`` writes
them, and their slice table read back with every bound checked.

A fat file is a big-endian header (magic, slice count), one ``fat_arch``
record per slice (CPU type and subtype, offset, size, log2 alignment), then
each slice at its aligned offset, zeros between. What lipo chooses, and
this writer too, so that the bytes are the same as `llvm-lipo-19 -create`'s:

- the alignment is the page size of the slice's CPU: 2^12 for x86_64,
  2^14 for arm64 (LLVM's ``calculateAlignment``);
- the slices are sorted by alignment, arm64 last whatever its alignment
  (cctools lipo's order, which LLVM keeps);
- the first slice starts at the first aligned offset past the table, the
  file ends where the last slice ends (no padding after it).

The reader refuses what a hostile file may hold: a slice count past
:data:`MAX_SLICES`, a table or a slice outside the file, slices that
overlap each other or the table, an alignment past 2^15 or not kept, the
same CPU twice. Every refusal is a :class:`MalformedFileError`.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from relbuild.errors import MalformedFileError

FAT_MAGIC = 0xCAFEBABE
FAT_MAGIC_64 = 0xCAFEBABF  # 64-bit offsets: read, never written
MH_MAGIC_64 = 0xFEEDFACF  # little-endian in the file: cf fa ed fe
CPU_TYPE_X86_64 = 0x01000007
CPU_TYPE_ARM64 = 0x0100000C
# Slices of one file: a universal file holds two or three; lipo's own bound
# is far above, and a count is read before any slice is.
MAX_SLICES = 16
# LLVM's MachOUniversalBinary::MaxSectionAlignment.
MAX_ALIGN = 15
_PAGE_ALIGN = {
    7: 12,  # i386
    CPU_TYPE_X86_64: 12,
    18: 12,  # PowerPC
    0x01000012: 12,  # PowerPC 64
    12: 14,  # ARM
    CPU_TYPE_ARM64: 14,
    0x0200000C: 14,  # ARM64_32
}
_HEADER = struct.Struct(">II")
_ARCH = struct.Struct(">iiIII")
_ARCH_64 = struct.Struct(">iiQQI4x")


@dataclass(frozen=True)
class FatSlice:
    cputype: int
    cpusubtype: int
    offset: int
    size: int
    align: int  # log2


def is_fat(head: bytes) -> bool:
    return int.from_bytes(head[:4], "big") in (FAT_MAGIC, FAT_MAGIC_64)


def _thin_header(data: bytes, name: str) -> tuple[int, int]:
    """The CPU type and subtype of a thin 64-bit Mach-O file."""
    if len(data) < 32 or int.from_bytes(data[:4], "little") != MH_MAGIC_64:
        raise MalformedFileError(f"{name}: not a thin 64-bit Mach-O file")
    cputype, cpusubtype = struct.unpack_from("<ii", data, 4)
    return cputype, cpusubtype


def _align_up(value: int, align: int) -> int:
    step = 1 << align
    return (value + step - 1) // step * step


def layout(headers: Sequence[tuple[int, int, int]]) -> list[tuple[int, FatSlice]]:
    """Where each slice goes, given (cputype, cpusubtype, size) of each:
    (index in ``headers``, its record), in the file's order."""
    aligns = []
    for cputype, _, _ in headers:
        if cputype not in _PAGE_ALIGN:
            raise MalformedFileError(f"CPU type {cputype:#x}: not a CPU a universal file holds")
        aligns.append(_PAGE_ALIGN[cputype])

    def order(i: int) -> tuple[bool, int, int, int]:
        cputype, cpusubtype, _ = headers[i]
        # arm64 after every other CPU; the rest by alignment; one CPU's
        # subtypes by number (LLVM's comparison, as a key; where LLVM keeps
        # the input's order, CPUs of one alignment, here by CPU type).
        return (cputype == CPU_TYPE_ARM64, aligns[i], cputype, cpusubtype)

    at = _HEADER.size + _ARCH.size * len(headers)
    out = []
    for i in sorted(range(len(headers)), key=order):
        cputype, cpusubtype, size = headers[i]
        at = _align_up(at, aligns[i])
        out.append((i, FatSlice(cputype, cpusubtype, at, size, aligns[i])))
        at += size
    return out


def create(slices: Sequence[bytes], name: str = "universal file") -> bytes:
    """One universal file holding ``slices`` (thin 64-bit Mach-O files),
    byte for byte what ``llvm-lipo -create`` makes of them."""
    if not 2 <= len(slices) <= MAX_SLICES:
        raise MalformedFileError(f"{name}: a universal file holds 2 to {MAX_SLICES} slices")
    headers = []
    for i, data in enumerate(slices):
        cputype, cpusubtype = _thin_header(data, f"{name} (slice {i + 1})")
        headers.append((cputype, cpusubtype, len(data)))
    cpus = [(c, s) for c, s, _ in headers]
    if len(set(cpus)) != len(cpus):
        raise MalformedFileError(f"{name}: two slices for the same CPU")
    placed = layout(headers)
    end = placed[-1][1].offset + placed[-1][1].size
    if end >= 1 << 32:
        raise MalformedFileError(f"{name}: slices past 4 GiB need 64-bit offsets")
    out = bytearray(end)
    _HEADER.pack_into(out, 0, FAT_MAGIC, len(slices))
    for n, (i, s) in enumerate(placed):
        _ARCH.pack_into(
            out, _HEADER.size + _ARCH.size * n, s.cputype, s.cpusubtype, s.offset, s.size, s.align
        )
        out[s.offset : s.offset + s.size] = slices[i]
    return bytes(out)


def read(data: bytes, name: str = "file") -> list[FatSlice]:
    """The slice table of a universal file, each entry checked against the
    file's length and the others."""
    if len(data) < _HEADER.size:
        raise MalformedFileError(f"{name}: too short for a universal header")
    magic, count = _HEADER.unpack_from(data)
    if magic not in (FAT_MAGIC, FAT_MAGIC_64):
        raise MalformedFileError(f"{name}: not a universal Mach-O file")
    if not 1 <= count <= MAX_SLICES:
        raise MalformedFileError(
            f"{name}: universal header names {count} slices (1 to {MAX_SLICES} are read)"
        )
    entry = _ARCH_64 if magic == FAT_MAGIC_64 else _ARCH
    table_end = _HEADER.size + entry.size * count
    if table_end > len(data):
        raise MalformedFileError(f"{name}: the slice table runs past the end of the file")
    slices = [
        FatSlice(*entry.unpack_from(data, _HEADER.size + entry.size * i)) for i in range(count)
    ]
    seen: set[tuple[int, int]] = set()
    for n, s in enumerate(slices, 1):
        what = f"{name}: slice {n} ({s.cputype:#x})"
        if s.align > MAX_ALIGN:
            raise MalformedFileError(f"{what}: alignment 2^{s.align} (at most 2^{MAX_ALIGN})")
        if s.offset % (1 << s.align):
            raise MalformedFileError(f"{what}: offset {s.offset} is not aligned to 2^{s.align}")
        if s.size == 0 or s.offset < table_end or s.offset + s.size > len(data):
            raise MalformedFileError(
                f"{what}: bytes {s.offset}..{s.offset + s.size} are not inside the file "
                f"past its table ({table_end}..{len(data)})"
            )
        if (s.cputype, s.cpusubtype) in seen:
            raise MalformedFileError(f"{what}: a second slice for the same CPU")
        seen.add((s.cputype, s.cpusubtype))
    by_offset = sorted(slices, key=lambda s: s.offset)
    for a, b in itertools.pairwise(by_offset):
        if a.offset + a.size > b.offset:
            raise MalformedFileError(
                f"{name}: slices {a.cputype:#x} and {b.cputype:#x} overlap "
                f"(bytes {b.offset}..{a.offset + a.size})"
            )
    return slices


def thin(data: bytes, cputype: int, name: str = "file") -> bytes:
    """The bytes of the slice for ``cputype`` (what ``lipo -thin`` gives)."""
    for s in read(data, name):
        if s.cputype == cputype:
            return data[s.offset : s.offset + s.size]
    raise MalformedFileError(f"{name}: no slice for CPU type {cputype:#x}")
