"""Two declarations of one function held against each other.

What is compared is what the calling convention sees: the number of
parameters, and per parameter and for the return value whether it is a
pointer, an integer or a float, its size and (for integers) its
signedness; a pointer's pointee size; and the layout of every struct
passed by value or by pointer that both sides define: size, and each
field's offset, size and class. A record of one member counts as that
member (``NonNull<T>``, ``Option<&T>``, transparent newtypes).
"""

from __future__ import annotations

from dataclasses import dataclass

from relbuild.abi.model import (
    Declared,
    FindingKind,
    FuncType,
    Origin,
    Pointer,
    Record,
    Scalar,
    Shape,
    SideRecord,
    record_name,
    render,
    size_of,
    unwrap,
)

WHO: dict[Origin, str] = {
    "header": "the header",
    "cgo": "the cgo preamble",
    "rust": "the Rust export",
}


@dataclass(frozen=True)
class Difference:
    kind: FindingKind
    message: str


def type_name(shape: Shape) -> str:
    """What the source calls a type, or its canonical text."""
    if isinstance(shape, Scalar | Pointer) and shape.name:
        return shape.name
    return render(shape)


def param_text(d: Declared, i: int) -> str:
    """`uint32_t n` (C) or `n: usize` (Rust), for messages."""
    if d.spelled and i < len(d.spelled):
        return d.spelled[i]
    assert d.sig is not None
    p = d.sig.params[i]
    return f"{p.name}: {type_name(p.shape)}" if p.name else type_name(p.shape)


def ret_text(d: Declared) -> str:
    if d.spelled_ret:
        return d.spelled_ret
    assert d.sig is not None
    return type_name(d.sig.ret)


def declaration(d: Declared) -> str:
    if d.sig is None:
        return f"{d.name} (no signature in the debug info)"
    n = len(d.sig.params)
    if d.place.origin == "rust":
        params = ", ".join(param_text(d, i) for i in range(n))
        ret = type_name(d.sig.ret)
        return f"fn {d.name}({params})" + ("" if ret in ("void", "()") else f" -> {ret}")
    params = ", ".join(param_text(d, i) for i in range(n)) or "void"
    if d.sig.variadic:
        params += ", ..."
    return f"{ret_text(d)} {d.name}({params})"


def side(d: Declared) -> SideRecord:
    return SideRecord(
        origin=d.place.origin, file=d.place.file, line=d.place.line, declaration=declaration(d)
    )


def _describe(shape: Shape) -> str:
    shape = unwrap(shape)
    if isinstance(shape, Pointer):
        return "a pointer"
    if isinstance(shape, Scalar):
        if shape.kind == "void":
            return "void"
        if shape.kind == "float":
            return f"a {shape.size}-byte float"
        sign = "signed" if shape.signed else "unsigned"
        if shape.kind in ("enum", "bool"):
            return f"a {shape.size}-byte {shape.kind}"
        return f"a {shape.size}-byte {sign} integer"
    if isinstance(shape, Record):
        return f"{record_name(shape)} ({shape.size} bytes)"
    return render(shape)


def value_difference(a: Shape, b: Shape) -> tuple[FindingKind, str] | None:
    """How two values differ to the calling convention, or None."""
    a, b = unwrap(a), unwrap(b)
    if isinstance(a, Pointer) != isinstance(b, Pointer):
        return "param-pointer", f"{_describe(a)} against {_describe(b)}"
    if isinstance(a, Pointer) and isinstance(b, Pointer):
        return _pointee_difference(a, b)
    if isinstance(a, Scalar) and isinstance(b, Scalar):
        return _scalar_difference(a, b)
    sa, sb = size_of(a), size_of(b)
    if type(a) is not type(b):
        return "param-kind", f"{_describe(a)} against {_describe(b)}"
    if sa != sb:
        return "param-size", f"{sa} bytes against {sb} bytes"
    return None


def _pointee_difference(a: Pointer, b: Pointer) -> tuple[FindingKind, str] | None:
    if a.to is None or b.to is None:
        return None
    pa, pb = unwrap(a.to), unwrap(b.to)
    if not (isinstance(pa, Scalar) and isinstance(pb, Scalar)) or "void" in (pa.kind, pb.kind):
        return None
    if pa.size != pb.size or (pa.kind == "float") != (pb.kind == "float"):
        return "param-pointer", f"a pointer to {_describe(pa)} against a pointer to {_describe(pb)}"
    return None


def _scalar_difference(a: Scalar, b: Scalar) -> tuple[FindingKind, str] | None:
    if (a.kind == "void") != (b.kind == "void") or (a.kind == "float") != (b.kind == "float"):
        return "param-kind", f"{_describe(a)} against {_describe(b)}"
    if a.size != b.size:
        return "param-size", f"{a.size} bytes against {b.size} bytes"
    if a.kind == "int" and b.kind == "int" and a.signed != b.signed:
        sa = "signed" if a.signed else "unsigned"
        sb = "signed" if b.signed else "unsigned"
        return "param-signedness", f"{sa} against {sb}"
    return None


def function_differences(a: Declared, b: Declared) -> list[Difference]:
    """Every difference between two declarations with signatures, as
    sentences that name the sides ("... in the header, ... in the Rust
    export")."""
    assert a.sig is not None and b.sig is not None
    who_a, who_b = WHO[a.place.origin], WHO[b.place.origin]
    out: list[Difference] = []
    na, nb = len(a.sig.params), len(b.sig.params)
    if na != nb or a.sig.variadic != b.sig.variadic:
        extra = (
            f"; extra: {', '.join(f'`{param_text(b, i)}`' for i in range(na, nb))} in {who_b}"
            if nb > na
            else f"; extra: {', '.join(f'`{param_text(a, i)}`' for i in range(nb, na))} in {who_a}"
            if na > nb
            else ""
        )
        va = " and ..." if a.sig.variadic else ""
        vb = " and ..." if b.sig.variadic else ""
        out.append(
            Difference(
                "param-count",
                f"{na} parameter(s){va} in {who_a}, {nb}{vb} in {who_b}{extra}",
            )
        )
    for i in range(min(na, nb)):
        found = value_difference(a.sig.params[i].shape, b.sig.params[i].shape)
        if found:
            kind, how = found
            out.append(
                Difference(
                    kind,
                    f"parameter {i + 1}: `{param_text(a, i)}` in {who_a} is {how} "
                    f"`{param_text(b, i)}` in {who_b}",
                )
            )
    found = value_difference(a.sig.ret, b.sig.ret)
    if found:
        _, how = found
        out.append(
            Difference(
                "return-type",
                f"returns `{ret_text(a)}` in {who_a}: {how} `{type_name(b.sig.ret)}` in {who_b}",
            )
        )
    return out


def records_reached(sig: FuncType) -> list[Shape]:
    return [p.shape for p in sig.params] + [sig.ret]


def record_pairs(a: FuncType, b: FuncType) -> list[tuple[Record, Record]]:
    """Structs that the two signatures pass at the same place, both defined."""
    pairs: list[tuple[Record, Record]] = []
    if len(a.params) != len(b.params):
        return pairs
    for x0, y0 in zip(records_reached(a), records_reached(b), strict=True):
        x, y = unwrap(x0), unwrap(y0)
        if isinstance(x, Pointer) and isinstance(y, Pointer):
            if x.to is None or y.to is None:
                continue
            x, y = unwrap(x.to), unwrap(y.to)
        if isinstance(x, Record) and isinstance(y, Record) and x.complete and y.complete:
            pairs.append((x, y))
    return pairs


def layout_differences(a: Record, b: Record, who_a: str, who_b: str, path: str = "") -> list[str]:
    """Sentences naming each way the two layouts differ (empty: they agree)."""
    out: list[str] = []
    label = f"{path} " if path else ""
    if a.size != b.size:
        out.append(f"{label}size is {a.size} bytes in {who_a}, {b.size} in {who_b}")
    ma, mb = a.members, b.members
    for i in range(max(len(ma), len(mb))):
        if i >= len(ma):
            m = mb[i]
            out.append(
                f"{who_b} has a field `{_dotted(path, m.name)}` ({type_name(m.shape)} at offset "
                f"{m.offset}) that {who_a} lacks"
            )
            continue
        if i >= len(mb):
            m = ma[i]
            out.append(
                f"{who_a} has a field `{_dotted(path, m.name)}` ({type_name(m.shape)} at offset "
                f"{m.offset}) that {who_b} lacks"
            )
            continue
        x, y = ma[i], mb[i]
        name = _dotted(path, x.name if x.name == y.name else f"{x.name}`/`{y.name}")
        if (x.offset, x.bit_offset) != (y.offset, y.bit_offset):
            out.append(f"field `{name}` is at offset {x.offset} in {who_a}, {y.offset} in {who_b}")
            continue
        if x.bit_size != y.bit_size:
            out.append(f"field `{name}` is {x.bit_size} bits in {who_a}, {y.bit_size} in {who_b}")
            continue
        xs, ys = unwrap(x.shape), unwrap(y.shape)
        if isinstance(xs, Record) and isinstance(ys, Record) and xs.complete and ys.complete:
            out += layout_differences(xs, ys, who_a, who_b, name)
            continue
        found = value_difference(xs, ys)
        if found:
            out.append(
                f"field `{name}` is `{type_name(x.shape)}` in {who_a}: {found[1]} "
                f"`{type_name(y.shape)}` in {who_b}"
            )
    return out


def _dotted(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
