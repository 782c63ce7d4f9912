"""The section headers read straight from their bytes agree with
pyelftools on 32- and 64-bit files with symbol tables, and refuse (None)
a header table or name table that lies outside the file."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from relbuild.binaries import elfcheck, regions
from relbuild.binaries.elfsections import read_headers
from tests.elfgen import SHT_STRTAB, Elf, Section, cortex_m_firmware, x86_64_program

SHT_SYMTAB = 2


def with_symbols(elfclass: int) -> bytes:
    strings = b"\0main\0helper\0"
    size, fmt = (24, "<IBBHQQ") if elfclass == 64 else (16, "<IIIBBH")
    rows = [bytes(size)]
    for at in (1, 6):
        fields = (at, 0x12, 0, 1, 0x1000, 0) if elfclass == 64 else (at, 0x1000, 0, 0x12, 0, 1)
        rows.append(struct.pack(fmt, *fields))
    return Elf(
        elfclass=elfclass,
        sections=[
            Section(".text", b"\x90" * 8),
            Section(".strtab", strings, type=SHT_STRTAB, flags=0),
            Section(".symtab", b"".join(rows), type=SHT_SYMTAB, flags=0, link=2, entsize=size),
        ],
    ).build()


@pytest.mark.parametrize(
    "data",
    [x86_64_program(), cortex_m_firmware(), with_symbols(64), with_symbols(32)],
    ids=["x86_64", "cortex-m", "symbols-64", "symbols-32"],
)
def test_headers_agree_with_pyelftools(
    data: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = read_headers(io.BytesIO(data))
    assert read is not None
    elf = ELFFile(io.BytesIO(data))
    theirs = [
        (s.name, s["sh_offset"], s["sh_size"], s["sh_link"], s["sh_flags"])
        for s in elf.iter_sections()
    ]
    assert [(s.name, s.offset, s.size, s.link, s.flags) for s in read.sections] == theirs
    path = tmp_path / "f"
    path.write_bytes(data)
    fast = regions._elf_sections(io.BytesIO(data)), elfcheck.symbol_names(path)
    if b"helper" in data:
        assert fast[1] == {"", "main", "helper"}
    # Where the straight reader refuses a file, pyelftools gives the same.
    monkeypatch.setattr(elfcheck, "read_headers", lambda fh: None)
    assert elfcheck.section_headers(io.BytesIO(data)) == read
    assert (regions._elf_sections(io.BytesIO(data)), elfcheck.symbol_names(path)) == fast


def test_tables_outside_the_file_are_refused() -> None:
    good = with_symbols(64)
    shoff = struct.unpack_from("<Q", good, 0x28)[0]
    assert read_headers(io.BytesIO(good[: shoff + 10])) is None  # table cut short
    beyond = bytearray(good)
    struct.pack_into("<Q", beyond, 0x28, len(good) + 64)
    assert read_headers(io.BytesIO(bytes(beyond))) is None
    names = bytearray(good)
    struct.pack_into("<H", names, 0x3E, 200)  # shstrndx past the table
    assert read_headers(io.BytesIO(bytes(names))) is None
    assert read_headers(io.BytesIO(b"\x7fELF\x02\x01")) is None
    assert read_headers(io.BytesIO(b"MZ" + bytes(100))) is None
