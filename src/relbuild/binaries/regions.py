"""The readable regions of an artifact, streamed: what the leak scanner
(:mod:`relbuild.binaries.leaks`) reads, in memory flat in the file's size.

A region is a name ("section .debug_info", "member a/b section .debug_str",
or "" for the bytes themselves) and an iterator of chunks of at most
``CHUNK`` bytes. Each ELF section is read from the file by range, and
decompressed as a stream (``SHF_COMPRESSED`` and the older ``.zdebug_*``
form); static libraries are read member by member, by range; tar.gz and zip
members are copied, decompressing, into a spool file (in memory while small,
on disk beyond ``SPOOL``) so that an ELF member can be read by range too.

Bounded: nesting depth ``MAX_DEPTH``, and ``budget[0]`` bytes of sections and
members per artifact (decompression bombs end there). Regions are read one
after the other: a region's chunks must be taken before the next region.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from typing import IO, Any, BinaryIO

from relbuild.binaries import macho, pe
from relbuild.binaries.elfcheck import AR_MAGIC, ar_index, section_headers
from relbuild.binaries.elfsections import SHF_COMPRESSED, SHT_NOBITS, SHT_NULL

CHUNK = 1 << 20
SPOOL = 8 << 20
MAX_DEPTH = 4
_ELFCOMPRESS_ZLIB = 1

Region = tuple[str, Iterator[bytes]]
_ARCHIVE_ERRORS = (
    OSError,
    EOFError,
    tarfile.TarError,
    zipfile.BadZipFile,
    zlib.error,
    ValueError,
    IndexError,  # a zip member with an empty name (ZipInfo.is_dir)
    NotImplementedError,  # a zip "version 8.0", an unknown compression method
    RuntimeError,  # an encrypted zip member
)


class Window(io.RawIOBase):
    """``size`` bytes of ``base`` from ``offset``, as a file of their own
    (an ar member, read by range, never copied)."""

    def __init__(self, base: BinaryIO, offset: int, size: int) -> None:
        super().__init__()
        self._base, self._offset, self._size, self._pos = base, offset, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        start = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, start + pos)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        self._base.seek(self._offset + self._pos)
        data = self._base.read(want)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


def regions(fh: BinaryIO, name: str, budget: list[int], depth: int = 0) -> Iterator[Region]:
    """(where, chunks) for every readable part of the seekable file ``fh``."""
    fh.seek(0)
    head = fh.read(64)
    if depth <= MAX_DEPTH:
        inner: Iterator[tuple[str, BinaryIO]] | None = None
        if head[:2] == b"\x1f\x8b":
            inner = _tar_members(fh, budget)
        elif head[:4] == b"PK\x03\x04":
            inner = _zip_members(fh, budget)
        elif head[:8] == AR_MAGIC:
            inner = _ar_members(fh, name)
        elif head[:4] == b"\x7fELF":
            sections = _elf_sections(fh)
            if sections is not None:
                yield from _section_regions(fh, sections, budget)
                return
        elif pe.is_pe(head) or macho.is_macho(head):
            # PE and Mach-O: the headers and load commands, each section,
            # and what the sections leave (a symbol table, its strings).
            found = (pe.sections if head[:2] == b"MZ" else macho.sections)(fh)
            if found is not None:
                yield from _section_regions(fh, _with_gaps(found, fh.seek(0, io.SEEK_END)), budget)
                return
        if inner is not None:
            try:
                first = next(inner, None)
            except _ARCHIVE_ERRORS:
                first = None
            if first is not None:
                yield from _nested(first, inner, depth, budget)
                return
    yield "", _range(fh, 0, None, [1 << 62])


def _nested(
    first: tuple[str, BinaryIO], rest: Iterator[tuple[str, BinaryIO]], depth: int, budget: list[int]
) -> Iterator[Region]:
    member: tuple[str, BinaryIO] | None = first
    while member is not None:
        name, body = member
        with body:
            for where, chunks in regions(body, name, budget, depth + 1):
                yield f"member {name}" + (f" {where}" if where else ""), chunks
        try:
            member = next(rest, None)
        except _ARCHIVE_ERRORS:
            return  # what was read so far was scanned; the rest is unreadable


def _range(fh: BinaryIO, offset: int, size: int | None, budget: list[int]) -> Iterator[bytes]:
    """The bytes of ``fh`` from ``offset``, ``size`` of them (None: to its
    end), in chunks; each chunk is taken from ``budget``."""
    pos, left = offset, size
    while (left is None or left > 0) and budget[0] > 0:
        fh.seek(pos)
        data = fh.read(min(CHUNK, budget[0], CHUNK if left is None else left))
        if not data:
            return
        pos += len(data)
        budget[0] -= len(data)
        if left is not None:
            left -= len(data)
        yield data


def _inflate(chunks: Iterator[bytes], budget: list[int]) -> Iterator[bytes]:
    """A zlib stream, decompressed in chunks within ``budget``."""
    d = zlib.decompressobj()
    try:
        for chunk in chunks:
            data = chunk
            while data and budget[0] > 0:
                out = d.decompress(data, min(CHUNK, budget[0]))
                data = d.unconsumed_tail
                budget[0] -= len(out)
                if out:
                    yield out
                elif not data:
                    break
            if d.eof or budget[0] <= 0:
                return
    except zlib.error:
        return


# --- ELF --------------------------------------------------------------------------

_Section = tuple[str, str, int, int]  # name, "raw" / "zlib" / "zdebug", offset, size


def _elf_sections(fh: BinaryIO) -> list[_Section] | None:
    """The sections of an ELF file, from its headers only; None where they
    cannot be read (the file is then read as bytes)."""
    headers = section_headers(fh)
    if headers is None:
        return None
    chdr = 24 if headers.wide else 12  # Elf64_Chdr, Elf32_Chdr
    out: list[_Section] = []
    for s in headers.sections:
        if s.type in (SHT_NOBITS, SHT_NULL):
            continue
        how, offset, size = "raw", s.offset, s.size
        if s.flags & SHF_COMPRESSED:
            fh.seek(offset)  # Elf32_Chdr and Elf64_Chdr start with ch_type
            kind = int.from_bytes(fh.read(4), "little" if headers.little else "big")
            if kind == _ELFCOMPRESS_ZLIB and size >= chdr:
                how, offset, size = "zlib", offset + chdr, size - chdr
        elif s.name.startswith(".zdebug"):
            fh.seek(offset)
            if fh.read(4) == b"ZLIB" and size >= 12:
                how, offset, size = "zdebug", offset + 12, size - 12
        out.append((s.name, how, offset, size))
    return out


def _with_gaps(sections: list[_Section], length: int) -> list[_Section]:
    """``sections`` and the bytes none of them covers (a COFF symbol table,
    an overlay, a code signature), so that every byte is read once."""
    out = list(sections)
    at = 0
    for _, _, offset, size in sorted(sections, key=lambda s: s[2]):
        if offset > at:
            out.append(("other bytes", "raw", at, offset - at))
        at = max(at, offset + size)
    if at < length:
        out.append(("other bytes", "raw", at, length - at))
    return out


def _section_regions(fh: BinaryIO, sections: list[_Section], budget: list[int]) -> Iterator[Region]:
    for name, how, offset, size in sections:
        if budget[0] <= 0:
            return
        if how == "raw":
            yield f"section {name}", _range(fh, offset, size, budget)
        else:
            # The compressed bytes are not taken from the budget, what they give is.
            yield f"section {name}", _inflate(_range(fh, offset, size, [1 << 62]), budget)


# --- archives ---------------------------------------------------------------------


def _spool(src: IO[bytes], budget: list[int]) -> BinaryIO | None:
    """A member's bytes in a spool file, or None past the budget."""
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL)  # noqa: SIM115 - returned open
    while data := src.read(CHUNK):
        budget[0] -= len(data)
        if budget[0] < 0:
            out.close()
            return None
        out.write(data)
    out.seek(0)
    return out  # type: ignore[return-value]  # a SpooledTemporaryFile is a binary file


def _tar_members(fh: BinaryIO, budget: list[int]) -> Iterator[tuple[str, BinaryIO]]:
    fh.seek(0)
    with tarfile.open(fileobj=fh, mode="r|gz") as tar:
        for member in tar:
            src = tar.extractfile(member) if member.isfile() else None
            if src is None:
                continue
            body = _spool(src, budget)
            if body is None:
                return
            yield member.name, body


def _zip_members(fh: BinaryIO, budget: list[int]) -> Iterator[tuple[str, BinaryIO]]:
    fh.seek(0)
    with zipfile.ZipFile(fh) as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            with zf.open(info) as src:
                body = _spool(src, budget)
            if body is None:
                return
            yield info.filename, body


def _ar_members(fh: BinaryIO, name: str) -> Iterator[tuple[str, BinaryIO]]:
    length = fh.seek(0, io.SEEK_END)
    for member, offset, size in ar_index(fh, length):
        yield f"{name}({member})", io.BufferedReader(Window(fh, offset, size))
