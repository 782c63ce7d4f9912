"""DWARF into shapes (see model.py), with pyelftools.

Two readers share one converter: the exported functions of a static library
(symbol tables of its members, signatures from the DWARF of the members that
define them) and the probe object that cdecl.py has the pinned zig compile,
whose variables ``__relbuild_*`` carry the C side's types as the target's C
compiler lays them out.
"""

from __future__ import annotations

import io
import posixpath
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection
from elftools.elf.sections import SymbolTableSection

from relbuild.abi.model import (
    VOID,
    Array,
    Declared,
    ExportView,
    FuncType,
    Member,
    Param,
    Place,
    Pointer,
    Record,
    Scalar,
    Shape,
)
from relbuild.elfcheck import ELF_ERRORS
from relbuild.errors import UsageError

DIE = Any  # pyelftools ships no types

_SIGNED = {0x05, 0x06, 0x0D}  # signed, signed_char, signed_fixed
_UNSIGNED = {0x07, 0x08, 0x10, 0x0E}  # unsigned, unsigned_char, UTF, unsigned_fixed
_FLOAT = {0x04, 0x03}  # float, complex_float
_BOOL = 0x02
_QUALIFIERS = {
    "DW_TAG_const_type",
    "DW_TAG_volatile_type",
    "DW_TAG_restrict_type",
    "DW_TAG_atomic_type",
    "DW_TAG_typedef",
    "DW_TAG_immutable_type",
}
_POINTERS = {"DW_TAG_pointer_type", "DW_TAG_reference_type", "DW_TAG_rvalue_reference_type"}
_RECORDS = {"DW_TAG_structure_type", "DW_TAG_class_type", "DW_TAG_union_type"}
MAX_DEPTH = 12


def _name(die: DIE) -> str:
    attr = die.attributes.get("DW_AT_name")
    if attr is None:
        return ""
    value = attr.value
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _int(die: DIE, key: str) -> int | None:
    attr = die.attributes.get(key)
    if attr is None or not isinstance(attr.value, int):
        return None
    return int(attr.value)


def _type_of(die: DIE) -> DIE | None:
    if "DW_AT_type" not in die.attributes:
        return None
    return die.get_DIE_from_attribute("DW_AT_type")


class Converter:
    """DIE -> Shape, each type DIE converted once; a record met again inside
    itself becomes an incomplete record, so cyclic types end."""

    def __init__(
        self, pointer_size: int, locate: Callable[[DIE], tuple[str, int | None]] | None = None
    ) -> None:
        self.pointer_size = pointer_size
        self.locate = locate
        self._done: dict[int, Shape] = {}
        self._open: set[int] = set()

    def shape(self, die: DIE | None, depth: int = 0) -> Shape:
        if die is None:
            return VOID
        if die.offset in self._done:
            return self._done[die.offset]
        if depth > MAX_DEPTH:
            return Record(_name(die), _int(die, "DW_AT_byte_size") or 0, complete=False)
        shape = self._convert(die, depth)
        if die.offset not in self._open:
            self._done[die.offset] = shape
        return shape

    def _convert(self, die: DIE, depth: int) -> Shape:  # noqa: PLR0911
        tag = die.tag
        if tag in _QUALIFIERS:
            inner = self.shape(_type_of(die), depth + 1)
            if tag == "DW_TAG_typedef" and isinstance(inner, Scalar) and not inner.name:
                return Scalar(inner.kind, inner.size, inner.signed, _name(die))
            return inner
        if tag == "DW_TAG_base_type":
            size = _int(die, "DW_AT_byte_size") or 0
            enc = _int(die, "DW_AT_encoding") or 0
            if size == 0:
                return Scalar("void", 0, name=_name(die) or "void")
            if enc in _FLOAT:
                return Scalar("float", size, True, _name(die))
            if enc == _BOOL:
                return Scalar("bool", size, False, _name(die))
            return Scalar("int", size, enc in _SIGNED, _name(die))
        if tag == "DW_TAG_unspecified_type":
            return Scalar("void", 0, name=_name(die) or "void")
        if tag in _POINTERS:
            size = _int(die, "DW_AT_byte_size") or self.pointer_size
            target = _type_of(die)
            return Pointer(
                None if target is None else self.shape(target, depth + 1), size, _name(die)
            )
        if tag == "DW_TAG_enumeration_type":
            under = self.shape(_type_of(die), depth + 1) if "DW_AT_type" in die.attributes else None
            size = _int(die, "DW_AT_byte_size") or (under.size if isinstance(under, Scalar) else 4)
            signed = under.signed if isinstance(under, Scalar) else False
            return Scalar("enum", size, signed, _name(die))
        if tag in _RECORDS:
            return self._record(die, depth)
        if tag == "DW_TAG_array_type":
            return self._array(die, depth)
        if tag == "DW_TAG_subroutine_type":
            return self.function(die, depth)
        return Record(_name(die) or tag, _int(die, "DW_AT_byte_size") or 0, complete=False)

    def _record(self, die: DIE, depth: int) -> Shape:
        name = _name(die)
        size = _int(die, "DW_AT_byte_size") or 0
        union = die.tag == "DW_TAG_union_type"
        if die.attributes.get("DW_AT_declaration") or die.offset in self._open:
            return Record(name, size, union=union, complete=False)
        # Rust's Option<&T>, Option<NonNull<T>>, Option<fn()>: a nullable pointer.
        if (
            name.startswith("Option<")
            and size == self.pointer_size
            and ("&" in name or "NonNull" in name or "fn(" in name or "Box<" in name)
        ):
            return Pointer(None, size, name)
        self._open.add(die.offset)
        try:
            members = []
            for child in die.iter_children():
                if child.tag != "DW_TAG_member" or child.attributes.get("DW_AT_external"):
                    continue
                members.append(self._member(child, depth))
            if any(c.tag == "DW_TAG_variant_part" for c in die.iter_children()):
                # A Rust enum with data: its layout is Rust's own, not C's.
                return Record(name, size, union=union, complete=False)
        finally:
            self._open.discard(die.offset)
        members.sort(key=lambda m: (m.offset, m.bit_offset or 0))
        file, line = self.locate(die) if self.locate else ("", None)
        return Record(name, size, tuple(members), union, file=file, line=line)

    def _member(self, die: DIE, depth: int) -> Member:
        shape = self.shape(_type_of(die), depth + 1)
        bit_size = _int(die, "DW_AT_bit_size")
        bit_offset = _int(die, "DW_AT_data_bit_offset")
        offset = _location(die)
        if bit_size is not None:
            if bit_offset is None:
                bit_offset = offset * 8
            offset = bit_offset // 8
        return Member(
            _name(die), offset, shape, bit_offset if bit_size is not None else None, bit_size
        )

    def _array(self, die: DIE, depth: int) -> Shape:
        elem = self.shape(_type_of(die), depth + 1)
        dims: list[int | None] = []
        for child in die.iter_children():
            if child.tag != "DW_TAG_subrange_type":
                continue
            count = _int(child, "DW_AT_count")
            upper = _int(child, "DW_AT_upper_bound")
            dims.append(count if count is not None else (upper + 1 if upper is not None else None))
        shape: Shape = elem
        for count in reversed(dims or [None]):
            shape = Array(shape, count, _name(die))
        return shape

    def function(self, die: DIE, depth: int = 0) -> FuncType:
        params = []
        variadic = False
        for child in die.iter_children():
            if child.tag == "DW_TAG_formal_parameter":
                if child.attributes.get("DW_AT_artificial"):
                    continue
                params.append(Param(_name(child), self.shape(_type_of(child), depth + 1)))
            elif child.tag == "DW_TAG_unspecified_parameters":
                variadic = True
        ret = self.shape(_type_of(die), depth + 1) if "DW_AT_type" in die.attributes else VOID
        return FuncType(ret, tuple(params), variadic)


def _location(die: DIE) -> int:
    attr = die.attributes.get("DW_AT_data_member_location")
    if attr is None:
        return 0
    value = attr.value
    if isinstance(value, int):
        return value
    if isinstance(value, list) and value and value[0] == 0x23:  # DW_OP_plus_uconst
        result, shift = 0, 0
        for byte in value[1:]:
            result |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        return result
    return 0


def _walk(die: DIE) -> Iterator[DIE]:
    stack = [die]
    while stack:
        current = stack.pop()
        yield current
        children = list(current.iter_children())
        stack.extend(reversed(children))


class _Files:
    """DW_AT_decl_file numbers of one CU, as paths."""

    def __init__(self, dwarf: Any, cu: Any) -> None:
        self._names: dict[int, str] = {}
        top = cu.get_top_DIE()
        comp_dir = top.attributes.get("DW_AT_comp_dir")
        self.comp_dir = comp_dir.value.decode("utf-8", "replace") if comp_dir else ""
        try:
            program = dwarf.line_program_for_CU(cu)
        except ELF_ERRORS:
            program = None
        if program is None:
            return
        header = program.header
        version = header["version"]
        dirs = [d.decode("utf-8", "replace") for d in header["include_directory"]]
        for index, entry in enumerate(header["file_entry"]):
            number = index if version >= 5 else index + 1
            name = entry.name.decode("utf-8", "replace")
            d = entry.dir_index
            folder = (
                (dirs[d] if d < len(dirs) else "")
                if version >= 5
                else (dirs[d - 1] if 0 < d <= len(dirs) else "")
            )
            self._names[number] = posixpath.join(folder, name) if folder else name

    def __call__(self, die: DIE) -> tuple[str, int | None]:
        number = _int(die, "DW_AT_decl_file")
        path = self._names.get(number or -1, "")
        if path and self.comp_dir and not posixpath.isabs(path):
            path = posixpath.join(self.comp_dir, path)
        return path, _int(die, "DW_AT_decl_line")


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
        files = _Files(dwarf, cu)

        def locate(die: DIE, files: _Files = files) -> tuple[str, int | None]:
            file, line = files(die)
            return display(file), line

        convert.locate = locate
        for die in _walk(cu.get_top_DIE()):
            if die.tag != "DW_TAG_subprogram" or die.attributes.get("DW_AT_declaration"):
                continue
            origin = die
            for key in ("DW_AT_abstract_origin", "DW_AT_specification"):
                if key in origin.attributes:
                    origin = origin.get_DIE_from_attribute(key)
            name = _name(origin)
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
        files = _Files(info, cu)

        def locate(die: DIE, files: _Files = files) -> tuple[str, int | None]:
            file, line = files(die)
            return display(file), line

        convert.locate = locate
        for die in cu.get_top_DIE().iter_children():
            if die.tag == "DW_TAG_variable" and _name(die).startswith(prefix):
                shape = convert.shape(_type_of(die))
                out[_name(die)] = shape
    return out
