"""One object file (a static library's member, or the C probe), in the three
formats relbuild's targets use: ELF (Linux, bare metal), COFF (Windows) and
Mach-O (macOS). Each gives the global functions it defines, by their C
names, and its DWARF as pyelftools reads it.

ELF is read with pyelftools, and its DWARF sections are relocated here
(below). COFF objects are read by coff.py, Mach-O ones with LIEF; their
debug sections are handed to pyelftools' ``DWARFInfo``. What relocations
those need (seen in rustc's and zig's objects, x86_64 and arm64):

- COFF: every DWARF offset into another debug section is an
  ``IMAGE_REL_*_SECREL`` against that section's own symbol, whose value is
  0; COFF keeps the addend in place, so the bytes already hold the offset.
  SECREL relocations are applied anyway (the symbol's value added), which
  changes nothing there and stays right for a symbol that is not at the
  section's start. Address relocations (``ADDR64`` against ``.text``) only
  touch code addresses, which the check never reads.
- Mach-O: offsets between DWARF sections carry no relocation at all (an
  object's DWARF is read in place by dsymutil, never linked); the
  ``UNSIGNED`` relocations in ``__debug_info`` are code addresses.

Mach-O prefixes C names with ``_``; here they are given without it.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any, Literal

from elftools.common.exceptions import DWARFError
from elftools.dwarf.dwarfinfo import DebugSectionDescriptor, DwarfConfig, DWARFInfo
from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection
from elftools.elf.sections import SymbolTableSection

from relbuild.binaries import coff
from relbuild.binaries.elfcheck import ELF_ERRORS
from relbuild.binaries.lieflib import lief
from relbuild.binaries.macho import MH_MAGIC_64_LE, cpu_name
from relbuild.errors import UsageError

# What reading an object or its DWARF raises on malformed input.
OBJECT_ERRORS = (*ELF_ERRORS, DWARFError, coff.CoffError)

Format = Literal["elf", "coff", "macho"]


@dataclass
class ObjectFile:
    """What the ABI check reads of one object."""

    format: Format
    functions: set[str]  # global functions it defines, by C name
    pointer_size: int
    dwarf: DWARFInfo | None = None


def object_format(body: bytes) -> Format | None:
    if body[:4] == b"\x7fELF":
        return "elf"
    if body[:4] == MH_MAGIC_64_LE:
        return "macho"
    if coff.machine(body) is not None:
        return "coff"
    return None


def read_object(body: bytes, what: str, with_dwarf: bool = True) -> ObjectFile:
    """The object ``body``; UsageError when it cannot be read."""
    kind = object_format(body)
    readers = {"elf": _read_elf, "coff": _read_coff, "macho": _read_macho}
    if kind is None:
        raise UsageError(f"{what}: not an ELF, COFF or Mach-O object")
    try:
        with warnings.catch_warnings():
            # LIEF warns of each unknown enum value in a malformed file; such
            # values are compared as numbers here and fail the checks below.
            warnings.simplefilter("ignore", RuntimeWarning)
            return readers[kind](body, what, with_dwarf)
    except OBJECT_ERRORS as exc:
        raise UsageError(f"{what}: unreadable {kind} object ({exc})") from None


# --- ELF ----------------------------------------------------------------------------

# Relocations that DWARF sections of an object file carry, by machine: type
# -> bytes written. pyelftools knows too few of them (none for RISC-V, no
# TLS ones: std's thread-locals put R_X86_64_DTPOFF64 into .debug_info), so
# objects are relocated here: S + A (RELA) or S + the value in place (REL).
# Others (RISC-V's ADD/SUB pairs for code-address differences) are left as
# they are; they never touch a name, a type or an offset read here.
_RELOCS: dict[str, dict[int, int]] = {
    "EM_X86_64": {1: 8, 10: 4, 11: 4, 17: 8, 21: 4},
    "EM_386": {1: 4, 32: 4},
    "EM_AARCH64": {257: 8, 258: 4, 1029: 8},
    "EM_ARM": {2: 4, 32: 4},
    "EM_RISCV": {1: 4, 2: 8, 8: 4, 9: 8},
}


class _ObjectELF(ELFFile):
    """An ELF file whose DWARF sections are relocated by :func:`_relocate`."""

    def _read_dwarf_section(self, section: Any, relocate_dwarf_sections: bool) -> Any:
        desc = super()._read_dwarf_section(section, False)
        if relocate_dwarf_sections and self["e_type"] == "ET_REL":
            _relocate(self, section, desc.stream)
        return desc


def _relocate(elf: ELFFile, section: Any, stream: Any) -> None:
    widths = _RELOCS.get(elf["e_machine"], {})
    names = (".rela" + section.name, ".rel" + section.name)
    for rel in elf.iter_sections():
        if not isinstance(rel, RelocationSection) or rel.name not in names:
            continue
        symtab = elf.get_section(rel["sh_link"])
        if not isinstance(symtab, SymbolTableSection):
            continue
        order: Literal["little", "big"] = "little" if elf.little_endian else "big"
        data = stream.getbuffer()
        for r in rel.iter_relocations():
            width = widths.get(r["r_info_type"])
            offset = r["r_offset"]
            if width is None or offset + width > len(data):
                continue
            sym = symtab.get_symbol(r["r_info_sym"])["st_value"] if r["r_info_sym"] else 0
            addend = (
                r["r_addend"]
                if r.is_RELA()
                else int.from_bytes(data[offset : offset + width], order)
            )
            value = (sym + addend) % (1 << (8 * width))
            data[offset : offset + width] = value.to_bytes(width, order)
        del data


def _read_elf(body: bytes, what: str, with_dwarf: bool) -> ObjectFile:
    del what  # pyelftools' own errors name what is wrong
    elf = _ObjectELF(io.BytesIO(body))
    functions: set[str] = set()
    for section in elf.iter_sections():
        if not isinstance(section, SymbolTableSection) or section["sh_type"] != "SHT_SYMTAB":
            continue
        for sym in section.iter_symbols():
            info = sym["st_info"]
            if (
                info["type"] in ("STT_FUNC", "STT_GNU_IFUNC")
                and info["bind"] in ("STB_GLOBAL", "STB_WEAK")
                and sym["st_shndx"] != "SHN_UNDEF"
                and sym.name
            ):
                functions.add(sym.name)
    dwarf = elf.get_dwarf_info() if with_dwarf and elf.has_dwarf_info() else None
    return ObjectFile("elf", functions, 8 if elf.elfclass == 64 else 4, dwarf)


# --- COFF and Mach-O: debug sections to pyelftools ----------------------------------

# pyelftools' DWARFInfo arguments, by the section's ELF-style name.
_DWARF_ARGS = {
    ".debug_info": "debug_info_sec",
    ".debug_aranges": "debug_aranges_sec",
    ".debug_abbrev": "debug_abbrev_sec",
    ".debug_frame": "debug_frame_sec",
    ".debug_str": "debug_str_sec",
    ".debug_loc": "debug_loc_sec",
    ".debug_ranges": "debug_ranges_sec",
    ".debug_line": "debug_line_sec",
    ".debug_pubtypes": "debug_pubtypes_sec",
    ".debug_pubnames": "debug_pubnames_sec",
    ".debug_addr": "debug_addr_sec",
    ".debug_str_offsets": "debug_str_offsets_sec",
    ".debug_line_str": "debug_line_str_sec",
    ".debug_loclists": "debug_loclists_sec",
    ".debug_rnglists": "debug_rnglists_sec",
    ".debug_types": "debug_types_sec",
}
# Mach-O section names are cut at 16 bytes: "__debug_str_offs".
_MACHO_DWARF = {("__" + name[1:])[:16]: name for name in _DWARF_ARGS if name.startswith(".debug_")}


def _dwarf(sections: dict[str, bytes], pointer_size: int, arch: str) -> DWARFInfo | None:
    if ".debug_info" not in sections:
        return None
    args: dict[str, DebugSectionDescriptor | None] = dict.fromkeys(
        [*_DWARF_ARGS.values(), "eh_frame_sec"]
    )
    args |= {"debug_sup_sec": None, "gnu_debugaltlink_sec": None}
    for name, data in sections.items():
        args[_DWARF_ARGS[name]] = DebugSectionDescriptor(
            stream=io.BytesIO(data), name=name, global_offset=0, size=len(data), address=0
        )
    config = DwarfConfig(little_endian=True, machine_arch=arch, default_address_size=pointer_size)
    return DWARFInfo(config=config, **args)


def _text(name: str | bytes) -> str:
    """A symbol's name (LIEF gives bytes for one that is not UTF-8)."""
    return name if isinstance(name, str) else name.decode("utf-8", "replace")


def _read_coff(body: bytes, what: str, with_dwarf: bool) -> ObjectFile:
    del what  # CoffError says what is wrong; read_object names the object
    obj = coff.CoffObject(body)
    assert obj.machine is not None
    pointer_size, arch, secrel = coff.MACHINES[obj.machine]
    symbols = obj.symbols()
    functions = {
        sym.name
        for sym in symbols.values()
        if sym.storage_class in (coff.CLASS_EXTERNAL, coff.CLASS_WEAK_EXTERNAL)
        and 0 < sym.section <= len(obj.sections)
        and (
            sym.type & 0x30 == coff.FUNCTION_TYPE
            or obj.sections[sym.section - 1].characteristics & coff.CNT_CODE
        )
        and sym.name
    }
    if not with_dwarf:
        return ObjectFile("coff", functions, pointer_size)
    debug: dict[str, bytes] = {}
    for section in obj.sections:
        if section.name in _DWARF_ARGS and section.name not in debug:
            debug[section.name] = _secrel(obj, section, symbols, secrel)
    return ObjectFile("coff", functions, pointer_size, _dwarf(debug, pointer_size, arch))


def _secrel(
    obj: coff.CoffObject, section: coff.Section, symbols: dict[int, coff.Symbol], secrel: int
) -> bytes:
    """A COFF debug section's bytes with its SECREL relocations applied:
    the symbol's offset in its section added to the offset kept in place."""
    data = bytearray(obj.content(section))
    for reloc in obj.relocations(section):
        sym = symbols.get(reloc.symbol)
        at = reloc.offset
        if reloc.type != secrel or sym is None or at + 4 > len(data):
            continue
        value = int.from_bytes(data[at : at + 4], "little") + sym.value
        data[at : at + 4] = (value % (1 << 32)).to_bytes(4, "little")
    return bytes(data)


_N_EXT, _N_TYPE, _N_SECT = 0x01, 0x0E, 0x0E
_CPU = {"ARM64": (8, "AArch64"), "x86_64": (8, "x64")}


def _read_macho(body: bytes, what: str, with_dwarf: bool) -> ObjectFile:
    fat = lief().MachO.parse(io.BytesIO(body))
    if fat is None or fat.size != 1:
        raise UsageError(f"{what}: unreadable Mach-O object")
    macho = fat.at(0)
    if macho is None:
        raise UsageError(f"{what}: unreadable Mach-O object")
    cpu = cpu_name(int.from_bytes(body[4:8], "little"))
    if cpu not in _CPU:
        raise UsageError(f"{what}: a Mach-O object for {cpu}, which relbuild does not read")
    pointer_size, arch = _CPU[cpu]
    sections = list(macho.sections)
    code = lief().MachO.Section.FLAGS.PURE_INSTRUCTIONS
    functions: set[str] = set()
    for sym in macho.symbols:
        raw = sym.raw_type
        index = sym.numberof_sections
        if (
            raw & _N_EXT
            and raw & _N_TYPE == _N_SECT
            and 0 < index <= len(sections)
            and sections[index - 1].has(code)
            and _text(sym.name).startswith("_")
        ):
            functions.add(_text(sym.name)[1:])
    if not with_dwarf:
        return ObjectFile("macho", functions, pointer_size)
    debug = {
        _MACHO_DWARF[s.name]: bytes(s.content)
        for s in sections
        if s.segment_name == "__DWARF" and s.name in _MACHO_DWARF
    }
    return ObjectFile("macho", functions, pointer_size, _dwarf(debug, pointer_size, arch))
