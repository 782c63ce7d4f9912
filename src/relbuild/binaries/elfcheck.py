"""Does an artifact's ELF header match its target triple?

Checks machine, class, endianness and, on ARM, the float ABI recorded in
e_flags. A static library is checked member by member.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from elftools.common.exceptions import ELFError
from elftools.elf import enums
from elftools.elf.elffile import ELFFile

from relbuild.binaries.elfsections import (
    SHT_DYNSYM,
    SHT_SYMTAB,
    ElfHeaders,
    SectionHeader,
    read_headers,
)
from relbuild.config.triples import Triple

# What pyelftools and construct raise on a malformed file, at any depth: an
# offset with its top bit set overflows a seek (OverflowError), a section
# count of 2**32 a buffer (MemoryError), nested attributes the stack.
# What a reader of untrusted bytes (pyelftools, pefile) may raise, at any
# depth, besides its own error class.
READ_ERRORS = (
    ValueError,
    KeyError,
    IndexError,
    AttributeError,
    TypeError,
    struct.error,
    EOFError,
    AssertionError,
    ArithmeticError,
    RecursionError,
    MemoryError,
    NotImplementedError,
    OSError,
)
ELF_ERRORS = (ELFError, *READ_ERRORS)
# pyelftools names a section's type (by machine); elfsections keeps the number.
_SH_TYPES: dict[str, int] = {
    name: number
    for table in dir(enums)
    if table.startswith("ENUM_SH_TYPE")
    for name, number in getattr(enums, table).items()
    if isinstance(number, int)
}

EF_ARM_ABI_FLOAT_SOFT = 0x200
EF_ARM_ABI_FLOAT_HARD = 0x400
AR_MAGIC = b"!<arch>\n"
# The GNU table of long member names; a library of 1,000 members with names
# of 200 bytes has one of 200 KB.
MAX_NAMES = 4 << 20


def is_elf(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(4) == b"\x7fELF"


def is_ar(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(8) == AR_MAGIC


def arm_attributes(elf: ELFFile) -> dict[str, object]:
    """The public ('aeabi') build attributes of an ARM ELF file, by tag name."""
    section = elf.get_section_by_name(".ARM.attributes")
    out: dict[str, object] = {}
    if section is None or not hasattr(section, "iter_subsections"):
        return out
    for sub in section.iter_subsections():
        for subsub in sub.iter_subsubsections():
            for attr in subsub.iter_attributes():
                out[str(attr.tag)] = attr.value
    return out


def arm_float_abi(elf: ELFFile) -> str | None:
    """'hard' or 'soft' from e_flags (linked files) or, for relocatable
    objects, from Tag_ABI_VFP_args; None when neither records it."""
    flags = elf["e_flags"]
    if flags & EF_ARM_ABI_FLOAT_HARD:
        return "hard"
    if flags & EF_ARM_ABI_FLOAT_SOFT:
        return "soft"
    vfp_args = arm_attributes(elf).get("TAG_ABI_VFP_ARGS")
    if vfp_args == 1:
        return "hard"
    if vfp_args == 0:
        return "soft"
    return None


def header_problems(stream: BinaryIO, triple: Triple, what: str) -> list[str]:
    try:
        return _header_problems(ELFFile(stream), triple, what)
    except ELF_ERRORS as exc:
        return [f"{what}: not a readable ELF file ({exc})"]


def _header_problems(elf: ELFFile, triple: Triple, what: str) -> list[str]:
    problems: list[str] = []
    machine = elf["e_machine"]
    if machine != triple.elf_machine:
        problems.append(f"{what}: machine is {machine}, {triple.name} needs {triple.elf_machine}")
    if elf.elfclass != triple.elf_class:
        problems.append(f"{what}: ELF{elf.elfclass}, {triple.name} needs ELF{triple.elf_class}")
    endian = "little" if elf.little_endian else "big"
    if endian != triple.endian:
        problems.append(f"{what}: {endian}-endian, {triple.name} is {triple.endian}-endian")
    if machine == "EM_ARM" and triple.float_abi is not None:
        flags = elf["e_flags"]
        found = (
            "hard"
            if flags & EF_ARM_ABI_FLOAT_HARD
            else "soft"
            if flags & EF_ARM_ABI_FLOAT_SOFT
            else None
        )
        # Go's internal linker records no float ABI; only a recorded one that
        # contradicts the triple is wrong.
        if found is not None and found != triple.float_abi:
            problems.append(
                f"{what}: {found}-float ABI (e_flags {flags:#x}), {triple.name} is "
                f"{triple.float_abi}-float"
            )
    return problems


def ar_members(data: bytes) -> list[tuple[str, bytes]]:
    """Members of a System V / GNU ar archive, without the symbol tables."""
    stream = io.BytesIO(data)
    return [(name, stream.read(size)) for name, _, size in ar_index(stream, len(data))]


def ar_index(stream: BinaryIO, length: int) -> Iterator[tuple[str, int, int]]:
    """(name, offset, size) of each member, read header by header from
    ``stream`` (positioned at the member when yielded); stops at the first
    malformed or truncated header rather than guess."""
    pos = len(AR_MAGIC)
    names = b""
    while pos + 60 <= length:
        stream.seek(pos)
        header = stream.read(60)
        name = header[:16].decode("ascii", "replace").strip()
        try:
            size = int(header[48:58].decode("ascii").strip())
        except ValueError:
            return
        if size < 0 or header[58:60] != b"`\n" or pos + 60 + size > length:
            return
        body_at = pos + 60
        pos = body_at + size + (size & 1)
        if name.startswith("#1/") and name[3:].isdigit():
            # BSD ar (Apple's): the name is the member's first N bytes.
            n = int(name[3:])
            if n > size:
                return
            stream.seek(body_at)
            name = stream.read(n).rstrip(b"\0").decode("utf-8", "replace")
            body_at, size = body_at + n, size - n
        if name in ("/", "/SYM64/", "__.SYMDEF", "__.SYMDEF SORTED", "__.SYMDEF_64"):
            continue
        if name == "//":
            stream.seek(body_at)
            names = stream.read(min(size, MAX_NAMES))  # a longer table is not read whole
            continue
        if name.startswith("/") and name[1:].isdigit() and names:
            start = int(name[1:])
            end = names.find(b"/\n", start)
            name = names[start:end].decode("utf-8", "replace")
        stream.seek(body_at)
        yield name.rstrip("/"), body_at, size


class Passes(Protocol):
    """Objects known to match (a check depends only on the bytes and the
    triple, and a static library has hundreds of members to parse)."""

    def known(self, body: bytes) -> bool: ...
    def add(self, body: bytes) -> None: ...


def check_file(path: Path, triple: Triple, passes: Passes | None = None) -> list[str]:
    """Problems with ``path``'s ELF header(s) for ``triple``; [] when it
    matches. A static library is checked member by member, each member
    ``passes`` knows being skipped."""
    with path.open("rb") as fh:
        return check_stream(fh, triple, path.name, passes)


def check_stream(
    fh: BinaryIO, triple: Triple, name: str, passes: Passes | None = None
) -> list[str]:
    """Problems with the ELF header(s) in an open file for ``triple``: the
    file itself, or each object of a static library (read one at a time)."""
    fh.seek(0)
    magic = fh.read(8)
    if magic[:4] == b"\x7fELF":
        fh.seek(0)
        return header_problems(fh, triple, name)
    if magic == AR_MAGIC:
        length = fh.seek(0, io.SEEK_END)
        problems: list[str] = []
        objects = 0
        for member, _, size in ar_index(fh, length):
            body = fh.read(size)
            if body[:4] != b"\x7fELF":
                continue
            objects += 1
            if passes is not None and passes.known(body):
                continue
            found = header_problems(io.BytesIO(body), triple, f"{name}({member})")
            if passes is not None and not found:
                passes.add(body)
            problems += found
        return problems if objects else [f"{name}: archive holds no ELF object"]
    return []


def section_headers(fh: BinaryIO) -> ElfHeaders | None:
    """An ELF file's section headers, read straight from their bytes
    (elfsections), or by pyelftools where that reader refuses them (extended
    section numbering); None when neither can read them."""
    found = read_headers(fh)
    if found is not None:
        return found
    try:
        elf = ELFFile(fh)
        sections = tuple(
            SectionHeader(
                s.name,
                _SH_TYPES.get(s["sh_type"], -1) if isinstance(s["sh_type"], str) else s["sh_type"],
                s["sh_flags"],
                s["sh_offset"],
                s["sh_size"],
                s["sh_link"],
            )
            for s in elf.iter_sections()
        )
        return ElfHeaders(elf.elfclass == 64, elf.little_endian, sections)
    except (*ELF_ERRORS, OverflowError, RecursionError):
        return None


def symbol_names(path: Path) -> set[str]:
    """The names in an ELF file's symbol tables (empty when it has none or
    is not readable as ELF)."""
    try:
        with path.open("rb") as fh:
            headers = section_headers(fh)
            if headers is None:
                return set()
            names: set[str] = set()
            sections = headers.sections
            for s in sections:
                if s.type not in (SHT_SYMTAB, SHT_DYNSYM) or s.link >= len(sections):
                    continue
                fh.seek(s.offset)
                table = fh.read(s.size)
                fh.seek(sections[s.link].offset)
                strings = fh.read(sections[s.link].size)
                names.update(_names(table, strings, 64 if headers.wide else 32, headers.little))
            return names
    except ELF_ERRORS:
        return set()


def _names(table: bytes, strings: bytes, elfclass: int, little: bool) -> Iterator[str]:
    """Each symbol's name, read straight from the table's bytes (st_name is
    every entry's first word): a Go program has 25,000 symbols, and
    pyelftools' objects for each cost seconds."""
    size = 24 if elfclass == 64 else 16
    word = struct.Struct("<I" if little else ">I")
    for offset in range(0, len(table) - size + 1, size):
        (at,) = word.unpack_from(table, offset)
        end = strings.find(b"\0", at)
        yield strings[at : end if end >= 0 else len(strings)].decode("utf-8", "replace")
