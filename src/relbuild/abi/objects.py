"""The two readers of ELF objects behind the ABI check: the exported
functions of a static library (symbol tables of its members, signatures from
the DWARF of the members that define them) and the probe object that
cdecl.py has the pinned zig compile, whose variables ``__relbuild_*`` carry
the C side's types as the target's C compiler lays them out.

Both turn DWARF into shapes with dwarf.py's converter; objects' DWARF
sections are relocated here first, and ar archives are read here too.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection
from elftools.elf.sections import SymbolTableSection

from relbuild.abi.dwarf import DIE, Converter, Files, name_of, type_of, walk_dies
from relbuild.abi.model import Declared, ExportView, Place, Shape
from relbuild.binaries.elfcheck import ELF_ERRORS
from relbuild.errors import UsageError

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


def _elf(data: bytes, what: str) -> ELFFile:
    try:
        return _ObjectELF(io.BytesIO(data))
    except ELF_ERRORS as exc:
        raise UsageError(f"{what}: not a readable ELF object ({exc})") from None


def _defined_functions(elf: ELFFile) -> set[str]:
    out: set[str] = set()
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
                out.add(sym.name)
    return out


def read_exports(
    path: Path, wanted: set[str], display: Callable[[str], str] = lambda p: p
) -> ExportView:
    """The functions a static library (or one object) defines and exports,
    and the DWARF signatures of those in ``wanted``.

    The archive's own symbol index says which member defines what, so only
    the members that define a wanted symbol are parsed: a staticlib that
    uses std holds hundreds of objects with debug info.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    if data[:4] == b"\x7fELF":
        objects = {0: (path.name, data)}
        index: dict[str, int] | None = None
    elif data[:8] == b"!<arch>\n":
        objects, index = _archive(data)
    else:
        raise UsageError(f"{path}: neither an ELF object nor an ar archive")
    view = ExportView()
    if index is not None:
        view.symbols = set(index)
        todo = sorted({index[name] for name in wanted if name in index})
    else:
        todo = sorted(objects)
    for offset in todo:
        member, body = objects[offset]
        if body[:4] != b"\x7fELF":
            continue
        elf = _elf(body, f"{path.name}({member})")
        try:
            defined = _defined_functions(elf)
            if index is None:
                view.symbols |= defined
            view.code |= defined & wanted
            if defined & wanted:
                _signatures(elf, defined & wanted, view, display)
        except ELF_ERRORS as exc:
            raise UsageError(f"{path.name}({member}): unreadable ELF object ({exc})") from None
    if index is not None:
        # The index lists data too: keep only what a member defines as code.
        view.symbols = {n for n in view.symbols if n not in wanted or n in _functions_seen(view)}
    return view


def _functions_seen(view: ExportView) -> set[str]:
    return set(view.functions) | view.code


def _archive(data: bytes) -> tuple[dict[int, tuple[str, bytes]], dict[str, int] | None]:
    """Members by header offset, and the GNU symbol index (name -> member
    offset) when the archive has one. Malformed input ends the walk."""
    members: dict[int, tuple[str, bytes]] = {}
    index: dict[str, int] | None = None
    names = b""
    pos = 8
    while pos + 60 <= len(data):
        header = data[pos : pos + 60]
        name = header[:16].decode("ascii", "replace").strip()
        try:
            size = int(header[48:58].decode("ascii").strip())
        except ValueError:
            break
        if size < 0 or header[58:60] != b"`\n" or pos + 60 + size > len(data):
            break
        body = data[pos + 60 : pos + 60 + size]
        if name in ("/", "/SYM64/"):
            index = _symbol_index(body, 8 if name == "/SYM64/" else 4)
        elif name == "//":
            names = body
        else:
            if name.startswith("/") and name[1:].isdigit() and names:
                start = int(name[1:])
                end = names.find(b"/\n", start)
                name = names[start:end].decode("utf-8", "replace")
            members[pos] = (name.rstrip("/"), body)
        pos += 60 + size + (size & 1)
    if index is not None and not all(offset in members for offset in index.values()):
        index = None  # an index that points nowhere is not trusted
    return members, index


def _symbol_index(body: bytes, width: int) -> dict[str, int] | None:
    if len(body) < width:
        return None
    count = int.from_bytes(body[:width], "big")
    table_end = width + count * width
    if count > len(body) or table_end > len(body):
        return None
    offsets = [
        int.from_bytes(body[width + i * width : width + (i + 1) * width], "big")
        for i in range(count)
    ]
    names = body[table_end:].split(b"\0")
    if len(names) < count:
        return None
    return {names[i].decode("utf-8", "replace"): offsets[i] for i in range(count)}


def _signatures(
    elf: ELFFile, names: set[str], view: ExportView, display: Callable[[str], str]
) -> None:
    if not elf.has_dwarf_info():
        return
    dwarf = elf.get_dwarf_info()
    convert = Converter(8 if elf.elfclass == 64 else 4)
    for cu in dwarf.iter_CUs():
        files = Files(dwarf, cu)

        def locate(die: DIE, files: Files = files) -> tuple[str, int | None]:
            file, line = files(die)
            return display(file), line

        convert.locate = locate
        for die in walk_dies(cu.get_top_DIE()):
            if die.tag != "DW_TAG_subprogram" or die.attributes.get("DW_AT_declaration"):
                continue
            origin = die
            for key in ("DW_AT_abstract_origin", "DW_AT_specification"):
                if key in origin.attributes:
                    origin = origin.get_DIE_from_attribute(key)
            name = name_of(origin)
            linkage = origin.attributes.get("DW_AT_linkage_name")
            if linkage is not None:
                name = linkage.value.decode("utf-8", "replace")
            if name not in names or name in view.functions:
                continue
            file, line = locate(origin)
            sig = convert.function(die if _has_params(die) else origin)
            view.functions[name] = Declared(name, sig, Place("rust", file, line))


def _has_params(die: DIE) -> bool:
    return "DW_AT_type" in die.attributes or any(
        c.tag == "DW_TAG_formal_parameter" for c in die.iter_children()
    )


def read_probe(
    data: bytes, prefix: str, display: Callable[[str], str] = lambda p: p
) -> dict[str, Shape]:
    """Types of the probe object's variables named ``prefix...``."""
    elf = _elf(data, "the C probe object")
    out: dict[str, Shape] = {}
    if not elf.has_dwarf_info():
        return out
    convert = Converter(8 if elf.elfclass == 64 else 4)
    info = elf.get_dwarf_info()
    for cu in info.iter_CUs():
        files = Files(info, cu)

        def locate(die: DIE, files: Files = files) -> tuple[str, int | None]:
            file, line = files(die)
            return display(file), line

        convert.locate = locate
        for die in cu.get_top_DIE().iter_children():
            if die.tag == "DW_TAG_variable" and name_of(die).startswith(prefix):
                shape = convert.shape(type_of(die))
                out[name_of(die)] = shape
    return out
