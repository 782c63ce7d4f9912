"""Does an artifact's ELF header match its target triple?

Checks machine, class, endianness and, on ARM, the float ABI recorded in
e_flags. A static library is checked member by member.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path
from typing import BinaryIO, Protocol

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from relbuild.triples import Triple

# What pyelftools and construct raise on a malformed file, at any depth.
ELF_ERRORS = (
    ELFError,
    ValueError,
    KeyError,
    IndexError,
    AttributeError,
    TypeError,
    struct.error,
    EOFError,
    AssertionError,
)

EF_ARM_ABI_FLOAT_SOFT = 0x200
EF_ARM_ABI_FLOAT_HARD = 0x400
_AR_MAGIC = b"!<arch>\n"


def is_elf(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(4) == b"\x7fELF"


def is_ar(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(8) == _AR_MAGIC


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
    members: list[tuple[str, bytes]] = []
    pos = len(_AR_MAGIC)
    names = b""
    while pos + 60 <= len(data):
        header = data[pos : pos + 60]
        name = header[:16].decode("ascii", "replace").strip()
        try:
            size = int(header[48:58].decode("ascii").strip())
        except ValueError:
            break
        if size < 0 or header[58:60] != b"`\n" or pos + 60 + size > len(data):
            break  # malformed or truncated: stop rather than guess
        body = data[pos + 60 : pos + 60 + size]
        pos += 60 + size + (size & 1)
        if name in ("/", "/SYM64/", "__.SYMDEF", "__.SYMDEF SORTED"):
            continue
        if name == "//":
            names = body
            continue
        if name.startswith("/") and name[1:].isdigit() and names:
            start = int(name[1:])
            end = names.find(b"/\n", start)
            name = names[start:end].decode("utf-8", "replace")
        members.append((name.rstrip("/"), body))
    return members


class Passes(Protocol):
    """Objects known to match (a check depends only on the bytes and the
    triple, and a static library has hundreds of members to parse)."""

    def known(self, body: bytes) -> bool: ...
    def add(self, body: bytes) -> None: ...


def check_file(path: Path, triple: Triple, passes: Passes | None = None) -> list[str]:
    """Problems with ``path``'s ELF header(s) for ``triple``; [] when it
    matches. A static library is checked member by member, each member
    ``passes`` knows being skipped."""
    if is_elf(path):
        with path.open("rb") as fh:
            return header_problems(fh, triple, path.name)
    if is_ar(path):
        problems: list[str] = []
        objects = [(n, b) for n, b in ar_members(path.read_bytes()) if b[:4] == b"\x7fELF"]
        if not objects:
            return [f"{path.name}: archive holds no ELF object"]
        for name, body in objects:
            if passes is not None and passes.known(body):
                continue
            found = header_problems(io.BytesIO(body), triple, f"{path.name}({name})")
            if passes is not None and not found:
                passes.add(body)
            problems += found
        return problems
    return []


def symbol_names(path: Path) -> set[str]:
    """The names in an ELF file's symbol tables (empty when it has none or
    is not readable as ELF)."""
    try:
        with path.open("rb") as fh:
            elf = ELFFile(fh)
            names: set[str] = set()
            for section in elf.iter_sections():
                if isinstance(section, SymbolTableSection):
                    names.update(sym.name for sym in section.iter_symbols())
            return names
    except ELF_ERRORS:
        return set()
