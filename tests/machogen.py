"""Small 64-bit Mach-O executables built byte by byte, for the Mach-O
reader's tests: __TEXT with one section, an optional __DWARF segment,
__LINKEDIT with a symbol table whose strings hold an N_OSO path, and the
load commands the checks read (LC_BUILD_VERSION or LC_VERSION_MIN_MACOSX,
LC_LOAD_DYLIB, LC_RPATH, LC_CODE_SIGNATURE)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

X86_64, ARM64 = 0x01000007, 0x0100000C
_LC_SEGMENT_64, _LC_SYMTAB, _LC_LOAD_DYLIB, _LC_RPATH = 0x19, 0x2, 0xC, 0x8000001C
_LC_CODE_SIGNATURE, _LC_BUILD_VERSION, _LC_VERSION_MIN_MACOSX = 0x1D, 0x32, 0x24
_N_OSO = 0x66


def _version(v: tuple[int, int, int]) -> int:
    return v[0] << 16 | v[1] << 8 | v[2]


def _padded(data: bytes, to: int = 8) -> bytes:
    return data + bytes(-len(data) % to)


@dataclass
class MachO:
    cpu: int = ARM64
    minos: tuple[int, int, int] = (11, 0, 0)
    sdk: tuple[int, int, int] = (15, 5, 0)
    platform: int = 1  # PLATFORM_MACOS
    version_min: bool = False  # LC_VERSION_MIN_MACOSX instead of LC_BUILD_VERSION
    no_version: bool = False
    signed: bool = True
    libraries: tuple[str, ...] = ("/usr/lib/libSystem.B.dylib",)
    rpath: str | None = None
    oso: str = "/Users/alice/proj/.zig-cache/o/0123/main.o"
    dwarf: bytes | None = None  # a __DWARF,__debug_info section's bytes

    def build(self) -> bytes:
        text = _padded(b"\x1f\x20\x03\xd5" * 4, 16)
        strings = _padded(b"\0" + self.oso.encode() + b"\0_main\0")
        symbols = struct.pack("<IBBHQ", 1, _N_OSO, 0, 1, 0)
        signature = bytes(32) if self.signed else b""
        # Commands first with placeholder offsets, to learn their size.
        cmds = self._commands(0, text, symbols, strings, signature)
        at = 32 + len(cmds)
        at += -at % 16
        cmds = self._commands(at, text, symbols, strings, signature)
        header = struct.pack("<IiiIIIII", 0xFEEDFACF, self.cpu, 0, 2, self._ncmds, len(cmds), 0, 0)
        out = header + cmds
        out += bytes(at - len(out))
        out += text + (self.dwarf or b"") + symbols + strings + signature
        return out

    def _commands(
        self, at: int, text: bytes, symbols: bytes, strings: bytes, signature: bytes
    ) -> bytes:
        cmds: list[bytes] = []
        cmds.append(_segment("__TEXT", [("__text", at, len(text))], 0, at + len(text)))
        cursor = at + len(text)
        if self.dwarf is not None:
            sect = [("__debug_info", cursor, len(self.dwarf))]
            cmds.append(_segment("__DWARF", sect, cursor, len(self.dwarf)))
            cursor += len(self.dwarf)
        linkedit = len(symbols) + len(strings) + len(signature)
        cmds.append(_segment("__LINKEDIT", [], cursor, linkedit))
        cmds.append(
            struct.pack("<IIIIII", _LC_SYMTAB, 24, cursor, 1, cursor + len(symbols), len(strings))
        )
        if not self.no_version:
            if self.version_min:
                version = struct.pack(
                    "<IIII", _LC_VERSION_MIN_MACOSX, 16, _version(self.minos), _version(self.sdk)
                )
            else:
                version = struct.pack(
                    "<IIIIII",
                    _LC_BUILD_VERSION,
                    24,
                    self.platform,
                    _version(self.minos),
                    _version(self.sdk),
                    0,
                )
            cmds.append(version)
        for lib in self.libraries:
            name = _padded(lib.encode() + b"\0")
            cmds.append(struct.pack("<IIIIII", _LC_LOAD_DYLIB, 24 + len(name), 24, 2, 0, 0) + name)
        if self.rpath is not None:
            path = _padded(self.rpath.encode() + b"\0")
            cmds.append(struct.pack("<III", _LC_RPATH, 12 + len(path), 12) + path)
        if self.signed:
            sig_at = cursor + len(symbols) + len(strings)
            cmds.append(struct.pack("<IIII", _LC_CODE_SIGNATURE, 16, sig_at, len(signature)))
        self._ncmds = len(cmds)
        return b"".join(cmds)


def _segment(name: str, sections: list[tuple[str, int, int]], fileoff: int, size: int) -> bytes:
    head = struct.pack(
        "<II16sQQQQiiII",
        _LC_SEGMENT_64,
        72 + 80 * len(sections),
        name.encode(),
        0x100000000 + fileoff,
        size,
        fileoff,
        size,
        5,
        5,
        len(sections),
        0,
    )
    body = b"".join(
        struct.pack(
            "<16s16sQQIIIIIIII",
            sect.encode(),
            name.encode(),
            0x100000000 + offset,
            length,
            offset,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
        )
        for sect, offset, length in sections
    )
    return head + body


def fat(slices: list[tuple[int, bytes]]) -> bytes:
    """A universal file of (cputype, thin file) slices, 16-byte aligned."""
    header = struct.pack(">II", 0xCAFEBABE, len(slices))
    at = 8 + 20 * len(slices)
    at += -at % 16
    table, body = b"", b""
    for cpu, data in slices:
        table += struct.pack(">iiIII", cpu, 0, at + len(body), len(data), 4)
        body += _padded(data, 16)
    return header + table + bytes(at - 8 - len(table)) + body
