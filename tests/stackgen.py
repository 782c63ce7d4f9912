"""Firmware ELF files with functions, a symbol table and rustc's
``.stack_sizes``, assembled here (Thumb-2 and RV32), so the stack reader is
tested on code whose call graph the test states."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from tests.elfgen import (
    EF_ARM_EABI5_SOFT,
    EM_ARM,
    EM_RISCV,
    PF_R,
    PF_X,
    SHF_ALLOC,
    SHF_EXECINSTR,
    SHT_STRTAB,
    Elf,
    Section,
    Segment,
)

SHT_SYMTAB = 2
Op = tuple[str, str]  # ("call" | "tail" | "indirect" | "ret", callee)


@dataclass
class Fn:
    name: str
    ops: list[Op] = field(default_factory=list)
    frame: int | None = 8


def _thumb_branch(offset: int, link: bool) -> bytes:
    s = (offset >> 24) & 1
    i1, i2 = (offset >> 23) & 1, (offset >> 22) & 1
    j1, j2 = (~i1 ^ s) & 1, (~i2 ^ s) & 1
    hw1 = 0xF000 | s << 10 | (offset >> 12) & 0x3FF
    hw2 = (0xD000 if link else 0x9000) | j1 << 13 | j2 << 11 | (offset >> 1) & 0x7FF
    return struct.pack("<HH", hw1, hw2)


def _rv_jal(offset: int, rd: int) -> bytes:
    imm = offset & 0x1FFFFF
    word = (
        ((imm >> 20) & 1) << 31
        | ((imm >> 1) & 0x3FF) << 21
        | ((imm >> 11) & 1) << 20
        | ((imm >> 12) & 0xFF) << 12
        | rd << 7
        | 0x6F
    )
    return struct.pack("<I", word)


def _size(fn: Fn, arch: str) -> int:
    per = {"call": 4, "tail": 4, "indirect": 2 if arch == "arm" else 4, "ret": 2}
    if arch == "riscv":
        per = {"call": 8, "tail": 4, "indirect": 4, "ret": 4}  # call: auipc + jalr
    return (
        2 + sum(per[op] for op, _ in fn.ops) if arch == "arm" else sum(per[op] for op, _ in fn.ops)
    )


def firmware(fns: list[Fn], arch: str = "arm", with_stack_sizes: bool = True) -> bytes:
    """The functions laid out from 0x100 (4-byte aligned), the first one the
    entry point; a symbol for each, and its frame in .stack_sizes."""
    base, addrs, at = 0x100, {}, 0x100
    for fn in fns:
        addrs[fn.name] = at
        at += (_size(fn, arch) + 3) & ~3
    code = bytearray(at - base)
    for fn in fns:
        pc = addrs[fn.name]
        out = bytearray(b"\x80\xb5" if arch == "arm" else b"")  # push {r7, lr}
        for op, callee in fn.ops:
            here = pc + len(out)
            if arch == "arm":
                if op in ("call", "tail"):
                    out += _thumb_branch(addrs[callee] - here - 4, op == "call")
                else:
                    out += b"\x98\x47" if op == "indirect" else b"\x80\xbd"  # blx r3, pop
            elif op == "call":  # auipc ra, hi; jalr ra, lo(ra)
                off = addrs[callee] - here
                hi, lo = (off + 0x800) >> 12, off - (((off + 0x800) >> 12) << 12)
                out += struct.pack("<I", (hi & 0xFFFFF) << 12 | 1 << 7 | 0x17)
                out += struct.pack("<I", (lo & 0xFFF) << 20 | 1 << 15 | 1 << 7 | 0x67)
            elif op == "tail":
                out += _rv_jal(addrs[callee] - here, 0)
            elif op == "indirect":
                out += struct.pack("<I", 5 << 15 | 1 << 7 | 0x67)  # jalr ra, 0(t0)
            else:
                out += struct.pack("<I", 1 << 15 | 0x67)  # ret
        code[pc - base : pc - base + len(out)] = out
    names = b"\0"
    symbols = bytes(16)
    for fn in fns:
        value = addrs[fn.name] | (1 if arch == "arm" else 0)
        symbols += struct.pack("<IIIBBH", len(names), value, _size(fn, arch), 0x12, 0, 1)
        names += fn.name.encode() + b"\0"
    stack_sizes = b"".join(
        struct.pack("<I", addrs[fn.name]) + _uleb(fn.frame) for fn in fns if fn.frame is not None
    )
    sections = [
        Section(".text", bytes(code), base, flags=SHF_ALLOC | SHF_EXECINSTR),
        Section(".symtab", symbols, type=SHT_SYMTAB, flags=0, link=3, entsize=16),
        Section(".strtab", names, type=SHT_STRTAB, flags=0),
    ]
    if with_stack_sizes:
        sections.append(Section(".stack_sizes", stack_sizes, flags=0x80))  # SHF_LINK_ORDER
    return Elf(
        machine=EM_ARM if arch == "arm" else EM_RISCV,
        elfclass=32,
        flags=EF_ARM_EABI5_SOFT if arch == "arm" else 0,
        entry=addrs[fns[0].name] | (1 if arch == "arm" else 0),
        segments=[Segment(base, bytes(code), PF_R | PF_X)],
        sections=sections,
    ).build()


def _uleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)
