"""Small thin Mach-O files for the unit and fuzz tests: a header, an
LC_BUILD_VERSION (macOS 12.0) and, when asked, an LC_CODE_SIGNATURE that
points nowhere, then the body given at offset 256; LIEF and llvm-lipo read
them as Mach-O programs."""

from __future__ import annotations

import struct

MH_MAGIC_64 = 0xFEEDFACF
CPU_X86_64 = 0x01000007
CPU_ARM64 = 0x0100000C
_LC_BUILD_VERSION, _LC_CODE_SIGNATURE = 0x32, 0x1D
_MH_EXECUTE = 2


def thin(
    cputype: int, cpusubtype: int = 0, *, signed: bool = False, minos: int = 12, body: bytes = b""
) -> bytes:
    cmds = struct.pack("<IIIIII", _LC_BUILD_VERSION, 24, 1, minos << 16, minos << 16, 0)
    ncmds = 1
    if signed:
        cmds += struct.pack("<IIII", _LC_CODE_SIGNATURE, 16, 0, 0)
        ncmds += 1
    header = struct.pack(
        "<IiiIIIII", MH_MAGIC_64, cputype, cpusubtype, _MH_EXECUTE, ncmds, len(cmds), 0, 0
    )
    # The body at offset 256, where what scans for aligned magic finds it.
    return (header + cmds).ljust(256, b"\0") + (body or bytes(100))


def x86_64(body: bytes = b"") -> bytes:
    return thin(CPU_X86_64, 3, body=body)


def arm64(body: bytes = b"", *, signed: bool = True) -> bytes:
    return thin(CPU_ARM64, 0, signed=signed, body=body)
