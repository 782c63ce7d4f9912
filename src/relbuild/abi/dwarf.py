"""DWARF into shapes (see model.py), with pyelftools.

One converter serves the two readers in objects.py: the exported functions
of a static library and the probe object that cdecl.py has the pinned zig
compile. This module turns a type DIE into a shape and names the files a
compile unit's DIEs were declared in.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator
from typing import Any

from relbuild.abi.model import (
    VOID,
    Array,
    FuncType,
    Member,
    Param,
    Pointer,
    Record,
    Scalar,
    Shape,
)
from relbuild.binaries.elfcheck import ELF_ERRORS

DIE = Any  # pyelftools ships no types

_SIGNED = {0x05, 0x06, 0x0D}  # signed, signed_char, signed_fixed
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


def name_of(die: DIE) -> str:
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


def type_of(die: DIE) -> DIE | None:
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
            return Record(name_of(die), _int(die, "DW_AT_byte_size") or 0, complete=False)
        shape = self._convert(die, depth)
        if die.offset not in self._open:
            self._done[die.offset] = shape
        return shape

    def _convert(self, die: DIE, depth: int) -> Shape:  # noqa: PLR0911
        tag = die.tag
        if tag in _QUALIFIERS:
            inner = self.shape(type_of(die), depth + 1)
            if tag == "DW_TAG_typedef" and isinstance(inner, Scalar) and not inner.name:
                return Scalar(inner.kind, inner.size, inner.signed, name_of(die))
            return inner
        if tag == "DW_TAG_base_type":
            size = _int(die, "DW_AT_byte_size") or 0
            enc = _int(die, "DW_AT_encoding") or 0
            if size == 0:
                return Scalar("void", 0, name=name_of(die) or "void")
            if enc in _FLOAT:
                return Scalar("float", size, True, name_of(die))
            if enc == _BOOL:
                return Scalar("bool", size, False, name_of(die))
            return Scalar("int", size, enc in _SIGNED, name_of(die))
        if tag == "DW_TAG_unspecified_type":
            return Scalar("void", 0, name=name_of(die) or "void")
        if tag in _POINTERS:
            size = _int(die, "DW_AT_byte_size") or self.pointer_size
            target = type_of(die)
            return Pointer(
                None if target is None else self.shape(target, depth + 1), size, name_of(die)
            )
        if tag == "DW_TAG_enumeration_type":
            under = self.shape(type_of(die), depth + 1) if "DW_AT_type" in die.attributes else None
            size = _int(die, "DW_AT_byte_size") or (under.size if isinstance(under, Scalar) else 4)
            signed = under.signed if isinstance(under, Scalar) else False
            return Scalar("enum", size, signed, name_of(die))
        if tag in _RECORDS:
            return self._record(die, depth)
        if tag == "DW_TAG_array_type":
            return self._array(die, depth)
        if tag == "DW_TAG_subroutine_type":
            return self.function(die, depth)
        return Record(name_of(die) or tag, _int(die, "DW_AT_byte_size") or 0, complete=False)

    def _record(self, die: DIE, depth: int) -> Shape:
        name = name_of(die)
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
        shape = self.shape(type_of(die), depth + 1)
        bit_size = _int(die, "DW_AT_bit_size")
        bit_offset = _int(die, "DW_AT_data_bit_offset")
        offset = _location(die)
        if bit_size is not None:
            if bit_offset is None:
                bit_offset = offset * 8
            offset = bit_offset // 8
        return Member(
            name_of(die), offset, shape, bit_offset if bit_size is not None else None, bit_size
        )

    def _array(self, die: DIE, depth: int) -> Shape:
        elem = self.shape(type_of(die), depth + 1)
        dims: list[int | None] = []
        for child in die.iter_children():
            if child.tag != "DW_TAG_subrange_type":
                continue
            count = _int(child, "DW_AT_count")
            upper = _int(child, "DW_AT_upper_bound")
            dims.append(count if count is not None else (upper + 1 if upper is not None else None))
        shape: Shape = elem
        for count in reversed(dims or [None]):
            shape = Array(shape, count, name_of(die))
        return shape

    def function(self, die: DIE, depth: int = 0) -> FuncType:
        params = []
        variadic = False
        for child in die.iter_children():
            if child.tag == "DW_TAG_formal_parameter":
                if child.attributes.get("DW_AT_artificial"):
                    continue
                params.append(Param(name_of(child), self.shape(type_of(child), depth + 1)))
            elif child.tag == "DW_TAG_unspecified_parameters":
                variadic = True
        ret = self.shape(type_of(die), depth + 1) if "DW_AT_type" in die.attributes else VOID
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


def walk_dies(die: DIE) -> Iterator[DIE]:
    stack = [die]
    while stack:
        current = stack.pop()
        yield current
        children = list(current.iter_children())
        stack.extend(reversed(children))


class Files:
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
