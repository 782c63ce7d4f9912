"""Firmware: raw and Intel HEX images, flash/RAM footprint, sanity checks.

Images are made from the ELF's loadable segments at their load (physical)
addresses, as `objcopy -O binary` / `-O ihex` do: the raw image spans the
lowest to the highest loaded byte with gaps filled with 0x00; the HEX file
has 16-byte data records, extended linear address records where the upper
16 bits change, the start address and the end record, CRLF line ends.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile

from relbuild.binaries.elfcheck import ELF_ERRORS
from relbuild.config.triples import Triple
from relbuild.errors import MalformedFileError
from relbuild.release.dist import Footprint

PF_X = 0x1
PF_W = 0x2
# A raw image spans the lowest to the highest loaded byte. Microcontroller
# flash is at most a few MiB; a wider span is a malformed (or hostile) ELF
# whose image would fill the memory with zeros.
MAX_IMAGE_BYTES = 256 << 20


@dataclass(frozen=True)
class Segment:
    paddr: int
    vaddr: int
    data: bytes
    memsz: int
    flags: int


def _elf(data: bytes) -> ELFFile:
    return ELFFile(io.BytesIO(data))


def _malformed(exc: Exception) -> MalformedFileError:
    return MalformedFileError(f"not a readable ELF file ({type(exc).__name__}: {exc})")


def load_segments(data: bytes) -> list[Segment]:
    """The loadable segments with contents, by load address; MalformedFileError
    for a file pyelftools cannot read (an offset past 2**63 included)."""
    try:
        elf = _elf(data)
        loads = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD" and s["p_filesz"] > 0]
        segs = [
            Segment(s["p_paddr"], s["p_vaddr"], s.data(), s["p_memsz"], s["p_flags"]) for s in loads
        ]
        sizes = [s["p_filesz"] for s in loads]
    except ELF_ERRORS as exc:
        raise _malformed(exc) from None
    for seg, filesz in zip(segs, sizes, strict=True):
        if len(seg.data) != filesz:
            raise MalformedFileError(
                f"the segment loaded at {seg.paddr:#x} has {filesz} bytes in the file, "
                f"but the file ends after {len(seg.data)}"
            )
    return sorted(segs, key=lambda s: s.paddr)


def to_bin(data: bytes) -> bytes:
    segs = load_segments(data)
    if not segs:
        return b""
    base = segs[0].paddr
    end = max(s.paddr + len(s.data) for s in segs)
    if end - base > MAX_IMAGE_BYTES:
        raise MalformedFileError(
            f"its loadable segments span {end - base} bytes ({base:#x} to {end:#x}); a raw "
            f"image is made for at most {MAX_IMAGE_BYTES >> 20} MiB"
        )
    image = bytearray(end - base)
    for s in segs:
        image[s.paddr - base : s.paddr - base + len(s.data)] = s.data
    return bytes(image)


def _record(kind: int, address: int, payload: bytes) -> str:
    body = bytes([len(payload), (address >> 8) & 0xFF, address & 0xFF, kind]) + payload
    checksum = (-sum(body)) & 0xFF
    return ":" + (body + bytes([checksum])).hex().upper() + "\r\n"


def to_ihex(data: bytes) -> bytes:
    lines: list[str] = []
    upper = 0
    for seg in load_segments(data):
        addr, rest = seg.paddr, seg.data
        if addr + len(rest) > 1 << 32:
            raise MalformedFileError(
                f"a segment loads at {addr:#x}, past the 32-bit addresses Intel HEX can hold"
            )
        while rest:
            if addr >> 16 != upper:
                upper = addr >> 16
                lines.append(_record(0x04, 0, struct.pack(">H", upper)))
            # A record never crosses a 64 KiB boundary.
            room = min(16, 0x10000 - (addr & 0xFFFF))
            chunk, rest = rest[:room], rest[room:]
            lines.append(_record(0x00, addr & 0xFFFF, chunk))
            addr += len(chunk)
    try:
        entry = _elf(data)["e_entry"]
    except ELF_ERRORS as exc:
        raise _malformed(exc) from None
    if entry > 0xFFFF_FFFF:
        raise MalformedFileError(f"entry point {entry:#x} does not fit the 32 bits of Intel HEX")
    if entry <= 0xFFFFF:
        # Like binutils: a start segment address (CS:IP) where 20 bits suffice.
        lines.append(_record(0x03, 0, struct.pack(">HH", (entry & 0xF0000) >> 4, entry & 0xFFFF)))
    else:
        lines.append(_record(0x05, 0, struct.pack(">I", entry)))
    lines.append(_record(0x01, 0, b""))
    return "".join(lines).encode("ascii")


def parse_ihex(text: str) -> tuple[dict[int, int], int | None]:
    """Memory contents (address -> byte) and start address of an Intel HEX
    file; MalformedFileError for a record that is not well formed."""
    memory: dict[int, int] = {}
    upper = 0
    start: int | None = None
    for line in text.splitlines():
        if not line.startswith(":"):
            continue
        try:
            raw = bytes.fromhex(line[1:])
        except ValueError:
            raise MalformedFileError(f"not hexadecimal: {line[:80]!r}") from None
        if len(raw) < 5:
            raise MalformedFileError(f"short record: {line[:80]!r}")
        if sum(raw) & 0xFF:
            raise MalformedFileError(f"bad checksum: {line[:80]!r}")
        count, addr, kind, payload = raw[0], (raw[1] << 8) | raw[2], raw[3], raw[4 : 4 + raw[0]]
        if len(payload) != count:
            raise MalformedFileError(f"short record: {line[:80]!r}")
        if (kind in (0x02, 0x04) and count != 2) or (kind in (0x03, 0x05) and count != 4):
            raise MalformedFileError(f"record of type {kind} with {count} bytes: {line[:80]!r}")
        if kind == 0x00:
            for i, b in enumerate(payload):
                memory[(upper << 16) + addr + i] = b
        elif kind == 0x04:
            upper = struct.unpack(">H", payload)[0]
        elif kind == 0x02:
            upper = struct.unpack(">H", payload)[0] >> 12
        elif kind == 0x03:
            segment, offset = struct.unpack(">HH", payload)
            start = (segment << 4) + offset
        elif kind == 0x05:
            start = struct.unpack(">I", payload)[0]
        elif kind == 0x01:
            break
    return memory, start


def footprint(data: bytes) -> Footprint:
    """Flash and RAM from the allocated sections; MalformedFileError for a file
    pyelftools cannot read."""
    try:
        elf = _elf(data)
        flash = ram = 0
        sections: dict[str, int] = {}
        for sec in elf.iter_sections():
            flags = sec["sh_flags"]
            if not flags & SH_FLAGS.SHF_ALLOC or sec["sh_size"] == 0:
                continue
            size = sec["sh_size"]
            sections[sec.name] = size
            if sec["sh_type"] != "SHT_NOBITS":
                flash += size
            if flags & SH_FLAGS.SHF_WRITE:
                ram += size
    except ELF_ERRORS as exc:
        raise _malformed(exc) from None
    return Footprint(flash=flash, ram=ram, sections=sections)


def sanity_problems(data: bytes, triple: Triple, what: str) -> list[str]:
    """What is wrong with a firmware image: an entry point outside flash, a
    Cortex-M vector table whose stack pointer or reset vector makes no
    sense, or a dynamic section on a static target."""
    try:
        return _sanity_problems(data, triple, what)
    except MalformedFileError as exc:
        return [f"{what}: {exc}"]
    except ELF_ERRORS as exc:
        return [f"{what}: not a readable ELF file ({type(exc).__name__}: {exc})"]


def _sanity_problems(data: bytes, triple: Triple, what: str) -> list[str]:
    elf = _elf(data)
    segs = load_segments(data)
    problems: list[str] = []
    if elf.get_section_by_name(".dynamic") is not None or any(
        s["p_type"] in ("PT_DYNAMIC", "PT_INTERP") for s in elf.iter_segments()
    ):
        problems.append(f"{what}: has a dynamic section or interpreter; firmware must be static")
    code = [s for s in segs if s.flags & PF_X and not s.flags & PF_W]
    flash = [s for s in segs if not s.flags & PF_W]
    entry = elf["e_entry"]
    in_code = any(s.vaddr <= (entry & ~1) < s.vaddr + s.memsz for s in code)
    if not in_code:
        problems.append(
            f"{what}: entry point {entry:#x} is not in flash (no executable "
            "read-only segment holds it)"
        )
    if triple.arch == "arm" and flash:
        first = flash[0]
        if len(first.data) < 8:
            problems.append(f"{what}: no vector table at the start of flash ({first.paddr:#x})")
        else:
            sp, reset = struct.unpack("<II", first.data[:8])
            image_end = max(s.paddr + len(s.data) for s in flash)
            if sp == 0 or sp % 4 or first.paddr <= sp < image_end:
                problems.append(
                    f"{what}: implausible initial stack pointer {sp:#x} in the vector table"
                )
            if not reset & 1:
                problems.append(f"{what}: reset vector {reset:#x} lacks the Thumb bit")
            elif not any(s.vaddr <= (reset & ~1) < s.vaddr + s.memsz for s in code):
                problems.append(f"{what}: reset vector {reset:#x} points outside the code")
    return problems
