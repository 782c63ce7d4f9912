"""Windows PE files: what the linker stamps, the header checks, the facts the
manifest records, and the section table the leak scanner reads.

Read with pefile; bytes are patched in place, never rewritten by pefile, so
a normalized file differs from its input only in the fields named below.
Anything that is not a well-formed PE raises
:class:`~relbuild.errors.MalformedFileError`.
"""

from __future__ import annotations

import hashlib
import io
import logging
import ntpath
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import BinaryIO

import pefile

from relbuild.binaries import coff
from relbuild.binaries.elfcheck import READ_ERRORS
from relbuild.config.triples import Triple
from relbuild.errors import MalformedFileError

# pefile logs a warning for each oddity it meets; its findings are ours to report.
logging.getLogger("pefile").setLevel(logging.ERROR)

# What pefile raises on a malformed file, at any depth.
PE_ERRORS = (pefile.PEFormatError, *READ_ERRORS)

_DEBUG = pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_DEBUG"]
_IMPORT = pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_IMPORT"]
_DELAY_IMPORT = pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_DELAY_IMPORT"]
_CODEVIEW = pefile.DEBUG_TYPE["IMAGE_DEBUG_TYPE_CODEVIEW"]
_PE32_PLUS = 0x20B
_CUI = "IMAGE_SUBSYSTEM_WINDOWS_CUI"
# RSDS record: signature, GUID (16), Age (4), then the PDB path, NUL-ended.
_RSDS = b"RSDS"
_GUID_AT, _AGE_AT, _PATH_AT = 4, 20, 24

# The DLLs a stock Windows 10 (x64 and arm64) has in System32: what Go's
# runtime, Rust's std (windows-gnu and -gnullvm: kernel32, ntdll, advapi32,
# ws2_32, userenv, bcryptprimitives, api-ms-win-core-synch) and zig's
# UCRT-based MinGW (api-ms-win-crt-*, kernel32, ntdll) import, and the
# usual system libraries beyond them. MinGW's runtime DLLs
# (libgcc_s_seh-1, libwinpthread-1, libstdc++-6), libc++ / libunwind and
# MSVC's redistributable (vcruntime140, msvcp140) are not on a stock system.
# There is no "synchronization.dll": MinGW's libsynchronization.a imports
# WaitOnAddress from api-ms-win-core-synch-l1-2-0.dll.
STOCK_DLLS = frozenset(
    {
        "kernel32.dll", "kernelbase.dll", "ntdll.dll", "advapi32.dll", "ws2_32.dll",
        "mswsock.dll", "userenv.dll", "bcrypt.dll", "bcryptprimitives.dll", "ncrypt.dll",
        "crypt32.dll", "secur32.dll", "sspicli.dll", "wintrust.dll", "user32.dll",
        "gdi32.dll", "shell32.dll", "shlwapi.dll", "ole32.dll", "oleaut32.dll",
        "rpcrt4.dll", "comctl32.dll", "comdlg32.dll", "dbghelp.dll", "msvcrt.dll",
        "ucrtbase.dll", "winmm.dll", "iphlpapi.dll", "dnsapi.dll", "netapi32.dll",
        "powrprof.dll", "psapi.dll", "version.dll", "winhttp.dll", "wininet.dll",
        "setupapi.dll", "cfgmgr32.dll", "wtsapi32.dll", "dwmapi.dll", "uxtheme.dll",
        "imm32.dll", "shcore.dll", "normaliz.dll", "propsys.dll", "opengl32.dll",
        "d3d11.dll", "dxgi.dll", "winspool.drv", "wldap32.dll", "mpr.dll",
    }
)  # fmt: skip
# API sets, resolved by the loader: the core and security ones and the
# Universal CRT (part of Windows 10 and later).
STOCK_PATTERNS = ("api-ms-win-core-*.dll", "api-ms-win-crt-*.dll", "api-ms-win-security-*.dll")


def is_stock_dll(name: str) -> bool:
    low = name.lower()
    return low in STOCK_DLLS or any(fnmatchcase(low, p) for p in STOCK_PATTERNS)


def is_pe(head: bytes) -> bool:
    """Whether the first bytes of a file start a PE image ('MZ', then the
    'PE' signature where e_lfanew points, when it is within ``head``)."""
    if head[:2] != b"MZ" or len(head) < 0x40:
        return False
    (lfanew,) = struct.unpack_from("<I", head, 0x3C)
    return lfanew + 4 > len(head) or head[lfanew : lfanew + 4] == b"PE\0\0"


class _BytesPE(pefile.PE):  # type: ignore[misc]
    """A PE parsed from bytes. pefile's close (and its first write in
    place, and a failed parse) releases a mapped file and then runs a full
    ``gc.collect()``; bytes have nothing to release, and a full collection
    costs tens of milliseconds in a process that holds many objects (a
    build, a fuzz run: 32 of its 35 seconds)."""

    def _close_data(self) -> None:
        return None


def _parse(data: bytes, name: str, directories: list[int]) -> pefile.PE:
    if data[:2] != b"MZ":
        raise MalformedFileError(f"{name}: not a PE file (no 'MZ' header)")
    try:
        pe = _BytesPE(data=data, fast_load=True)
        if directories:
            pe.parse_data_directories(directories=directories)
    except PE_ERRORS as exc:
        raise MalformedFileError(f"{name}: not a readable PE file ({exc})") from None
    return pe


# --- normalize --------------------------------------------------------------------


def normalize(data: bytes, name: str = "file") -> bytes:
    """The PE file ``data`` with what lld stamps differently on each build
    made a function of the rest of its bytes:

    - the COFF header's TimeDateStamp and each debug directory entry's: 0;
    - the CodeView (RSDS) record: the PDB path cut to its file name (the
      freed bytes NUL, the record's size unchanged), Age 1, and the GUID the
      first 16 bytes of a SHA-256 of the file with GUID, stamps and checksum
      zeroed (so a PDB built beside it still matches the same image);
    - the optional header's CheckSum recomputed (pefile's algorithm) when
      the linker wrote one; one of 0 stays 0: lld and Go's linker write
      none, the loader checks it only for drivers and boot-time DLLs, and a
      checksum where the linker put none would change what was shipped.

    Idempotent. An Authenticode signature would not survive: normalize
    before signing.
    """
    pe = _parse(data, name, [_DEBUG])
    out = bytearray(data)
    try:
        checksum_at = pe.OPTIONAL_HEADER.get_file_offset() + 0x40
        had_checksum = pe.OPTIONAL_HEADER.CheckSum != 0
        stamps = [pe.FILE_HEADER.get_field_absolute_offset("TimeDateStamp")]
        records: list[tuple[int, int]] = []
        for entry in getattr(pe, "DIRECTORY_ENTRY_DEBUG", []):
            stamps.append(entry.struct.get_field_absolute_offset("TimeDateStamp"))
            if entry.struct.Type == _CODEVIEW:
                records.append((entry.struct.PointerToRawData, entry.struct.SizeOfData))
    except PE_ERRORS as exc:
        raise MalformedFileError(f"{name}: not a readable PE file ({exc})") from None
    finally:
        pe.close()
    for at in [*stamps, checksum_at]:
        _put(out, at, b"\0\0\0\0", name, "a header field")
    guids = []
    for offset, size in records:
        if size < _PATH_AT + 1 or offset + size > len(out) or offset <= 0:
            raise MalformedFileError(f"{name}: CodeView record outside the file")
        if out[offset : offset + 4] != _RSDS:
            continue  # an older (NB10) record: no GUID, nothing lld stamps
        _put(out, offset + _GUID_AT, bytes(16), name, "the CodeView GUID")
        _put(out, offset + _AGE_AT, struct.pack("<I", 1), name, "the CodeView age")
        field = out[offset + _PATH_AT : offset + size]
        path = bytes(field).split(b"\0", 1)[0]
        base = ntpath.basename(path.decode("utf-8", "surrogateescape")).encode(
            "utf-8", "surrogateescape"
        )
        out[offset + _PATH_AT : offset + size] = base + bytes(len(field) - len(base))
        guids.append(offset + _GUID_AT)
    if guids:
        guid = hashlib.sha256(out).digest()[:16]
        for at in guids:
            out[at : at + 16] = guid
    if had_checksum:
        _put(out, checksum_at, struct.pack("<I", checksum(bytes(out), name)), name, "CheckSum")
    return bytes(out)


def _put(out: bytearray, at: int, value: bytes, name: str, what: str) -> None:
    if at < 0 or at + len(value) > len(out):
        raise MalformedFileError(f"{name}: {what} lies outside the file")
    out[at : at + len(value)] = value


def checksum(data: bytes, name: str = "file") -> int:
    """The PE image checksum of ``data`` (pefile's generate_checksum)."""
    pe = _parse(data, name, [])
    try:
        return int(pe.generate_checksum())
    except PE_ERRORS as exc:
        raise MalformedFileError(f"{name}: not a readable PE file ({exc})") from None
    finally:
        pe.close()


# --- checks and facts -------------------------------------------------------------


@dataclass(frozen=True)
class PeFacts:
    """What the manifest records of a PE file."""

    machine: str  # IMAGE_FILE_MACHINE_AMD64 ...
    subsystem: str  # IMAGE_SUBSYSTEM_WINDOWS_CUI ...
    dll: bool  # a library rather than a program
    dlls: tuple[str, ...]  # imported DLLs (and delay-loaded ones), lower case, sorted

    def as_dict(self) -> dict[str, object]:
        return {
            "machine": self.machine,
            "subsystem": self.subsystem,
            "dll": self.dll,
            "dlls": list(self.dlls),
        }


def _read(src: bytes | BinaryIO) -> bytes:
    if isinstance(src, bytes | bytearray | memoryview):
        return bytes(src)
    src.seek(0)
    return src.read()


def facts(src: bytes | BinaryIO, name: str = "file") -> PeFacts:
    """Machine, subsystem and imported DLLs of a PE file."""
    return _facts(_read(src), name)[0]


def _facts(data: bytes, name: str) -> tuple[PeFacts, int]:
    """The facts and the optional header's magic."""
    pe = _parse(data, name, [_IMPORT, _DELAY_IMPORT])
    try:
        machine = pefile.MACHINE_TYPE.get(pe.FILE_HEADER.Machine, f"{pe.FILE_HEADER.Machine:#x}")
        subsystem = pefile.SUBSYSTEM_TYPE.get(
            pe.OPTIONAL_HEADER.Subsystem, f"{pe.OPTIONAL_HEADER.Subsystem}"
        )
        dlls = {
            entry.dll.decode("utf-8", "replace").lower()
            for attr in ("DIRECTORY_ENTRY_IMPORT", "DIRECTORY_ENTRY_DELAY_IMPORT")
            for entry in getattr(pe, attr, [])
        }
        found = PeFacts(
            machine=str(machine),
            subsystem=str(subsystem),
            dll=pe.is_dll(),
            dlls=tuple(sorted(dlls)),
        )
        return found, int(pe.OPTIONAL_HEADER.Magic)
    except PE_ERRORS as exc:
        raise MalformedFileError(f"{name}: not a readable PE file ({exc})") from None
    finally:
        pe.close()


def check(
    src: bytes | BinaryIO, triple: Triple, name: str, subsystem: str | None = _CUI
) -> list[str]:
    """Problems with a PE file for ``triple``; [] when it matches. A program
    must have ``subsystem`` (the console, unless told otherwise; None: not
    checked); a DLL is not checked for one."""
    try:
        found, magic = _facts(_read(src), name)
    except MalformedFileError as exc:
        return [str(exc)]
    problems: list[str] = []
    if found.machine != triple.machine:
        problems.append(f"{name}: machine is {found.machine}, {triple.name} needs {triple.machine}")
    if triple.elf_class == 64 and magic != _PE32_PLUS:
        problems.append(
            f"{name}: PE32 (optional header magic {magic:#x}), {triple.name} needs PE32+"
        )
    if subsystem is not None and not found.dll and found.subsystem != subsystem:
        problems.append(f"{name}: subsystem is {found.subsystem}, expected {subsystem}")
    problems += [
        f"{name}: imports {dll}, which a stock Windows does not have"
        for dll in found.dlls
        if not is_stock_dll(dll)
    ]
    return problems


# --- objects (static libraries) -------------------------------------------------------


def coff_machine(body: bytes) -> str | None:
    """The machine of a COFF object file (a static library's member, regular
    or bigobj), or None for a short import member or anything else."""
    machine = coff.header_machine(body)
    if machine is None or machine not in pefile.MACHINE_TYPE:
        return None
    return str(pefile.MACHINE_TYPE[machine])


# --- sections, for the leak scanner -----------------------------------------------

# A section as the scanner reads it: name, "raw" or "zdebug", offset, size.
Section = tuple[str, str, int, int]
_MAX_SECTIONS = 0xFFFF
_MAX_NAME = 4096


def sections(fh: BinaryIO) -> list[Section] | None:
    """The readable parts of a PE file, from its headers alone (the file is
    not read whole): the headers and each section (long names such as
    ``/4`` read from the COFF string table: ``.debug_info``). None where
    the headers cannot be read."""
    try:
        return list(_sections(fh))
    except (struct.error, ValueError, OSError, OverflowError):
        return None


def _sections(fh: BinaryIO) -> Iterator[Section]:
    length = fh.seek(0, io.SEEK_END)
    fh.seek(0)
    dos = fh.read(0x40)
    (lfanew,) = struct.unpack_from("<I", dos, 0x3C)
    fh.seek(lfanew)
    head = fh.read(24)
    if head[:4] != b"PE\0\0":
        raise ValueError("no PE signature")
    count, _, symtab, nsyms, opt_size = struct.unpack_from("<HIIIH", head, 6)
    table_at = lfanew + 24 + opt_size
    fh.seek(table_at)
    table = fh.read(40 * min(count, _MAX_SECTIONS))
    strings_at = symtab + 18 * nsyms if symtab else 0
    yield "headers", "raw", 0, min(table_at + len(table), length)
    for i in range(len(table) // 40):
        raw_name, size, offset = struct.unpack_from("<8s8xII", table, 40 * i)
        name = raw_name.rstrip(b"\0").decode("utf-8", "replace")
        if name.startswith("/") and name[1:].isdigit() and strings_at:
            name = _long_name(fh, strings_at + int(name[1:]), length) or name
        offset, size = min(offset, length), max(0, min(size, length - offset))
        if size:
            how = "raw"
            if name.startswith(".zdebug"):
                fh.seek(offset)
                if fh.read(4) == b"ZLIB":
                    how, offset, size = "zdebug", offset + 12, max(0, size - 12)
            yield name, how, offset, size


def _long_name(fh: BinaryIO, at: int, length: int) -> str | None:
    if at >= length:
        return None
    fh.seek(at)
    raw = fh.read(_MAX_NAME).split(b"\0", 1)[0]
    return raw.decode("utf-8", "replace") or None
