"""Mutation strategies: a valid seed (a manifest, a SUMS file, a config, an
ELF file, an archive) changed a few times at random, the way the review's
fuzzer did it. Most inputs stay close to valid, so they reach deep into the
readers instead of failing at the first byte."""

from __future__ import annotations

import copy
import json
import struct
from typing import Any

from hypothesis import strategies as st

# Values where parsers overflow, wrap or allocate: the fuzzer's favourites.
EXTREMES = [
    0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
    0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x1_0000_0000,
    2**63 - 1, 2**63, 2**64 - 1,
]  # fmt: skip

# Strings that are paths, escapes, control characters or near-values.
NASTY_STRINGS = [
    "", " ", ".", "..", "../x", "/etc/passwd", "a//b", "a/./b", "x\\y", "a\nb",
    "\x1b[2J", "\x1b]0;owned\x07", "\u202eevil", "\ud800", "\0", "%s%n", "0755",
    "0" * 64, "f" * 128, "executable", "firmware", "thumbv7m-none-eabi", "12", "-1",
    "a{4294967295}", "(" * 300 + ")" * 300, "x" * 300,
]  # fmt: skip

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from(EXTREMES)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(NASTY_STRINGS)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=10,
)


def _paths(obj: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*here, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*here, i))
    return out


def _get(obj: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        obj = obj[part]
    return obj


@st.composite
def mutated_json(draw: st.DrawFn, seed: Any, *, max_edits: int = 4) -> Any:
    """``seed`` (a JSON document) after a few edits at random places:
    replace a value, delete a key or item, duplicate an item, turn a number
    into a string, set an extreme, repeat a list."""
    obj = copy.deepcopy(seed)
    for _ in range(draw(st.integers(1, max_edits))):
        paths = _paths(obj)
        path = draw(st.sampled_from(paths))
        if not path:
            if draw(st.booleans()):
                obj = draw(json_values)
            continue
        parent, key = _get(obj, path[:-1]), path[-1]
        value = parent[key]
        op = draw(
            st.sampled_from(["replace", "delete", "duplicate", "stringify", "extreme", "repeat"])
        )
        if op == "replace":
            parent[key] = draw(json_values)
        elif op == "delete":
            del parent[key]
        elif op == "duplicate" and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(value))
        elif op == "duplicate" and isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = copy.deepcopy(value)
        elif op == "stringify":
            parent[key] = str(value) if not isinstance(value, str) else value.upper()
        elif op == "extreme":
            parent[key] = draw(st.sampled_from(EXTREMES + NASTY_STRINGS + [[], {}, None]))
        elif op == "repeat" and isinstance(value, list) and value:
            parent[key] = value * draw(st.integers(2, 50))
    return obj


@st.composite
def mutated_bytes(
    draw: st.DrawFn, seed: bytes, *, fields: list[tuple[int, int]] | None = None, max_edits: int = 6
) -> bytes:
    """``seed`` after a few byte edits: flip a bit, set a byte, insert or
    delete a run, truncate, copy a run elsewhere, or set one of ``fields``
    ((offset, width), little-endian) to an extreme value."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, max_edits))):
        ops = ["flip", "set", "insert", "delete", "truncate", "copy"]
        if fields:
            ops += ["field"] * 4
        op = draw(st.sampled_from(ops))
        if not data:
            data += draw(st.binary(min_size=1, max_size=16))
            continue
        at = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            data[at] = draw(st.sampled_from([0x00, 0x01, 0x7F, 0x80, 0xFF]))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=32))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 32))]
        elif op == "truncate":
            del data[at:]
        elif op == "copy":
            n = draw(st.integers(1, 64))
            chunk = bytes(data[at : at + n])
            where = draw(st.integers(0, len(data)))
            data[where : where + len(chunk)] = chunk
        elif op == "field" and fields:
            offset, width = draw(st.sampled_from(fields))
            value = draw(st.sampled_from(EXTREMES)) % (1 << (8 * width))
            if draw(st.booleans()):
                value = draw(st.integers(0, (1 << (8 * width)) - 1))
            data[offset : offset + width] = value.to_bytes(width, "little")
    return bytes(data)


def elf_fields(data: bytes) -> list[tuple[int, int]]:
    """(offset, width) of the header, program header and section header
    fields of a little-endian ELF file, where parsers seek and allocate."""
    wide = data[4] == 2
    out: list[tuple[int, int]] = []
    if wide:
        out += [
            (24, 8),
            (32, 8),
            (40, 8),
            (48, 4),
            (52, 2),
            (54, 2),
            (56, 2),
            (58, 2),
            (60, 2),
            (62, 2),
        ]
        phoff, shoff = struct.unpack_from("<QQ", data, 32)
        phentsize, phnum, shentsize, shnum = struct.unpack_from("<HHHH", data, 54)
        ph = [(8, 8), (16, 8), (24, 8), (32, 8), (40, 8), (0, 4), (4, 4)]
        sh = [(0, 4), (4, 4), (8, 8), (16, 8), (24, 8), (32, 8), (40, 4), (44, 4), (56, 8)]
    else:
        out += [
            (24, 4),
            (28, 4),
            (32, 4),
            (36, 4),
            (40, 2),
            (42, 2),
            (44, 2),
            (46, 2),
            (48, 2),
            (50, 2),
        ]
        phoff, shoff = struct.unpack_from("<II", data, 28)
        phentsize, phnum, shentsize, shnum = struct.unpack_from("<HHHH", data, 42)
        ph = [(0, 4), (4, 4), (8, 4), (12, 4), (16, 4), (20, 4), (24, 4)]
        sh = [(0, 4), (4, 4), (8, 4), (12, 4), (16, 4), (20, 4), (24, 4), (28, 4), (36, 4)]
    for i in range(phnum):
        out += [(phoff + i * phentsize + o, w) for o, w in ph]
    for i in range(shnum):
        out += [(shoff + i * shentsize + o, w) for o, w in sh]
    return out


def dumps(obj: Any) -> bytes:
    return json.dumps(obj).encode()
