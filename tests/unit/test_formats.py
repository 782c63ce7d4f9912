"""The dispatcher over object formats: each triple's files are checked and
normalized by their format's reader; a file of another format is a
problem; static libraries are checked object by object."""

from __future__ import annotations

import io
import struct
from pathlib import Path

from relbuild.binaries import formats
from relbuild.config.triples import TRIPLES
from tests.elfgen import ar_archive, x86_64_program
from tests.pegen import ARM64, Pe

LINUX = TRIPLES["x86_64-unknown-linux-gnu"]
WIN = TRIPLES["x86_64-pc-windows-gnu"]
WIN_ARM = TRIPLES["aarch64-pc-windows-gnullvm"]
MAC = TRIPLES["aarch64-apple-darwin"]


def _coff(machine: int) -> bytes:
    return struct.pack("<HHIIIHH", machine, 0, 0, 0, 0, 0, 0)


def test_elf_triples_keep_the_elf_checks(tmp_path: Path) -> None:
    path = tmp_path / "app"
    path.write_bytes(x86_64_program())
    assert formats.check_file(path, LINUX) == []
    assert formats.check_file(path, TRIPLES["aarch64-unknown-linux-gnu"]) != []
    assert formats.normalize(x86_64_program(), LINUX) == x86_64_program()


def test_pe_triples(tmp_path: Path) -> None:
    path = tmp_path / "app.exe"
    path.write_bytes(Pe(machine=ARM64).build())
    assert formats.check_file(path, WIN_ARM) == []
    (problem,) = formats.check_file(path, WIN)
    assert problem.startswith("app.exe: machine is IMAGE_FILE_MACHINE_ARM64")


def test_a_file_of_another_format_is_a_problem() -> None:
    elf = io.BytesIO(x86_64_program())
    assert formats.check_stream(elf, WIN, "x.exe") == ["x.exe: not a PE file"]
    assert formats.check_stream(elf, MAC, "x") == ["x: not a Mach-O file"]
    assert formats.check_stream(io.BytesIO(Pe().build()), MAC, "x") == ["x: not a Mach-O file"]


def test_windows_static_library_checked_object_by_object() -> None:
    good = ar_archive([("a.o", _coff(0x8664)), ("b.o", _coff(0x8664))])
    assert formats.check_stream(io.BytesIO(good), WIN, "libx.a") == []
    bad = ar_archive([("a.o", _coff(0x8664)), ("b.o", _coff(0xAA64))])
    assert formats.check_stream(io.BytesIO(bad), WIN, "libx.a") == [
        "libx.a(b.o): machine is IMAGE_FILE_MACHINE_ARM64, x86_64-pc-windows-gnu needs "
        "IMAGE_FILE_MACHINE_AMD64"
    ]
    elf_lib = ar_archive([("a.o", x86_64_program())])
    assert formats.check_stream(io.BytesIO(elf_lib), WIN, "libx.a") == [
        "libx.a: archive holds no COFF object"
    ]


def test_normalize_dispatches_on_the_triple() -> None:
    data = Pe(timestamp=5).build()
    assert formats.normalize(data, WIN) != data
    assert formats.normalize(data, WIN) == formats.normalize(formats.normalize(data, WIN), WIN)
    assert formats.normalize(data, LINUX) == data  # not its format: left as it is
    lib = ar_archive([("a.o", _coff(0x8664))])
    assert formats.normalize(lib, WIN) == lib
