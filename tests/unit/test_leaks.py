"""The leak scanner finds machine paths where `strings` cannot: in
compressed debug sections, inside static-library members and inside
tarballs."""

from __future__ import annotations

import gzip
import io
import struct
import tarfile
import zlib
from pathlib import Path

from relbuild.binaries.leaks import Scanner, common_root_needles, machine_needles

SECRET = b"/home/alice/src/project"
SHF_COMPRESSED = 0x800


def make_elf(sections: list[tuple[str, bytes, int]]) -> bytes:
    """A minimal ELF64 relocatable object holding the given sections
    (name, bytes as stored, sh_flags), plus .shstrtab."""
    names = b"\0"
    offsets = []
    for name, _, _ in [*sections, (".shstrtab", b"", 0)]:
        offsets.append(len(names))
        names += name.encode() + b"\0"
    body = b""
    placed = []
    for _, data, _ in sections:
        placed.append(64 + len(body))
        body += data
    placed.append(64 + len(body))
    body += names
    shoff = 64 + len(body)
    count = len(sections) + 2
    header = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    header += struct.pack(
        "<HHIQQQIHHHHHH", 1, 62, 1, 0, 0, shoff, 0, 64, 0, 0, 64, count, count - 1
    )
    shdrs = bytes(64)  # the null section
    for i, (_, data, flags) in enumerate(sections):
        shdrs += struct.pack(
            "<IIQQQQIIQQ", offsets[i], 1, flags, 0, placed[i], len(data), 0, 0, 1, 0
        )
    shdrs += struct.pack("<IIQQQQIIQQ", offsets[-1], 3, 0, 0, placed[-1], len(names), 0, 0, 1, 0)
    return header + body + shdrs


def compressed(data: bytes) -> bytes:
    return struct.pack("<IIQQ", 1, 0, len(data), 1) + zlib.compress(data)


def ar(members: list[tuple[str, bytes]]) -> bytes:
    out = b"!<arch>\n"
    for name, body in members:
        out += f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{644:<8}{len(body):<10}`\n".encode() + body
        out += b"\n" if len(body) % 2 else b""
    return out


def tar_gz(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, body in members:
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return gzip.compress(buf.getvalue(), mtime=0)


def needles() -> Scanner:
    return Scanner(machine_needles([("project root", "/home/alice/src/project")], []))


def test_path_in_compressed_debug_info_is_found_and_named() -> None:
    debug = b"\x01\x02comp_dir\0" + SECRET + b"/cmd/app\0more"
    elf = make_elf([(".text", b"\x90" * 16, 0), (".debug_info", compressed(debug), SHF_COMPRESSED)])
    assert SECRET not in elf  # invisible to `strings`
    leaks = needles().scan_bytes(elf, "app")
    assert [(x.where, x.label) for x in leaks] == [("section .debug_info", "project root")]
    assert leaks[0].found == "/home/alice/src/project/cmd/app"


def test_path_in_zdebug_section_is_found() -> None:
    debug = b"name\0" + SECRET + b"\0"
    zdebug = b"ZLIB" + struct.pack(">Q", len(debug)) + zlib.compress(debug)
    elf = make_elf([(".zdebug_str", zdebug, 0)])
    assert SECRET not in elf
    leaks = needles().scan_bytes(elf, "old")
    assert [x.where for x in leaks] == ["section .zdebug_str"]


def test_path_in_static_library_member_is_found() -> None:
    clean = make_elf([(".text", b"\x90" * 8, 0)])
    dirty = make_elf([(".debug_str", compressed(SECRET + b"/lib.rs\0"), SHF_COMPRESSED)])
    lib = ar([("clean.o", clean), ("dirty.o", dirty)])
    leaks = needles().scan_bytes(lib, "libx.a")
    assert [x.where for x in leaks] == ["member libx.a(dirty.o) section .debug_str"]


def test_path_inside_tarball_member_is_found() -> None:
    inner = make_elf([(".debug_line", compressed(SECRET + b"/a.c\0"), SHF_COMPRESSED)])
    archive = tar_gz([("app-1.0/README", b"hello\n"), ("app-1.0/app", inner)])
    assert SECRET not in archive
    leaks = needles().scan_bytes(archive, "app-1.0.tar.gz")
    assert [x.where for x in leaks] == ["member app-1.0/app section .debug_line"]


def test_path_needle_respects_component_boundaries() -> None:
    scanner = needles()
    assert scanner.scan_bytes(b"x /home/alice/src/projectile y", "f") == []
    assert scanner.scan_bytes(b"x /home/alice/src/project.git y", "f") == []
    assert len(scanner.scan_bytes(b"x /home/alice/src/project/y", "f")) == 1
    assert len(scanner.scan_bytes(b"x /home/alice/src/project\0", "f")) == 1


def test_general_paths_and_names_are_not_needles() -> None:
    found = machine_needles(
        [("rust", "/usr"), ("tmp", "/tmp"), ("home", "/root"), ("cache", "/srv/ci/cache")],
        [("user", "root"), ("host", "vm"), ("host", "buildhost-42")],
    )
    assert sorted(n.label for n in found) == ["cache", "home", "host"]
    scanner = Scanner(found)
    assert scanner.scan_bytes(b"uses /usr/lib and /tmp and root", "f") == []
    assert [x.label for x in scanner.scan_bytes(b"built on buildhost-42.", "f")] == ["host"]
    assert scanner.scan_bytes(b"buildhost-420", "f") == []


def test_common_roots_for_verify() -> None:
    scanner = Scanner(common_root_needles())
    data = make_elf(
        [(".debug_str", compressed(b"/Users/bob/go/src/x.go\0/home/carol/p/a.c\0"), SHF_COMPRESSED)]
    )
    labels = sorted(x.label for x in scanner.scan_bytes(data, "bin"))
    assert labels == ["/Users/<user>", "/home/<user>"]
    assert scanner.scan_bytes(b"/tmp and /root and /home are words", "f") == []


def test_hostile_input_is_bounded() -> None:
    bomb = gzip.compress(bytes(16 << 20))  # 16 MiB of zeros, 16 KiB packed
    assert needles().scan_bytes(bomb, "bomb.tar.gz") == []
    assert needles().scan_bytes(b"\x7fELF" + bytes(100), "broken") == []
    assert needles().scan_bytes(b"!<arch>\n" + b"x" * 200, "broken.a") == []


def test_the_literal_prefilter_finds_what_the_whole_expression_finds() -> None:
    """Buffers without a needle's bytes are passed over; where some are
    present, only their needles run, in the same order: the hits are those
    of the one expression over everything, across chunk boundaries too."""
    needles = [
        *machine_needles(
            [("project root", "/tmp/work/proj"), ("HOME", "/home/alice")],
            [("user name", "alice"), ("host name", "buildhost7")],
        ),
        *common_root_needles(),
    ]
    filler = bytes(range(32, 127)) * 20000
    data = (
        filler[:1500000]
        + b"\0/tmp/work/proj/src/main.rs\0"
        + filler[:70000]
        + b"\0/home/alice/.cargo/x\0alice@buildhost7\0C:\\Users\\bob\\x\0"
        + filler
    )
    whole = Scanner(needles)
    whole._literals = None  # the one expression over every buffer
    assert Scanner(needles).scan_bytes(data, "a") == whole.scan_bytes(data, "a")
    assert len(whole.scan_bytes(data, "a")) >= 4


class _Seen:
    """A leak-ok cache in memory: bodies scanned clean."""

    def __init__(self) -> None:
        self.bodies: set[bytes] = set()

    def known(self, body: bytes) -> bool:
        return body in self.bodies

    def add(self, body: bytes) -> None:
        self.bodies.add(body)


def test_static_library_scanned_member_by_member_finds_the_same(tmp_path: Path) -> None:
    clean = make_elf([(".text", b"\x90" * 8, 0)])
    dirty = make_elf([(".debug_str", compressed(SECRET + b"/lib.rs\0"), SHF_COMPRESSED)])
    lib = tmp_path / "libx.a"
    lib.write_bytes(ar([("clean.o", clean), ("dirty.o", dirty), ("other.o", clean + b"\0")]))
    seen = _Seen()
    whole = needles().scan_file(lib, "t/libx.a")
    by_member = needles().scan_file(lib, "t/libx.a", seen)
    assert by_member == whole
    assert [x.where for x in by_member] == ["member t/libx.a(dirty.o) section .debug_str"]
    # The clean members are remembered, the dirty one is not.
    assert seen.bodies == {clean, clean + b"\0"}
    # A member seen clean is passed over: a leak planted in a copy the cache
    # vouches for is not looked at again (the cache is keyed by content).
    seen.add(dirty)
    assert needles().scan_file(lib, "t/libx.a", seen) == []


def test_member_scan_falls_back_on_a_file_that_is_not_an_archive(tmp_path: Path) -> None:
    odd = tmp_path / "odd.a"
    odd.write_bytes(b"!<arch>\n" + SECRET)  # no readable member header
    assert [x.where for x in needles().scan_file(odd, "odd.a", _Seen())] == [""]
