"""Small ELF files made in the tests, so no test needs a compiler or a
binary of the machine: loadable segments, sections with a string table."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

EM_ARM = 40
EM_X86_64 = 62
EM_RISCV = 243
PT_LOAD = 1
PF_X, PF_W, PF_R = 1, 2, 4
SHT_PROGBITS, SHT_NOBITS, SHT_STRTAB = 1, 8, 3
SHT_ARM_ATTRIBUTES = 0x70000003
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 1, 2, 4
EF_ARM_EABI5_SOFT = 0x05000200


@dataclass
class Segment:
    vaddr: int
    data: bytes
    flags: int
    paddr: int | None = None
    memsz: int | None = None


@dataclass
class Section:
    name: str
    data: bytes
    addr: int = 0
    type: int = SHT_PROGBITS
    flags: int = SHF_ALLOC
    link: int = 0  # a symbol table's string table, by section index
    entsize: int = 0


@dataclass
class Elf:
    machine: int = EM_X86_64
    elfclass: int = 64
    flags: int = 0
    entry: int = 0
    segments: list[Segment] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)

    def build(self) -> bytes:
        wide = self.elfclass == 64
        ehsize, phentsize, shentsize = (64, 56, 64) if wide else (52, 32, 40)
        phoff = ehsize
        body = bytearray()
        data_at = phoff + phentsize * len(self.segments)
        seg_offsets = []
        for seg in self.segments:
            seg_offsets.append(data_at + len(body))
            body += seg.data
        sec_offsets = []
        for sec in self.sections:
            sec_offsets.append(data_at + len(body))
            if sec.type != SHT_NOBITS:
                body += sec.data
        names = b"\0"
        name_at = []
        for sec in [*self.sections, Section(".shstrtab", b"", type=SHT_STRTAB, flags=0)]:
            name_at.append(len(names))
            names += sec.name.encode() + b"\0"
        strtab_at = data_at + len(body)
        body += names
        while (data_at + len(body)) % 8:
            body += b"\0"
        shoff = data_at + len(body)
        shnum = len(self.sections) + 2  # the null section and .shstrtab
        ident = b"\x7fELF" + bytes([2 if wide else 1, 1, 1, 0]) + b"\0" * 8
        if wide:
            header = ident + struct.pack(
                "<HHIQQQIHHHHHH",
                2, self.machine, 1, self.entry, phoff, shoff, self.flags,
                ehsize, phentsize, len(self.segments), shentsize, shnum, shnum - 1,
            )  # fmt: skip
        else:
            header = ident + struct.pack(
                "<HHIIIIIHHHHHH",
                2, self.machine, 1, self.entry, phoff, shoff, self.flags,
                ehsize, phentsize, len(self.segments), shentsize, shnum, shnum - 1,
            )  # fmt: skip
        phdrs = b""
        for seg, off in zip(self.segments, seg_offsets, strict=True):
            paddr = seg.vaddr if seg.paddr is None else seg.paddr
            memsz = len(seg.data) if seg.memsz is None else seg.memsz
            if wide:
                phdrs += struct.pack(
                    "<IIQQQQQQ", PT_LOAD, seg.flags, off, seg.vaddr, paddr, len(seg.data), memsz, 4
                )
            else:
                phdrs += struct.pack(
                    "<IIIIIIII", PT_LOAD, off, seg.vaddr, paddr, len(seg.data), memsz, seg.flags, 4
                )
        shdrs = b"\0" * shentsize
        rows = [
            (name_at[i], s.type, s.flags, s.addr, sec_offsets[i], len(s.data), s.link, s.entsize)
            for i, s in enumerate(self.sections)
        ]
        rows.append((name_at[-1], SHT_STRTAB, 0, 0, strtab_at, len(names), 0, 0))
        for name, typ, flags, addr, off, size, link, ent in rows:
            fmt = "<IIQQQQIIQQ" if wide else "<IIIIIIIIII"
            shdrs += struct.pack(fmt, name, typ, flags, addr, off, size, link, 0, 1, ent)
        out = header + phdrs + bytes(body) + shdrs
        assert len(header) == ehsize and shoff == len(header + phdrs + bytes(body))
        return out


def x86_64_program() -> bytes:
    """An x86-64 executable: one code segment, one data segment."""
    code = b"\x31\xff\xb8\x3c\x00\x00\x00\x0f\x05" + b"\x90" * 23  # exit(0)
    return Elf(
        machine=EM_X86_64,
        elfclass=64,
        entry=0x401000,
        segments=[
            Segment(0x401000, code, PF_R | PF_X),
            Segment(0x402000, b"data" * 4, PF_R | PF_W),
        ],
        sections=[
            Section(".text", code, 0x401000, flags=SHF_ALLOC | SHF_EXECINSTR),
            Section(".data", b"data" * 4, 0x402000, flags=SHF_ALLOC | SHF_WRITE),
        ],
    ).build()


def arm_attributes(arch: int = 10, profile: str = "M") -> bytes:
    """An .ARM.attributes section: Tag_CPU_arch, Tag_CPU_arch_profile."""
    attrs = bytes([6, arch, 7, ord(profile), 9, 2])
    file_attrs = bytes([1]) + struct.pack("<I", 5 + len(attrs)) + attrs
    vendor = b"aeabi\0"
    return b"A" + struct.pack("<I", 4 + len(vendor) + len(file_attrs)) + vendor + file_attrs


def cortex_m_firmware() -> bytes:
    """A Cortex-M image: vector table (stack pointer, reset vector with the
    Thumb bit) and code in flash at 0, .data loaded from flash into RAM."""
    vectors = struct.pack("<II", 0x2000_1000, 0x0000_0009)
    code = b"\xfe\xe7" * 8  # b .
    data = b"\x01\x02\x03\x04"
    flash = vectors + code
    return Elf(
        machine=EM_ARM,
        elfclass=32,
        flags=EF_ARM_EABI5_SOFT,
        entry=0x9,
        segments=[
            Segment(0x0, flash, PF_R | PF_X),
            Segment(0x2000_0000, data, PF_R | PF_W, paddr=len(flash), memsz=16),
        ],
        sections=[
            Section(".vector_table", vectors, 0x0),
            Section(".text", code, 0x8, flags=SHF_ALLOC | SHF_EXECINSTR),
            Section(".data", data, 0x2000_0000, flags=SHF_ALLOC | SHF_WRITE),
            Section(".bss", b"\0" * 12, 0x2000_0004, type=SHT_NOBITS, flags=SHF_ALLOC | SHF_WRITE),
            Section(".ARM.attributes", arm_attributes(), type=SHT_ARM_ATTRIBUTES, flags=0),
        ],
    ).build()


def ar_archive(members: list[tuple[str, bytes]]) -> bytes:
    """A GNU ar archive (no symbol table) of ``members``."""
    out = b"!<arch>\n"
    for name, body in members:
        header = f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{644:<8}{len(body):<10}`\n".encode()
        out += header + body + (b"\n" if len(body) % 2 else b"")
    return out


def member_offsets(archive: bytes) -> tuple[int, ...]:
    """Where each member's bytes start in an archive ar_archive made."""
    out, at = [], 8
    while at + 60 <= len(archive):
        size = int(archive[at + 48 : at + 58])
        out.append(at + 60)
        at += 60 + size + size % 2
    return tuple(out)
