"""The ABI check's vocabulary: what a C type is at the boundary (a shape),
a function's signature, where each was declared, and what the check found.

A shape keeps only what the calling convention sees: an integer's size and
signedness, a float's size, a pointer (and what it points to, for struct
layouts and pointee sizes), a struct's size and its fields' offsets and
sizes. Names are kept for messages, never compared. The C side and the Rust
side are both read from DWARF into these shapes (see dwarf.py), so one
comparison serves both.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal

from pydantic import computed_field

from relbuild.release.dist import Frozen

ScalarKind = Literal["int", "float", "bool", "enum", "void"]


@dataclass(frozen=True)
class Scalar:
    kind: ScalarKind
    size: int
    signed: bool = False
    name: str = ""


@dataclass(frozen=True)
class Pointer:
    to: Shape | None  # None: void or unknown
    size: int
    name: str = ""


@dataclass(frozen=True)
class Member:
    name: str
    offset: int  # bytes
    shape: Shape
    bit_offset: int | None = None  # for bit-fields, from the start of the record
    bit_size: int | None = None


@dataclass(frozen=True)
class Record:
    """A struct or union. ``complete`` is False for an opaque declaration
    (``struct Ledger;``) and for a record met again inside itself."""

    name: str
    size: int
    members: tuple[Member, ...] = ()
    union: bool = False
    complete: bool = True
    # Where it is declared, for messages only.
    file: str = field(default="", compare=False)
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Array:
    elem: Shape
    count: int | None
    name: str = ""

    @property
    def size(self) -> int | None:
        esize = size_of(self.elem)
        return None if self.count is None or esize is None else esize * self.count


@dataclass(frozen=True)
class FuncType:
    ret: Shape
    params: tuple[Param, ...]
    variadic: bool = False


@dataclass(frozen=True)
class Param:
    name: str
    shape: Shape


Shape = Scalar | Pointer | Record | Array | FuncType

VOID = Scalar("void", 0, name="void")


def size_of(shape: Shape) -> int | None:
    if isinstance(shape, FuncType):
        return None
    if isinstance(shape, Array):
        return shape.size
    return shape.size


def unwrap(shape: Shape) -> Shape:
    """A record of one member is passed like that member on every supported
    target (x86-64 SysV, AAPCS, AAPCS64, RISC-V): Rust's ``NonNull<T>``,
    ``Option<&T>`` or a ``#[repr(transparent)]`` newtype against a C pointer
    or integer."""
    seen = 0
    while isinstance(shape, Record) and shape.complete and len(shape.members) == 1 and seen < 8:
        inner = shape.members[0].shape
        if size_of(inner) != shape.size:
            break
        shape, seen = inner, seen + 1
    return shape


def render(shape: Shape) -> str:  # noqa: PLR0911 - one case per kind of shape
    """A canonical, target-specific text of a shape: the same for a C and a
    Rust declaration that agree, so its digest tells an ABI change."""
    if isinstance(shape, Scalar):
        if shape.kind == "void":
            return "void"
        if shape.kind == "int":
            return f"{'i' if shape.signed else 'u'}{shape.size * 8}"
        if shape.kind == "float":
            return f"f{shape.size * 8}"
        return f"{shape.kind}{shape.size * 8}"
    if isinstance(shape, Pointer):
        to = shape.to
        if to is None or (isinstance(to, Scalar) and to.kind == "void"):
            return "*void"
        if isinstance(to, Record):
            return f"*{record_name(to)}"
        if isinstance(to, FuncType):
            return "*fn"
        return "*" + render(to)
    if isinstance(shape, Record):
        return record_name(shape)
    if isinstance(shape, Array):
        return f"[{render(shape.elem)}; {shape.count if shape.count is not None else ''}]"
    params = ", ".join(render(p.shape) for p in shape.params)
    if shape.variadic:
        params += ", ..." if params else "..."
    return f"fn({params}) -> {render(shape.ret)}"


def record_name(record: Record) -> str:
    return f"{'union' if record.union else 'struct'} {record.name or '<anonymous>'}"


def render_layout(record: Record) -> str:
    """``struct S {u32 @0, *u8 @8} size 16``: what a struct's digest covers."""
    fields = []
    for m in record.members:
        where = f"@{m.offset}"
        if m.bit_size is not None:
            where = f"@bit{m.bit_offset}:{m.bit_size}"
        fields.append(f"{render(unwrap(m.shape))} {where}")
    return f"{record_name(record)} {{{', '.join(fields)}}} size {record.size}"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- where a declaration is ----------------------------------------------------

Origin = Literal["header", "cgo", "rust"]


@dataclass(frozen=True)
class Place:
    origin: Origin
    file: str  # relative to the project root where possible
    line: int | None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True)
class Declared:
    """A function as one view has it."""

    name: str
    sig: FuncType | None  # None: exported, but the DWARF has no signature
    place: Place
    # What the source wrote, for messages: "uint32_t n" per parameter.
    spelled: tuple[str, ...] = ()
    spelled_ret: str = ""


@dataclass
class CView:
    """The C declarations of one header or one cgo preamble, for one target."""

    functions: dict[str, Declared] = field(default_factory=dict)
    # Functions the preamble defines itself (static inline helpers).
    defined: set[str] = field(default_factory=set)
    # Struct definitions (by C name), with their place, for layout checks of
    # structs that no function reaches.
    records: dict[str, tuple[Record, Place]] = field(default_factory=dict)


@dataclass
class ExportView:
    """What a staticlib exports (symbol table) and their signatures (DWARF)."""

    symbols: set[str] = field(default_factory=set)
    functions: dict[str, Declared] = field(default_factory=dict)
    # Wanted symbols that a member defines as code (the archive index lists
    # data symbols too).
    code: set[str] = field(default_factory=set)


# --- findings ------------------------------------------------------------------

FindingKind = Literal[
    "missing-export",
    "param-count",
    "param-size",
    "param-signedness",
    "param-pointer",
    "param-kind",
    "return-type",
    "struct-layout",
    "cgo-differs",
]


class SideRecord(Frozen):
    origin: Origin
    file: str
    line: int | None
    declaration: str


class Finding(Frozen):
    target: str
    kind: FindingKind
    symbol: str  # a function, or "struct X"
    library: str | None  # the staticlib component
    program: str | None  # the Go component, for cgo findings
    message: str
    sides: list[SideRecord]
    waived: str | None = None  # the reason, when the config opts the symbol out

    def __str__(self) -> str:
        where = " vs ".join(f"{s.origin} {s.file}:{s.line or '?'}" for s in self.sides)
        return f"{self.target}: {self.symbol}: {self.message} [{where}]"


class CheckedSymbol(Frozen):
    name: str
    kind: Literal["function", "struct"]
    signature: str
    sha256: str


class LibraryResult(Frozen):
    """One staticlib on one target: what was checked and what agreed."""

    target: str
    library: str
    checked: list[CheckedSymbol]
    unchecked: list[str] = []  # exported, declared, but no DWARF signature


class AbiReport(Frozen):
    targets: list[str]
    libraries: list[LibraryResult]
    findings: list[Finding]

    @property
    def failed(self) -> list[Finding]:
        return [f for f in self.findings if f.waived is None]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return not self.failed
