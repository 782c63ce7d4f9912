"""Deterministic archives: the same files give the same bytes, whenever and
wherever they are packed.

tar.gz: entries sorted, mtime = SOURCE_DATE_EPOCH, uid/gid 0 with empty
owner names, modes 0644/0755, no pax times; gzip with mtime 0, no file name
and a fixed level. zip: fixed date_time (not before 1980), explicit
permissions, fixed compression.

The gzip stream of a tar.gz is one member whose deflate data is made part by
part: each tar entry (its header, bytes and padding) is compressed on its
own and ends with a full flush, so its compressed bytes depend on nothing
before it. A part seen before (a staticlib that did not change while the
program beside it did) is then taken from ``kept`` instead of compressed
again, and the archive has the same bytes either way.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import os
import struct
import tarfile
import time
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from relbuild.system.fsutil import atomic_write, prune_oldest

ArchiveFormat = Literal["tar.gz", "zip"]
# zlib's own default: within 1 % of level 9 on binaries, at a sixth of the
# time (level 9 was the largest cost of a rebuild). Part of what the bytes
# depend on, so part of every archive cache key.
LEVEL = 6
# How the bytes are laid out (tar.gz compressed part by part since "2", at
# ELF sections too since "3"):
# part of every archive cache key, so an older layout is never reused.
LAYOUT = "3"
_ZIP_EPOCH_MIN = 315532800  # 1980-01-01, the earliest time zip can store
# gzip's header: no flags, mtime 0, no extra flags (level 6), OS "unknown".
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
_KEPT_MIN = 1 << 16  # smaller parts are compressed each time, not kept
_KEPT_MAX = 1024  # parts kept at most (the least recently used go)
_PART = 1 << 18  # a part inside a file ends at the first cut past this size


@dataclass(frozen=True)
class Member:
    name: str  # path inside the archive, '/'-separated
    source: Path
    mode: int  # 0o644 or 0o755
    # Offsets in the file where a compressed part may start: a static
    # library's members, an ELF file's sections; a part then holds whole
    # objects or sections, and one that did not change gives the part it
    # gave before.
    cuts: tuple[int, ...] = ()


def _dirs_of(members: Sequence[Member]) -> list[str]:
    dirs: set[str] = set()
    for m in members:
        parts = m.name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    return sorted(dirs)


def tar_gz(members: Sequence[Member], epoch: int, kept: Path | None = None) -> bytes:
    """The tar.gz of ``members``; ``kept``: a folder of compressed parts
    to take from and add to (the bytes are the same without it)."""
    raw = io.BytesIO()
    cuts = [0]
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for d in _dirs_of(members):
            info = _tarinfo(d + "/", epoch, 0o755)
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        for m in sorted(members, key=lambda m: m.name):
            data = m.source.read_bytes()
            info = _tarinfo(m.name, epoch, m.mode)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
            end = raw.tell()
            start = end - -(-len(data) // tarfile.BLOCKSIZE) * tarfile.BLOCKSIZE
            cuts += _inner_cuts(start, m.cuts, len(data))
            cuts.append(end)
    out = bytearray(_GZIP_HEADER)
    crc = 0
    with raw.getbuffer() as tarred:
        cuts.append(len(tarred))
        for start, end in itertools.pairwise(cuts):
            with tarred[start:end] as part:
                out += _deflated(part, kept)
                crc = zlib.crc32(part, crc)
        size = len(tarred)
    if kept is not None:
        prune_oldest(kept, "*.deflate", _KEPT_MAX)
    out += zlib.compressobj(LEVEL, zlib.DEFLATED, -15).flush()  # the final, empty block
    out += struct.pack("<II", crc, size & 0xFFFFFFFF)
    return bytes(out)


def _inner_cuts(start: int, offsets: Sequence[int], size: int) -> list[int]:
    """Where parts end inside a file whose bytes start at ``start``: at the
    first of ``offsets`` past each ``_PART`` bytes since the last one."""
    out, last = [], 0
    for at in sorted(offsets):
        if at - last >= _PART and at < size:
            out.append(start + at)
            last = at
    return out


def _deflated(part: memoryview, kept: Path | None) -> bytes:
    """``part`` as raw deflate blocks that end byte-aligned with a full
    flush (no reference to anything before), from ``kept`` if there."""
    if kept is None or len(part) < _KEPT_MIN:
        return _deflate(part)
    key = hashlib.sha256(f"{LEVEL} {zlib.ZLIB_RUNTIME_VERSION}\0".encode())
    key.update(part)
    path = kept / f"{key.hexdigest()}.deflate"
    with contextlib.suppress(OSError, zlib.error):
        body = path.read_bytes()
        # A kept part is trusted only once it inflates to the very bytes
        # (a fifth of the time compressing takes): a damaged cache file
        # must not become a damaged archive.
        inflate = zlib.decompressobj(-15)
        if inflate.decompress(body) == part:
            os.utime(path)  # the oldest unused parts go first (prune_oldest)
            return body
    body = _deflate(part)
    atomic_write(path, body)
    return body


def _deflate(part: memoryview) -> bytes:
    c = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
    return c.compress(part) + c.flush(zlib.Z_FULL_FLUSH)


def _tarinfo(name: str, epoch: int, mode: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mtime = epoch
    info.mode = mode
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def zip_bytes(members: Sequence[Member], epoch: int) -> bytes:
    stamp = time.gmtime(max(epoch, _ZIP_EPOCH_MIN))[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for d in _dirs_of(members):
            info = zipfile.ZipInfo(d + "/", date_time=stamp)
            info.create_system = 3  # Unix, so external_attr carries the mode
            info.external_attr = (0o40755 << 16) | 0x10
            zf.writestr(info, b"")
        for m in sorted(members, key=lambda m: m.name):
            info = zipfile.ZipInfo(m.name, date_time=stamp)
            info.create_system = 3
            info.external_attr = (0o100000 | m.mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(
                info, m.source.read_bytes(), compress_type=zipfile.ZIP_DEFLATED, compresslevel=LEVEL
            )
    return out.getvalue()


def make_archive(
    fmt: ArchiveFormat, members: Sequence[Member], epoch: int, kept: Path | None = None
) -> bytes:
    """The archive of ``members``; ``kept``: see :func:`tar_gz`."""
    return tar_gz(members, epoch, kept) if fmt == "tar.gz" else zip_bytes(members, epoch)
