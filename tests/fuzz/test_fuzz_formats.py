"""The PE and Mach-O readers on mutated files: normalize returns bytes or
raises MalformedFileError, the checks return problems, the section lists
come out or are None, and the leak scanner reads what it can. The offsets,
sizes and counts the readers seek and allocate by are set to extremes on
purpose."""

from __future__ import annotations

import contextlib
import io
import struct

from hypothesis import example, given, settings
from hypothesis import strategies as st

from relbuild.binaries import formats, macho, pe
from relbuild.binaries.leaks import Scanner, common_root_needles
from relbuild.config.triples import TRIPLES
from relbuild.errors import MalformedFileError
from tests.fuzz.conftest import examples
from tests.fuzz.mutate import mutated_bytes
from tests.machogen import ARM64, X86_64, MachO, fat
from tests.pegen import Pe

WIN = TRIPLES["x86_64-pc-windows-gnu"]
MAC = TRIPLES["aarch64-apple-darwin"]
SCANNER = Scanner(common_root_needles())

_PE_GEN = Pe(dwarf=b"/home/alice/x.c\0", imports=["KERNEL32.dll", "WS2_32.dll"], checksum=1)
PE_SEED = _PE_GEN.build()
MACHO_SEED = MachO(rpath="/Users/a/lib", dwarf=b"/home/b/x\0").build()
FAT_SEED = fat([(X86_64, MachO(cpu=X86_64).build()), (ARM64, MACHO_SEED)])


def _pe_fields() -> list[tuple[int, int]]:
    o = _PE_GEN.offsets
    coff, opt, sections = o["coff"], o["optional"], o["sections"]
    out = [(0x3C, 4), (coff + 2, 2), (coff + 8, 4), (coff + 12, 4), (coff + 16, 2)]
    out += [(opt, 2), (opt + 108, 4)]  # magic, NumberOfRvaAndSizes
    out += [(opt + 112 + 8 * i + j, 4) for i in (1, 6) for j in (0, 4)]  # import, debug
    out += [(o["debug_dir"] + j, 4) for j in (12, 16, 20, 24)]
    out += [(sections + 40 * i + j, 4) for i in (0, 1) for j in (8, 12, 16, 20)]
    out += [(sections + 40 + 1, 1)]  # the digits of "/4"
    return out


def _macho_fields(data: bytes, base: int = 0) -> list[tuple[int, int]]:
    out = [(base + 16, 4), (base + 20, 4)]
    ncmds, _ = struct.unpack_from("<II", data, base + 16)
    at = base + 32
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", data, at)
        out.append((at + 4, 4))
        if cmd == 0x19:
            out += [(at + 40, 8), (at + 48, 8), (at + 64, 4)]
            out += [(at + 72 + 80 * j + k, 4) for j in range(2) for k in (40, 48)]
        elif cmd == 0x2:
            out += [(at + 8, 4), (at + 12, 4), (at + 16, 4), (at + 20, 4)]
        elif cmd in (0xC, 0x8000001C, 0x1D):
            out += [(at + 8, 4), (at + 12, 4)]
        at += size
    return out


PE_FIELDS = _pe_fields()
MACHO_FIELDS = _macho_fields(MACHO_SEED)


def _pe_all(data: bytes) -> None:
    try:
        out = pe.normalize(data, "x.exe")
    except MalformedFileError:
        pass
    else:
        assert pe.normalize(out, "x.exe") == out
        assert len(out) == len(data)
    assert isinstance(pe.check(data, WIN, "x.exe"), list)
    assert isinstance(formats.check_stream(io.BytesIO(data), WIN, "x.exe"), list)
    found = pe.sections(io.BytesIO(data))
    assert found is None or all(s[2] >= 0 and s[3] >= 0 for s in found)
    SCANNER.scan_bytes(data, "x.exe")


def _macho_all(data: bytes) -> None:
    with contextlib.suppress(MalformedFileError):
        assert macho.normalize(data, "x") == data
    assert isinstance(macho.check(data, MAC, "x"), list)
    assert isinstance(formats.check_stream(io.BytesIO(data), MAC, "x"), list)
    found = macho.sections(io.BytesIO(data))
    assert found is None or all(s[2] >= 0 and s[3] >= 0 for s in found)
    SCANNER.scan_bytes(data, "x")


@settings(max_examples=examples(150))
@given(mutated_bytes(PE_SEED, fields=PE_FIELDS))
@example(PE_SEED)
def test_mutated_pe(data: bytes) -> None:
    _pe_all(data)


@settings(max_examples=examples(150))
@given(
    st.one_of(
        mutated_bytes(MACHO_SEED, fields=MACHO_FIELDS),
        mutated_bytes(FAT_SEED, fields=[(4, 4), (16, 4), (20, 4)]),
    )
)
@example(MACHO_SEED)
@example(FAT_SEED)
def test_mutated_macho(data: bytes) -> None:
    _macho_all(data)


def test_hostile_pe_counts_and_offsets() -> None:
    o = _PE_GEN.offsets
    cases = [
        (0x3C, "<I", 0xFFFFFFF0),  # e_lfanew past the end
        (o["coff"] + 2, "<H", 0xFFFF),  # 65535 sections
        (o["coff"] + 16, "<H", 0xFFFF),  # optional header size
        (o["coff"] + 8, "<I", 0xFFFFFFFF),  # symbol table far away
        (o["optional"] + 112 + 48, "<I", 0x7FFFFFFF),  # debug directory RVA
        (o["optional"] + 112 + 52, "<I", 0xFFFFFFF0),  # its size: many entries
        (o["debug_dir"] + 16, "<I", 0xFFFFFFFF),  # SizeOfData
        (o["debug_dir"] + 24, "<I", 0xFFFFFFFF),  # PointerToRawData
        (o["sections"] + 40 + 20, "<I", 0xFFFFFFFF),  # the DWARF section's offset
    ]
    for at, fmt, value in cases:
        data = bytearray(PE_SEED)
        struct.pack_into(fmt, data, at, value)
        _pe_all(bytes(data))
    for cut in (0x40, 0x44, 0x60, 0x150, 0x300, len(PE_SEED) - 5):
        _pe_all(PE_SEED[:cut])


def test_hostile_macho_counts_and_offsets() -> None:
    cases = [(16, 0xFFFFFFFF), (20, 0xFFFFFFFF), (36, 0), (36, 0xFFFFFFFF)]
    for at, value in cases:
        data = bytearray(MACHO_SEED)
        struct.pack_into("<I", data, at, value)
        _macho_all(bytes(data))
    for at, value in [(4, 0xFFFFFFFF), (4, 16), (16, 0xFFFFFFFF), (20, 0xFFFFFFFF)]:
        data = bytearray(FAT_SEED)
        struct.pack_into(">I", data, at, value)
        _macho_all(bytes(data))
    for cut in (4, 31, 33, 100, len(MACHO_SEED) - 3):
        _macho_all(MACHO_SEED[:cut])
