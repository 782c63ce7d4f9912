"""The PE reader on small crafted images: normalization of what lld stamps,
the header and import checks, the facts, and the sections the leak scanner
reads (long DWARF section names resolved)."""

from __future__ import annotations

import io
import struct
import zlib

import pefile
import pytest

from relbuild.binaries import pe
from relbuild.binaries.leaks import Scanner, common_root_needles
from relbuild.config.triples import TRIPLES
from relbuild.errors import MalformedFileError
from tests.pegen import ARM64, GUI, I386, Pe

X64 = TRIPLES["x86_64-pc-windows-gnu"]
A64 = TRIPLES["aarch64-pc-windows-gnullvm"]


def _debug(data: bytes) -> pefile.Structure:
    parsed = pefile.PE(data=data)
    (entry,) = parsed.DIRECTORY_ENTRY_DEBUG
    return entry


def test_normalize_zeroes_stamps_and_derives_the_guid() -> None:
    a = Pe(timestamp=1, debug_timestamp=2, guid=b"A" * 16, age=7).build()
    b = Pe(timestamp=3, debug_timestamp=4, guid=b"B" * 16, age=9).build()
    assert a != b
    na, nb = pe.normalize(a), pe.normalize(b)
    assert na == nb
    parsed = pefile.PE(data=na)
    assert parsed.FILE_HEADER.TimeDateStamp == 0
    entry = _debug(na)
    assert entry.struct.TimeDateStamp == 0
    assert entry.entry.Age == 1
    assert entry.entry.PdbFileName.rstrip(b"\0") == b"hello.pdb"
    # The GUID is a hash of the rest: not zero, and it follows the content.
    gen = Pe()
    gen.build()
    guid = na[gen.offsets["record"] + 4 : gen.offsets["record"] + 20]
    assert guid != bytes(16)
    other = pe.normalize(Pe(subsystem=GUI).build())
    assert other[gen.offsets["record"] + 4 : gen.offsets["record"] + 20] != guid


def test_normalize_is_idempotent_and_keeps_the_size() -> None:
    data = Pe(checksum=0x1234).build()
    once = pe.normalize(data)
    assert pe.normalize(once) == once
    assert len(once) == len(data)


def test_pdb_path_cut_to_its_name_in_place() -> None:
    gen = Pe(pdb=b"C:\\Users\\alice\\src\\app\\target\\app.pdb", pdb_room=80)
    data = gen.build()
    out = pe.normalize(data)
    field = out[gen.offsets["record"] + 24 : gen.offsets["record"] + 24 + 80]
    assert field == b"app.pdb" + bytes(73)
    assert b"alice" not in out
    # Every byte outside the stamped fields is as it was.
    changed = [i for i in range(len(data)) if data[i] != out[i]]
    rec = gen.offsets["record"]
    allowed = (
        set(range(gen.offsets["coff"] + 4, gen.offsets["coff"] + 8))
        | set(range(gen.offsets["debug_dir"] + 4, gen.offsets["debug_dir"] + 8))
        | set(range(rec + 4, rec + 24 + 80))
    )
    assert set(changed) <= allowed


def test_checksum_recomputed_when_there_was_one_else_left_zero() -> None:
    with_sum = pe.normalize(Pe(checksum=0xDEAD).build())
    parsed = pefile.PE(data=with_sum)
    assert parsed.OPTIONAL_HEADER.CheckSum != 0
    assert parsed.verify_checksum()
    without = pefile.PE(data=pe.normalize(Pe(checksum=0).build()))
    assert without.OPTIONAL_HEADER.CheckSum == 0


def test_no_debug_directory_only_the_stamp_goes() -> None:
    gen = Pe(pdb=None, timestamp=77)
    data = gen.build()
    out = pe.normalize(data)
    assert pefile.PE(data=out).FILE_HEADER.TimeDateStamp == 0
    assert sum(x != y for x, y in zip(data, out, strict=True)) == 1


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"MZ",
        b"\x7fELF" + bytes(100),
        Pe().build()[:0x60],  # cut inside the headers
        Pe().build()[:0x150],  # cut inside the section table
    ],
)
def test_normalize_refuses_what_is_no_pe(data: bytes) -> None:
    with pytest.raises(MalformedFileError, match="PE"):
        pe.normalize(data, "x.exe")


def test_normalize_refuses_a_codeview_record_outside_the_file() -> None:
    gen = Pe()
    data = bytearray(gen.build())
    struct.pack_into("<I", data, gen.offsets["debug_dir"] + 24, len(data) - 8)  # PointerToRawData
    with pytest.raises(MalformedFileError):
        pe.normalize(bytes(data), "x.exe")


def test_check_passes_a_matching_console_program() -> None:
    assert pe.check(Pe().build(), X64, "app.exe") == []
    assert pe.check(Pe(machine=ARM64).build(), A64, "app.exe") == []


def test_check_catches_the_wrong_machine_both_ways() -> None:
    amd = pe.check(Pe().build(), A64, "app.exe")
    assert amd == [
        "app.exe: machine is IMAGE_FILE_MACHINE_AMD64, aarch64-pc-windows-gnullvm needs "
        "IMAGE_FILE_MACHINE_ARM64"
    ]
    arm = pe.check(Pe(machine=ARM64).build(), X64, "app.exe")
    assert arm and "IMAGE_FILE_MACHINE_ARM64" in arm[0] and "x86_64-pc-windows-gnu" in arm[0]


def test_check_pe32_subsystem_and_dlls() -> None:
    got = pe.check(Pe(machine=I386, magic=0x10B).build(), X64, "a.exe")
    assert any("PE32 " in p for p in got) and any("IMAGE_FILE_MACHINE_I386" in p for p in got)
    gui = Pe(subsystem=GUI).build()
    assert pe.check(gui, X64, "a.exe") == [
        "a.exe: subsystem is IMAGE_SUBSYSTEM_WINDOWS_GUI, expected IMAGE_SUBSYSTEM_WINDOWS_CUI"
    ]
    assert pe.check(gui, X64, "a.exe", subsystem="IMAGE_SUBSYSTEM_WINDOWS_GUI") == []
    assert pe.check(gui, X64, "a.exe", subsystem=None) == []
    assert pe.check(Pe(subsystem=GUI, dll=True).build(), X64, "a.dll") == []


def test_imports_outside_a_stock_windows_are_named() -> None:
    dlls = ["KERNEL32.dll", "libgcc_s_seh-1.dll", "api-ms-win-crt-heap-l1-1-0.dll"]
    dlls += ["libwinpthread-1.dll", "bcryptprimitives.dll", "VCRUNTIME140.dll", "WS2_32.dll"]
    got = pe.check(Pe(imports=dlls).build(), X64, "a.exe")
    assert got == [
        "a.exe: imports libgcc_s_seh-1.dll, which a stock Windows does not have",
        "a.exe: imports libwinpthread-1.dll, which a stock Windows does not have",
        "a.exe: imports vcruntime140.dll, which a stock Windows does not have",
    ]


def test_stock_dlls() -> None:
    for name in ("kernel32.dll", "NTDLL.DLL", "api-ms-win-core-synch-l1-2-0.dll", "userenv.dll"):
        assert pe.is_stock_dll(name)
    for name in ("libstdc++-6.dll", "libc++.dll", "synchronization.dll", "api-ms-win-crt.dll"):
        assert not pe.is_stock_dll(name)


def test_facts() -> None:
    data = Pe(imports=["WS2_32.dll", "KERNEL32.dll"]).build()
    found = pe.facts(io.BytesIO(data))
    assert found.as_dict() == {
        "machine": "IMAGE_FILE_MACHINE_AMD64",
        "subsystem": "IMAGE_SUBSYSTEM_WINDOWS_CUI",
        "dll": False,
        "dlls": ["kernel32.dll", "ws2_32.dll"],
    }


def test_check_reports_a_malformed_file_as_a_problem() -> None:
    (problem,) = pe.check(b"MZ" + bytes(10), X64, "a.exe")
    assert problem.startswith("a.exe: not a readable PE file")


def test_sections_resolve_long_names_and_the_scanner_reads_them() -> None:
    data = Pe(dwarf=b"DW_AT_comp_dir /home/alice/proj/src\0").build()
    names = [s[0] for s in pe.sections(io.BytesIO(data)) or []]
    assert names == ["headers", ".rdata", ".debug_info"]
    leaks = Scanner(common_root_needles()).scan_bytes(data, "a.exe")
    wheres = {leak.where for leak in leaks}
    assert "section .debug_info" in wheres  # the DWARF, by its long name
    assert "section .rdata" in wheres  # the PDB path, in the CodeView record
    assert Scanner(common_root_needles()).scan_bytes(pe.normalize(data), "a.exe") == [
        leak for leak in leaks if leak.where == "section .debug_info"
    ]


def test_compressed_dwarf_is_read_inflated() -> None:
    text = b"/home/alice/proj/main.go"
    zsect = b"ZLIB" + struct.pack(">Q", len(text)) + zlib.compress(text)
    gen = Pe(dwarf=zsect, pdb=None)
    data = bytearray(gen.build())
    # Rename the section .zdebug_info (the string table holds its name).
    at = data.rindex(b".debug_info")
    data[at : at + 12] = b".zdebug_inf\0"
    leaks = Scanner(common_root_needles()).scan_bytes(bytes(data), "a.exe")
    assert [(x.where, x.found) for x in leaks] == [
        ("section .zdebug_inf", "/home/alice/proj/main.go")
    ]


def test_coff_machine() -> None:
    assert pe.coff_machine(struct.pack("<HH", 0x8664, 3) + bytes(16)) == "IMAGE_FILE_MACHINE_AMD64"
    assert pe.coff_machine(struct.pack("<HH", 0, 0xFFFF) + bytes(16)) is None  # import object
    assert pe.coff_machine(b"BC\xc0\xde" + bytes(16)) is None  # LLVM bitcode


def test_coff_machine_reads_a_bigobj_header() -> None:
    """A member too large for the regular header (LLVM writes "bigobj"
    then) is still checked for its machine, not skipped."""
    bigobj = bytes.fromhex("c7a1bad1eebaa94baf20faf66aa4dcb8")
    body = struct.pack("<HHHHI", 0, 0xFFFF, 2, 0xAA64, 0) + bigobj + bytes(28)
    assert pe.coff_machine(body) == "IMAGE_FILE_MACHINE_ARM64"
