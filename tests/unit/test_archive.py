from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
from pathlib import Path

from relbuild.binaries import macho
from relbuild.binaries.elfsections import read_headers
from relbuild.pipeline import record
from relbuild.pipeline.model import Staged
from relbuild.release.archive import Member, tar_gz, zip_bytes
from tests.elfgen import ar_archive, member_offsets, x86_64_program
from tests.machogen import MachO

EPOCH = 1700000000


def members(tmp_path: Path, order: list[str]) -> list[Member]:
    out = []
    for name in order:
        src = tmp_path / name.replace("/", "_")
        src.write_bytes(name.encode() * 100)
        out.append(Member(f"pkg-1.0/{name}", src, 0o755 if name == "tool" else 0o644))
    return out


def test_tar_gz_is_independent_of_input_order_and_clock(tmp_path: Path) -> None:
    a = tar_gz(members(tmp_path, ["tool", "LICENSE", "lib.a"]), EPOCH)
    b = tar_gz(members(tmp_path, ["lib.a", "tool", "LICENSE"]), EPOCH)
    assert a == b
    # gzip header: no file name flag, mtime 0
    assert a[3] & 0x08 == 0
    assert a[4:8] == b"\0\0\0\0"
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(a))) as tar:
        infos = tar.getmembers()
    assert [i.name for i in infos] == [
        "pkg-1.0",
        "pkg-1.0/LICENSE",
        "pkg-1.0/lib.a",
        "pkg-1.0/tool",
    ]
    for info in infos:
        assert (info.uid, info.gid, info.uname, info.gname) == (0, 0, "", "")
        assert info.mtime == EPOCH
        assert "atime" not in info.pax_headers and "ctime" not in info.pax_headers
    assert {i.name: i.mode for i in infos}["pkg-1.0/tool"] == 0o755
    assert {i.name: i.mode for i in infos}["pkg-1.0/LICENSE"] == 0o644


def test_tar_gz_depends_on_epoch(tmp_path: Path) -> None:
    ms = members(tmp_path, ["tool"])
    assert tar_gz(ms, EPOCH) != tar_gz(ms, EPOCH + 1)


def test_zip_is_deterministic_with_modes(tmp_path: Path) -> None:
    a = zip_bytes(members(tmp_path, ["tool", "LICENSE"]), EPOCH)
    b = zip_bytes(members(tmp_path, ["LICENSE", "tool"]), EPOCH)
    assert a == b
    with zipfile.ZipFile(io.BytesIO(a)) as zf:
        infos = {i.filename: i for i in zf.infolist()}
    assert infos["pkg-1.0/tool"].external_attr >> 16 == 0o100755
    assert infos["pkg-1.0/LICENSE"].external_attr >> 16 == 0o100644
    assert infos["pkg-1.0/tool"].date_time == (2023, 11, 14, 22, 13, 20)


def test_zip_clamps_times_before_1980(tmp_path: Path) -> None:
    data = zip_bytes(members(tmp_path, ["tool"]), 0)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.infolist()[-1].date_time == (1980, 1, 1, 0, 0, 0)


def test_tar_gz_parts_kept_give_the_same_bytes(tmp_path: Path) -> None:
    import os
    import random

    rng = random.Random(7)  # noqa: S311 - test data, not secrets
    lib = tmp_path / "lib.a"
    # An ar archive of compressible members big enough to be cut into parts.
    data = [bytes(rng.choice(b"abcdefgh") for _ in range(150_000)) for _ in range(6)]
    body = ar_archive([(f"m{i}", d) for i, d in enumerate(data)])
    offsets = member_offsets(body)
    lib.write_bytes(body)
    tool = tmp_path / "tool"
    tool.write_bytes(os.urandom(200_000))
    ms = [
        Member("p/lib.a", lib, 0o644, offsets),
        Member("p/tool", tool, 0o755),
    ]
    kept = tmp_path / "kept"
    plain = tar_gz(ms, EPOCH)
    first = tar_gz(ms, EPOCH, kept)
    assert first == plain
    parts = sorted(kept.iterdir())
    assert len(parts) >= 3  # the library's parts and the tool
    # A part taken from the cache gives the same archive.
    assert tar_gz(ms, EPOCH, kept) == plain
    # One member of the library changes: only its part is compressed again.
    changed = bytearray(body)
    changed[offsets[5] + 10] ^= 1
    lib.write_bytes(bytes(changed))
    again = tar_gz(ms, EPOCH, kept)
    assert len(set(kept.iterdir()) - set(parts)) == 1
    assert again == tar_gz(ms, EPOCH)
    # Read back by gzip and tar as one stream.
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(again))) as tar:
        assert tar.extractfile("p/lib.a").read() == bytes(changed)  # type: ignore[union-attr]
    with tarfile.open(fileobj=io.BytesIO(again), mode="r|gz") as tar:
        assert [m.name for m in tar] == ["p", "p/lib.a", "p/tool"]


def test_a_damaged_kept_part_is_compressed_again(tmp_path: Path) -> None:
    tool = tmp_path / "tool"
    tool.write_bytes(b"0123456789abcdef" * 20_000)
    ms = [Member("p/tool", tool, 0o755)]
    kept = tmp_path / "kept"
    plain = tar_gz(ms, EPOCH, kept)
    (part,) = kept.iterdir()
    good = part.read_bytes()
    for damage in (good[:-7], good[:100] + bytes([good[100] ^ 0xFF]) + good[101:], b"junk"):
        part.write_bytes(damage)
        assert tar_gz(ms, EPOCH, kept) == plain
        assert part.read_bytes() == good  # written again, whole


def test_parts_end_at_elf_sections_and_library_members(tmp_path: Path) -> None:
    """What the build hands the archive as cut points: an ELF file's
    section offsets, a static library's member offsets, nothing else."""
    program = tmp_path / "app"
    program.write_bytes(x86_64_program())
    lib = tmp_path / "lib.a"
    lib.write_bytes(ar_archive([("a.o", b"x" * 10), ("b.o", b"y" * 20)]))
    text = tmp_path / "README"
    text.write_text("hello\n")

    def cuts(path: Path, kind: str) -> tuple[int, ...]:
        return record._cuts(Staged(path, path.name, kind, "t", "c", 0o644))  # type: ignore[arg-type]

    with program.open("rb") as fh:
        headers = read_headers(fh)
    assert headers is not None
    assert cuts(program, "executable") == tuple(s.offset for s in headers.sections)
    assert cuts(lib, "staticlib") == (68, 138)  # each member's bytes, after its header
    assert cuts(text, "license") == ()
    mac = tmp_path / "mac"
    mac.write_bytes(MachO(oso="").build())
    with mac.open("rb") as fh:
        parts = macho.sections(fh)
    assert parts and cuts(mac, "executable") == tuple(offset for _, _, offset, _ in parts)
