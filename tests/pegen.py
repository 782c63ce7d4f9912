"""Small PE32+ images built byte by byte, for the PE reader's tests: one
.rdata section (import table, debug directory, CodeView record) and
optionally a DWARF section with a long name (``/4`` in the section table,
``.debug_info`` in the COFF string table), as MinGW's linkers write."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

AMD64, ARM64, I386 = 0x8664, 0xAA64, 0x14C
CUI, GUI = 3, 2
_OPT = "<HBBIIIIIQIIHHHHHHIIIIHHQQQQII"  # PE32+ optional header, before the directories
_LFANEW = 0x40
_FILE_ALIGN = 0x200
_RDATA_RVA = 0x1000


@dataclass
class Pe:
    machine: int = AMD64
    magic: int = 0x20B
    subsystem: int = CUI
    dll: bool = False
    imports: list[str] = field(default_factory=lambda: ["KERNEL32.dll"])
    timestamp: int = 0x6B1F00CC
    debug_timestamp: int = 0x6B1F00CC
    guid: bytes = bytes(range(1, 17))
    age: int = 3
    pdb: bytes | None = b"/home/alice/proj/zig-out/bin/hello.pdb"
    pdb_room: int = 64  # bytes for the path, NUL included
    checksum: int = 0
    dwarf: bytes | None = None  # a ".debug_info" section's bytes

    # Where build() put things, for tests that patch them.
    offsets: dict[str, int] = field(default_factory=dict)

    def _rdata(self) -> tuple[bytes, int, int, int, int]:
        """.rdata, the size of its import descriptors, where the debug
        entry and the CodeView record are in it and the record's size."""
        rdata = bytearray()
        # Import descriptors (20 bytes each, then a null one), then per DLL
        # its lookup table, address table, hint/name and DLL name.
        desc_size = 20 * (len(self.imports) + 1)
        rdata += bytes(desc_size)
        for i, dll in enumerate(self.imports):
            hint = len(rdata)
            rdata += b"\0\0" + b"ExitProcess\0"
            rdata += bytes(-len(rdata) % 8)
            ilt = len(rdata)
            rdata += struct.pack("<QQ", _RDATA_RVA + hint, 0)
            iat = len(rdata)
            rdata += struct.pack("<QQ", _RDATA_RVA + hint, 0)
            dll_at = len(rdata)
            rdata += dll.encode() + b"\0"
            rdata += bytes(-len(rdata) % 8)
            struct.pack_into(
                "<IIIII",
                rdata,
                20 * i,
                _RDATA_RVA + ilt,
                0,
                0,
                _RDATA_RVA + dll_at,
                _RDATA_RVA + iat,
            )
        debug_dir = len(rdata)
        rdata += bytes(28)
        record = len(rdata)
        if self.pdb is not None:
            rdata += b"RSDS" + self.guid + struct.pack("<I", self.age)
            rdata += self.pdb + bytes(self.pdb_room - len(self.pdb))
        record_size = len(rdata) - record
        rdata += bytes(-len(rdata) % _FILE_ALIGN)
        return bytes(rdata), desc_size, debug_dir, record, record_size

    def build(self) -> bytes:
        rdata, desc_size, debug_dir, record, record_size = self._rdata()

        sections: list[tuple[bytes, bytes]] = [(b".rdata", rdata)]
        if self.dwarf is not None:
            sections.append((b"/4", self.dwarf + bytes(-len(self.dwarf) % _FILE_ALIGN)))
        headers = _LFANEW + 24 + 240 + 40 * len(sections)
        size_of_headers = headers + (-headers % _FILE_ALIGN)
        offset = size_of_headers
        table = b""
        body = b""
        for i, (name, data) in enumerate(sections):
            rva = _RDATA_RVA + 0x1000 * i
            table += struct.pack(
                "<8sIIIIIIHHI", name, len(data), rva, len(data), offset, 0, 0, 0, 0, 0x40000040
            )
            body += data
            offset += len(data)
        rdata_at = size_of_headers
        self.offsets = {
            "coff": _LFANEW + 4,
            "optional": _LFANEW + 24,
            "checksum": _LFANEW + 24 + 64,
            "debug_dir": rdata_at + debug_dir,
            "record": rdata_at + record,
            "sections": _LFANEW + 24 + 240,
        }
        # The debug entry: Type 2 (CodeView), its data by RVA and by offset.
        debug = struct.pack(
            "<IIHHIIII",
            0,
            self.debug_timestamp,
            0,
            0,
            2,
            record_size,
            _RDATA_RVA + record,
            rdata_at + record,
        )
        body = body[:debug_dir] + debug + body[debug_dir + 28 :]
        # The COFF string table (size, then names) after the sections.
        strings = b""
        symtab = 0
        if self.dwarf is not None:
            symtab = offset
            names = b".debug_info\0"
            strings = struct.pack("<I", 4 + len(names)) + names
            # "/4": the name at offset 4 of the string table.
        coff = struct.pack(
            "<HHIIIHH",
            self.machine,
            len(sections),
            self.timestamp,
            symtab,
            0,
            240,
            0x2022 if self.dll else 0x22,
        )
        opt = self._optional(len(sections), size_of_headers, len(rdata), desc_size, debug_dir)
        head = bytearray(_LFANEW)
        head[:2] = b"MZ"
        struct.pack_into("<I", head, 0x3C, _LFANEW)
        out = bytes(head) + b"PE\0\0" + coff + opt + table
        out += bytes(size_of_headers - len(out))
        return out + body + strings

    def _optional(
        self, nsections: int, size_of_headers: int, code: int, desc_size: int, debug_dir: int
    ) -> bytes:
        """The PE32+ optional header and its 16 data directories."""
        image = _RDATA_RVA + 0x1000 * nsections
        directories = [(0, 0)] * 16
        directories[1] = (_RDATA_RVA, desc_size)
        if self.pdb is not None:
            directories[6] = (_RDATA_RVA + debug_dir, 28)
        fields = [self.magic, 14, 0, 0, code, 0, 0, 0, 0x140000000, 0x1000, _FILE_ALIGN]
        fields += [6, 0, 0, 0, 6, 0, 0, image, size_of_headers, self.checksum, self.subsystem]
        fields += [0x8160, 0x100000, 0x1000, 0x100000, 0x1000, 0, 16]
        return struct.pack(_OPT, *fields) + b"".join(struct.pack("<II", *d) for d in directories)
