"""The ABI check's object readers on Windows (COFF) and macOS (Mach-O)
objects: tests/fixtures/abi-objects holds one small object per format,
compiled by the pinned zig from probe.c (make.sh), with `long twice(long)`
defined and the probe's variables (`__typeof__(twice) *`, `struct pair`).
On Windows `long` is 4 bytes (LLP64), on macOS 8 (LP64): the readers must
say so from each object's own DWARF."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from relbuild.abi.model import Pointer, Record, render, render_layout
from relbuild.abi.objects import _archive, read_exports, read_probe
from relbuild.abi.objfile import _secrel, object_format, read_object
from relbuild.binaries import coff
from relbuild.errors import UsageError
from tests.conftest import REPO
from tests.unit.test_abi import _ar

OBJECTS = REPO / "tests" / "fixtures" / "abi-objects"
COFF = OBJECTS / "probe-x86_64-windows-gnu.o"
MACHO = OBJECTS / "probe-aarch64-macos.o"


def _bsd_ar(members: list[tuple[str, bytes]], index: dict[str, int]) -> bytes:
    """A BSD archive as LLVM writes it for Darwin: `#1/N` names (the name
    first in the body, NUL-padded to 8) and a `__.SYMDEF` index of
    (name offset, member header offset) pairs, little-endian."""

    def member(name: str, body: bytes) -> bytes:
        raw = name.encode()
        raw += bytes(-len(raw) % 8 or 8)
        size = len(raw) + len(body)
        head = f"#1/{len(raw):<13}{0:<12}{0:<6}{0:<6}{644:<8}{size:<10}`\n".encode()
        return head + raw + body + (b"\n" if size & 1 else b"")

    names = list(index)
    strings = b"".join(b"_" + n.encode() + b"\0" for n in names)
    table_len = 8 * len(names)
    symdef_size = len(member("__.SYMDEF", bytes(4 + table_len + 4 + len(strings))))
    offsets, pos = [], 8 + symdef_size
    for name, body in members:
        offsets.append(pos)
        pos += len(member(name, body))
    table, at = b"", 0
    for n in names:
        table += at.to_bytes(4, "little") + offsets[index[n]].to_bytes(4, "little")
        at += len(n) + 2
    body = table_len.to_bytes(4, "little") + table + len(strings).to_bytes(4, "little") + strings
    out = b"!<arch>\n" + member("__.SYMDEF", body)
    return out + b"".join(member(name, data) for name, data in members)


@pytest.mark.parametrize(
    ("path", "fmt", "long_size", "pair"),
    [(COFF, "coff", 4, "struct pair {i32 @0, i8 @4} size 8"),
     (MACHO, "macho", 8, "struct pair {i64 @0, i8 @8} size 16")],
)  # fmt: skip
def test_each_format_says_what_long_is_from_its_own_dwarf(
    path: Path, fmt: str, long_size: int, pair: str
) -> None:
    data = path.read_bytes()
    assert object_format(data) == fmt
    obj = read_object(data, path.name)
    assert obj.functions == {"twice"}  # Mach-O's `_twice`, by its C name
    assert obj.pointer_size == 8
    view = read_exports(path, {"twice"})
    sig = view.functions["twice"].sig
    assert sig is not None
    assert render(sig) == f"fn(i{8 * long_size}) -> i{8 * long_size}"
    assert view.functions["twice"].place.line == 8
    shapes = read_probe(data, "__relbuild_abi_")
    fn = shapes["__relbuild_abi_fn_0"]
    assert isinstance(fn, Pointer) and fn.to is not None
    assert render(fn.to) == render(sig)
    record = shapes["__relbuild_abi_st_0"]
    assert isinstance(record, Record)
    assert render_layout(record) == pair


def test_a_gnu_archive_of_coff_objects_is_read_by_its_index() -> None:
    body = COFF.read_bytes()
    archive = _ar([("other.o", b"not an object"), ("lab.o", body)], {"twice": 1})
    members, index = _archive(archive)
    assert index == {"twice": next(o for o, (n, _) in members.items() if n == "lab.o")}


def test_a_bsd_archive_names_members_in_their_bodies_and_drops_the_underscore(
    tmp_path: Path,
) -> None:
    body = MACHO.read_bytes()
    data = _bsd_ar([("a-long-member-name.rcgu.o", body), ("b.o", b"junk")], {"twice": 0})
    members, index = _archive(data)
    assert index is not None
    assert set(index) == {"twice"}
    assert members[index["twice"]] == ("a-long-member-name.rcgu.o", body)
    lib = tmp_path / "liblab.a"
    lib.write_bytes(data)
    view = read_exports(lib, {"twice", "gone"})
    assert view.symbols == {"twice"}
    assert view.functions["twice"].sig is not None


def test_a_bsd_index_pointing_nowhere_is_not_trusted() -> None:
    data = bytearray(_bsd_ar([("a.o", b"AAAA")], {"f": 0}))
    at = 8 + 60 + 16 + 4 + 4  # header, the name, the table's size, the name offset
    data[at : at + 4] = (12345).to_bytes(4, "little")
    members, index = _archive(bytes(data))
    assert index is None
    assert [m[0] for m in members.values()] == ["a.o"]


def _coff(
    sections: list[tuple[str, bytes, list[tuple[int, int, int]]]],
    symbols: list[tuple[str, int, int, int, int]],
) -> bytes:
    """A regular AMD64 COFF object: sections (name, bytes, relocations as
    (offset, symbol index, type)) and symbols (name, value, section, type,
    storage class); names longer than 8 bytes go to the string table."""
    strings = bytearray(4)

    def name8(name: str) -> bytes:
        if len(name) <= 8:
            return name.encode().ljust(8, b"\0")
        at = len(strings)
        strings.extend(name.encode() + b"\0")
        return bytes(4) + at.to_bytes(4, "little")

    at = 20 + 40 * len(sections)
    headers, bodies = b"", b""
    for name, data, relocs in sections:
        raw = name8(name) if len(name) <= 8 else f"/{len(strings)}".encode().ljust(8, b"\0")
        if len(name) > 8:
            strings.extend(name.encode() + b"\0")
        rel = b"".join(struct.pack("<IIH", *r) for r in relocs)
        headers += struct.pack(
            "<8sIIIIIIHHI", raw, 0, 0, len(data), at, at + len(data), 0, len(relocs), 0, 0x42100040
        )
        bodies += data + rel
        at += len(data) + len(rel)
    table = b"".join(
        name8(n) + struct.pack("<IhHBB", v, sec, t, cls, 0) for n, v, sec, t, cls in symbols
    )
    strings[:4] = len(strings).to_bytes(4, "little")
    head = struct.pack("<HHIIIHH", 0x8664, len(sections), 0, at, len(symbols), 0, 0)
    return head + headers + bodies + table + bytes(strings)


def test_coff_secrel_adds_the_symbols_offset_to_the_offset_in_place() -> None:
    content = (7).to_bytes(4, "little") * 2 + b"\xff\xff"
    relocs = [
        (0, 0, 0x000B),
        (4, 1, 0x000B),
        (0, 1, 0x0001),
        (8, 1, 0x000B),
    ]  # ADDR64; past the end
    data = _coff(
        [(".debug_info", content, relocs), (".text", b"\xc3", [])],
        [(".debug_str", 0, 1, 0, 3), ("a_function_with_a_long_name", 0x10, 2, 0x20, 2)],
    )
    obj = coff.CoffObject(data)
    assert [s.name for s in obj.sections] == [".debug_info", ".text"]
    symbols = obj.symbols()
    assert symbols[1].name == "a_function_with_a_long_name"
    out = _secrel(obj, obj.sections[0], symbols, 0x000B)
    assert out == (7).to_bytes(4, "little") + (0x17).to_bytes(4, "little") + b"\xff\xff"
    assert read_object(data, "x.o", with_dwarf=False).functions == {"a_function_with_a_long_name"}


def test_every_function_of_a_comdat_per_function_object_is_found() -> None:
    """rustc's arm64 objects: one `.text$name` COMDAT section per function,
    each section symbol with an auxiliary record, then the function."""
    names = ["lab_checksum", "lab_scale", "lab_sum"]
    no_relocs: list[tuple[int, int, int]] = []
    sections = [(f".text${n}", b"\xc0\x03\x5f\xd6", no_relocs) for n in names]
    data = bytearray(_coff(sections, []))
    # Rebuild with auxiliary records: (section symbol + 1 aux, function) per section.
    table = b""
    strings = bytearray(4)
    for i, n in enumerate(names):
        for name, cls, naux, type_ in ((f".text${n}", 3, 1, 0), (n, 2, 0, 0x20)):
            raw = name.encode()
            if len(raw) > 8:
                field = bytes(4) + len(strings).to_bytes(4, "little")
                strings.extend(raw + b"\0")
            else:
                field = raw.ljust(8, b"\0")
            table += field + struct.pack("<IhHBB", 0, i + 1, type_, cls, naux)
            table += bytes(18) * naux
    strings[:4] = len(strings).to_bytes(4, "little")
    symtab = struct.unpack_from("<I", data, 8)[0]
    data[12:16] = (len(table) // 18).to_bytes(4, "little")
    data[symtab:] = table + bytes(strings)
    obj = read_object(bytes(data), "lab.o", with_dwarf=False)
    assert obj.functions == set(names)


def test_what_is_no_object_is_a_usage_error(tmp_path: Path) -> None:
    junk = tmp_path / "libx.a"
    junk.write_bytes(b"MZ not a library")
    with pytest.raises(UsageError, match="nor an ar archive"):
        read_exports(junk, {"f"})
    with pytest.raises(UsageError, match="the C probe object"):
        read_probe(b"\0\0\0\0", "__relbuild_abi_")
