"""macOS Mach-O files: the header checks, the facts the manifest records,
the normalization of what varies between builds, and the parts the leak
scanner reads.

Read with LIEF (checks, facts); the leak scanner's section list is read
from the load commands directly, so that a large file is never read whole.
Anything that is not a well-formed Mach-O file raises
:class:`~relbuild.errors.MalformedFileError`.
"""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from relbuild.binaries import fat
from relbuild.binaries.lieflib import lief
from relbuild.config.triples import Triple
from relbuild.errors import MalformedFileError

MH_MAGIC_64_LE = b"\xcf\xfa\xed\xfe"
_FAT_MAGICS = (b"\xca\xfe\xba\xbe", b"\xca\xfe\xba\xbf")  # fat, fat with 64-bit offsets
# LIEF's CPU_TYPE names, by the header's cputype.
_CPUS = {7: "X86", 0x01000007: "X86_64", 12: "ARM", 0x0100000C: "ARM64"}
_LC_SEGMENT_64, _LC_SYMTAB = 0x19, 0x2
_N_SO, _N_OSO = 0x64, 0x66
# Bounds for hostile headers: load commands (the kernel's own limit is the
# header's page), slices of a universal file, sections of a segment.
_MAX_CMDS_SIZE = 1 << 20
_MAX_SLICES = fat.MAX_SLICES
_MAX_SECTIONS = 1 << 12


def cpu_name(cputype: int) -> str:
    return _CPUS.get(cputype, f"cputype {cputype:#x}")


def is_macho(head: bytes) -> bool:
    """A thin 64-bit Mach-O file, or a universal ("fat") one. Java class
    files share the fat magic: a fat header names at most a few slices."""
    if head[:4] == MH_MAGIC_64_LE:
        return True
    return head[:4] in _FAT_MAGICS and 0 < int.from_bytes(head[4:8], "big") <= _MAX_SLICES


@dataclass(frozen=True)
class MachoFacts:
    """What the manifest records of one slice of a Mach-O file."""

    cpu: str  # LIEF's CPU type name: x86_64, ARM64
    platform: str | None  # MACOS, ... (LC_BUILD_VERSION; VERSION_MIN_MACOSX: MACOS)
    minos: str | None  # the oldest macOS the slice runs on: "11.0"
    sdk: str | None
    libraries: tuple[str, ...]  # LC_LOAD_DYLIB (and weak, re-export...) names, in order
    signed: bool  # an LC_CODE_SIGNATURE
    # The debug map: N_SO and N_OSO stabs naming the source folder and each
    # object file as they were on the build machine (see normalize).
    stabs: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "cpu": self.cpu,
            "platform": self.platform,
            "minos": self.minos,
            "sdk": self.sdk,
            "libraries": list(self.libraries),
            "signed": self.signed,
        }  # stabs: a check's finding, not a fact of the release


def _read(src: bytes | BinaryIO) -> bytes:
    if isinstance(src, bytes | bytearray | memoryview):
        return bytes(src)
    src.seek(0)
    return src.read()


def _version(v: Any) -> str:
    parts = [int(x) for x in v]
    return ".".join(str(x) for x in parts[: 3 if parts[2:3] and parts[2] else 2])


def _slices(data: bytes, name: str) -> list[Any]:
    if not is_macho(data[:8]):
        raise MalformedFileError(f"{name}: not a Mach-O file")
    # A universal file's table is checked before LIEF reads it: slices
    # outside the file, overlapping or counted in the millions are refused.
    try:
        table = fat.read(data, name) if fat.is_fat(data[:4]) else None
    except MalformedFileError as exc:
        raise MalformedFileError(f"not a readable universal Mach-O file: {exc}") from None
    try:
        parsed = lief().MachO.parse(io.BytesIO(data))
        slices = [parsed.at(i) for i in range(parsed.size)] if parsed is not None else []
    except (ValueError, TypeError, MemoryError, RuntimeError, OSError) as exc:
        raise MalformedFileError(f"{name}: not a readable Mach-O file ({exc})") from None
    if not slices or any(s is None or not s.commands for s in slices):
        raise MalformedFileError(f"{name}: not a readable Mach-O file")
    if table is not None and len(slices) != len(table):
        raise MalformedFileError(f"{name}: {len(table)} slices named, {len(slices)} readable")
    return slices


def facts(src: bytes | BinaryIO, name: str = "file") -> list[MachoFacts]:
    """The facts of each slice (one for a thin file)."""
    try:
        with warnings.catch_warnings():
            # LIEF warns of a value outside its enums, and returns the int.
            warnings.simplefilter("ignore", RuntimeWarning)
            return [_facts(b) for b in _slices(_read(src), name)]
    except (AttributeError, ValueError, TypeError, IndexError, OverflowError) as exc:
        raise MalformedFileError(f"{name}: not a readable Mach-O file ({exc})") from None


def _name(value: Any) -> str:
    """An enum member's name; LIEF gives a bare int for a value it does not know."""
    return f"{value:#x}" if isinstance(value, int) else str(value.name)


def _facts(b: Any) -> MachoFacts:
    platform = minos = sdk = None
    if b.has_build_version:
        bv = b.build_version
        platform, minos, sdk = _name(bv.platform), _version(bv.minos), _version(bv.sdk)
    elif b.has_version_min:
        vm = b.version_min
        platform, minos, sdk = "MACOS", _version(vm.version), _version(vm.sdk)
    return MachoFacts(
        cpu=_name(b.header.cpu_type),
        platform=platform,
        minos=minos,
        sdk=sdk,
        libraries=tuple(lib.name for lib in b.libraries),
        signed=bool(b.has_code_signature),
        stabs=tuple(s.name for s in b.symbols if s.raw_type in (_N_SO, _N_OSO) and s.name),
    )


def _newer(version: str, than: str) -> bool:
    def key(v: str) -> tuple[int, ...]:
        return tuple(int(x) for x in v.split(".") if x.isdigit())

    return key(version) > key(than)


def check(
    src: bytes | BinaryIO, triple: Triple, name: str, max_minos: str | None = None
) -> list[str]:
    """Problems with a Mach-O file for ``triple``; [] when it matches. A
    universal file's problems are per slice, and it must hold a slice for
    the triple. The minimum macOS may be at most ``max_minos``, by default
    the triple's floor (``min_os``, what relbuild links for and records)."""
    floor = max_minos or triple.min_os
    owner = "" if max_minos else f"{triple.name}'s "
    data = _read(src)
    try:
        found = facts(data, name)
    except MalformedFileError as exc:
        return [str(exc)]
    problems: list[str] = []
    universal = data[:4] in _FAT_MAGICS
    machine = triple.machine.upper()  # LIEF spells x86_64 "X86_64"
    for f in found:
        what = f"{name} ({f.cpu} slice)" if universal else name
        if not universal and f.cpu.upper() != triple.machine.upper():
            problems.append(f"{what}: CPU type is {f.cpu}, {triple.name} needs {triple.machine}")
        if f.cpu == "ARM64" and not f.signed:
            problems.append(f"{what}: no code signature; macOS on arm64 runs no unsigned program")
        if f.minos is None:
            problems.append(f"{what}: neither LC_BUILD_VERSION nor LC_VERSION_MIN_MACOSX")
        elif f.platform != "MACOS":
            problems.append(f"{what}: built for platform {f.platform}, not macOS")
        elif floor and (not universal or f.cpu.upper() == machine) and _newer(f.minos, floor):
            problems.append(f"{what}: needs macOS {f.minos}, newer than {owner}{floor}")
        if f.stabs:
            problems.append(
                f"{what}: its debug map names build paths ({f.stabs[0]!r}...), which differ "
                "between machines: link with -Wl,-S (no debug stabs)"
            )
    if universal and machine not in {f.cpu.upper() for f in found}:
        problems.append(f"{name}: universal file without a {triple.machine} slice")
    return problems


def normalize(data: bytes, name: str = "file") -> bytes:
    """``data`` unchanged, once it is read as Mach-O: nothing varies that
    could be normalized here. Measured (two builds, different folders,
    HOMEs and cold caches, zig 0.15.2 and Go 1.26): pure Go (-trimpath,
    -buildid=) and zig linking without debug stabs (``-g0``, ``-s`` or
    ``-Wl,-S``) give identical bytes, LC_UUID included (both linkers derive
    it from the content), and so the same ad-hoc signature. With debug info
    (zig cc's default, cgo's ``-g``) the symbol table's N_SO and N_OSO
    stabs name the build folder and the objects in zig's cache: their
    lengths move everything after them, the UUID and the signature's page
    hashes follow. Rewriting that would mean rebuilding __LINKEDIT and
    re-signing; the stabs serve only a debugger on the build machine, so
    the build links without them, and :func:`check` names any it finds."""
    _slices(data, name)
    return data


# --- regions, for the leak scanner ----------------------------------------------------

# A part as the scanner reads it: name, "raw" or "zdebug", offset, size.
Section = tuple[str, str, int, int]


def sections(fh: BinaryIO) -> list[Section] | None:
    """The readable parts of a Mach-O file, from its headers alone: per
    slice the header and load commands (LC_RPATH, LC_LOAD_DYLIB names...),
    each section (``__DWARF,__debug_info``...; ``__zdebug_*`` inflated), the
    symbol table's strings (N_SO and N_OSO stabs name source folders and
    object files). None where the headers cannot be read."""
    try:
        return list(_all_sections(fh))
    except (struct.error, ValueError, OSError, OverflowError):
        return None


def _all_sections(fh: BinaryIO) -> Iterator[Section]:
    length = fh.seek(0, io.SEEK_END)
    fh.seek(0)
    head = fh.read(8)
    if head[:4] == MH_MAGIC_64_LE:
        yield from _thin(fh, 0, length, "")
        return
    if head[:4] not in _FAT_MAGICS:
        raise ValueError("not Mach-O")
    wide = head[:4] == _FAT_MAGICS[1]
    count = min(int.from_bytes(head[4:8], "big"), _MAX_SLICES)
    entry = ">iiQQI4x" if wide else ">iiIII"
    size = struct.calcsize(entry)
    fh.seek(8)
    table = fh.read(size * count)
    for i in range(len(table) // size):
        cpu, _, offset, slice_size, _ = struct.unpack_from(entry, table, size * i)
        offset = min(offset, length)
        yield from _thin(fh, offset, min(slice_size, length - offset), f"{cpu_name(cpu)} ")


def _thin(fh: BinaryIO, base: int, length: int, prefix: str) -> Iterator[Section]:
    fh.seek(base)
    header = fh.read(32)
    if header[:4] != MH_MAGIC_64_LE:
        yield f"{prefix}slice", "raw", base, length
        return
    ncmds, sizeofcmds = struct.unpack_from("<II", header, 16)
    cmds = fh.read(min(sizeofcmds, _MAX_CMDS_SIZE, max(0, length - 32)))
    yield f"{prefix}load commands", "raw", base, 32 + len(cmds)
    at = 0
    for _ in range(ncmds):
        if at + 8 > len(cmds):
            break
        cmd, size = struct.unpack_from("<II", cmds, at)
        if size < 8:
            break
        if cmd == _LC_SEGMENT_64 and at + 72 <= len(cmds):
            (nsects,) = struct.unpack_from("<I", cmds, at + 64)
            for j in range(min(nsects, _MAX_SECTIONS)):
                s_at = at + 72 + 80 * j
                if s_at + 80 > len(cmds):
                    break
                sect, seg, _, sz, off = struct.unpack_from("<16s16sQQI", cmds, s_at)
                flags = struct.unpack_from("<I", cmds, s_at + 64)[0]
                if off == 0 or flags & 0xFF in (0x1, 0xC, 0x12):  # zerofill: no bytes
                    continue
                where, how, start, n = _section(fh, base, length, _cstr(seg), _cstr(sect), off, sz)
                yield f"{prefix}{where}", how, start, n
        elif cmd == _LC_SYMTAB and at + 24 <= len(cmds):
            stroff, strsize = struct.unpack_from("<II", cmds, at + 16)
            if stroff < length:
                size_ = min(strsize, length - stroff)
                yield f"{prefix}symbol strings", "raw", base + stroff, size_
        at += size


def _section(
    fh: BinaryIO, base: int, length: int, seg: str, sect: str, off: int, size: int
) -> Section:
    """A section of the slice at ``base`` (``length`` bytes long), by its
    offset in the file; a ``__zdebug_*`` one is inflated past its header."""
    off = min(off, length)
    size = min(size, length - off)
    how = "raw"
    if sect.startswith("__zdebug") and size > 12:
        fh.seek(base + off)
        if fh.read(4) == b"ZLIB":
            how, off, size = "zdebug", off + 12, size - 12
    return f"{seg},{sect}", how, base + off, size


def _cstr(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")
