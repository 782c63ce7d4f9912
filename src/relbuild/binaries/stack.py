"""Worst-case stack depth of a firmware ELF: each function's frame from the
``.stack_sizes`` section rustc writes with ``-Z emit-stack-sizes``, and the
call graph read from the machine code (capstone): direct calls (``bl``/
``blx`` on Thumb, ``jal``/``auipc``+``jalr`` on RISC-V) and branches to
another function's start (tail calls, which leave the caller's frame).

The deepest path from the entry point is the figure. It is a lower bound,
and the reasons are named, where a cycle (recursion) is cut, where a call
goes through a register to a target the code does not name, or where a
function on a path has no frame size. Interrupt handlers, which run on top
of whatever the program is doing, are not added.

Everything read may be hostile: any problem is a MalformedFileError.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import capstone
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from relbuild.binaries.elfcheck import ELF_ERRORS
from relbuild.binaries.symbols import demangle
from relbuild.errors import MalformedFileError

STACK_SECTION = ".stack_sizes"
MAX_FUNCTIONS = 200_000
MAX_CODE_BYTES = 64 << 20
_CONDITIONS = ("eq", "ne", "cs", "hs", "cc", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge")
_ARM_BRANCHES = {"b", "b.w", "bl", "blx"} | {
    f"b{c}{w}" for c in (*_CONDITIONS, "lt", "gt", "le") for w in ("", ".w")
}


@dataclass(frozen=True)
class Function:
    name: str  # demangled
    addr: int
    size: int
    frame: int | None


@dataclass
class StackReport:
    depth: int  # bytes on the deepest path from the entry point
    path: list[str]  # its functions, entry first (demangled)
    lower_bound: list[str] = field(default_factory=list)  # why the figure may be exceeded

    @property
    def bounded(self) -> bool:
        return not self.lower_bound


@dataclass
class _Edges:
    calls: set[int] = field(default_factory=set)
    tails: set[int] = field(default_factory=set)
    indirect: bool = False


def has_stack_sizes(data: bytes) -> bool:
    try:
        return _elf(data).get_section_by_name(STACK_SECTION) is not None
    except ELF_ERRORS:
        return False


def analyse(data: bytes) -> StackReport:
    """The worst-case stack of the firmware in ``data``."""
    try:
        elf = _elf(data)
        machine, entry = elf["e_machine"], elf["e_entry"]
        frames = _frames(elf)
        code = _code(elf)
        funcs = _functions(elf, frames, code)
    except ELF_ERRORS as exc:
        raise MalformedFileError(f"not a readable ELF file ({type(exc).__name__}: {exc})") from None
    if machine not in ("EM_ARM", "EM_RISCV"):
        raise MalformedFileError(f"stack depth is read for Arm and RISC-V firmware, not {machine}")
    starts = {f.addr: f for f in funcs}
    root = starts.get(entry & ~1)
    if root is None:
        raise MalformedFileError(f"no function symbol starts at the entry point {entry:#x}")
    graph = {f.addr: _edges(machine, f, code, starts, elf.elfclass) for f in funcs}
    return _deepest(root, starts, graph)


def _elf(data: bytes) -> ELFFile:
    return ELFFile(io.BytesIO(data))


def _frames(elf: ELFFile) -> dict[int, int]:
    """address -> frame bytes: entries of a target-width address and a ULEB128."""
    width = 4 if elf.elfclass == 32 else 8
    out: dict[int, int] = {}
    for sec in elf.iter_sections():
        if sec.name != STACK_SECTION:
            continue
        raw, i = sec.data(), 0
        while i < len(raw):
            if i + width > len(raw):
                raise MalformedFileError(f"{STACK_SECTION}: an entry cut short at byte {i}")
            addr = int.from_bytes(raw[i : i + width], "little")
            i += width
            size = shift = 0
            while True:
                if i >= len(raw) or shift > 35:
                    raise MalformedFileError(f"{STACK_SECTION}: a size cut short at byte {i}")
                byte = raw[i]
                i += 1
                size |= (byte & 0x7F) << shift
                shift += 7
                if not byte & 0x80:
                    break
            out[addr & ~1] = size
    return out


def _functions(
    elf: ELFFile, frames: dict[int, int], code: list[tuple[int, bytes]]
) -> list[Function]:
    """Function symbols, and labels in code that assembly defines (``_start``):
    a label's body runs to the next function or label, or its section's end."""
    symtab = elf.get_section_by_name(".symtab")
    if not isinstance(symtab, SymbolTableSection):
        raise MalformedFileError("no symbol table, so no functions to follow")
    sized: dict[int, tuple[str, int]] = {}
    labels: dict[int, str] = {}
    for n, sym in enumerate(symtab.iter_symbols()):
        if n > MAX_FUNCTIONS:
            raise MalformedFileError(f"more than {MAX_FUNCTIONS} symbols")
        kind, name, addr = sym["st_info"]["type"], sym.name, sym["st_value"] & ~1
        if kind == "STT_FUNC" and sym["st_size"] > 0:
            if addr not in sized or sized[addr][0] > name:
                sized[addr] = (name, sym["st_size"])
        elif (
            kind == "STT_NOTYPE"
            and name
            and not name.startswith(("$", ".L"))
            and any(base <= addr < base + len(body) for base, body in code)
        ):
            labels[addr] = min(name, labels.get(addr, name))
    starts = sorted({*sized, *labels})
    out = []
    for i, addr in enumerate(starts):
        if addr in sized:
            name, size = sized[addr]
        else:
            name = labels[addr]
            end = next(base + len(body) for base, body in code if base <= addr < base + len(body))
            size = min(end, starts[i + 1] if i + 1 < len(starts) else end) - addr
        out.append(Function(demangle(name), addr, size, frames.get(addr)))
    return out


def _code(elf: ELFFile) -> list[tuple[int, bytes]]:
    out, total = [], 0
    for sec in elf.iter_sections():
        if sec["sh_type"] == "SHT_PROGBITS" and sec["sh_flags"] & 0x4 and sec["sh_size"]:
            total += sec["sh_size"]
            if total > MAX_CODE_BYTES:
                raise MalformedFileError(f"more than {MAX_CODE_BYTES >> 20} MiB of code")
            out.append((sec["sh_addr"], sec.data()))
    return out


def _bytes_of(f: Function, code: list[tuple[int, bytes]]) -> bytes:
    for base, data in code:
        if base <= f.addr and f.addr + f.size <= base + len(data):
            return data[f.addr - base : f.addr - base + f.size]
    return b""


def _edges(
    machine: str, f: Function, code: list[tuple[int, bytes]], starts: dict[int, Function], cls: int
) -> _Edges:
    body = _bytes_of(f, code)
    if machine == "EM_ARM":
        md = capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_THUMB | capstone.CS_MODE_MCLASS)
        return _thumb(md, f, body, starts)
    mode = capstone.CS_MODE_RISCV32 if cls == 32 else capstone.CS_MODE_RISCV64
    md = capstone.Cs(capstone.CS_ARCH_RISCV, mode | capstone.CS_MODE_RISCVC)
    return _riscv(md, f, body, starts)


def _instructions(md: capstone.Cs, body: bytes, base: int, step: int):  # type: ignore[no-untyped-def]
    """(address, mnemonic, op_str, bytes), stepping over what does not decode."""
    offset = 0
    while offset < len(body):
        last = offset
        for addr, size, mnemonic, op_str in md.disasm_lite(body[offset:], base + offset):
            yield addr, mnemonic, op_str, body[addr - base : addr - base + size]
            offset = addr - base + size
        if offset == last:
            offset += step


def _thumb(md: capstone.Cs, f: Function, body: bytes, starts: dict[int, Function]) -> _Edges:
    out = _Edges()
    end = f.addr + f.size
    for _addr, mnemonic, op_str, _raw in _instructions(md, body, f.addr, 2):
        ops = op_str.replace(" ", "")
        if mnemonic in _ARM_BRANCHES and ops.startswith("#"):
            target = int(ops[1:], 0) & ~1
            if mnemonic in ("bl", "blx"):
                out.calls.add(target)
            elif not f.addr <= target < end and target in starts:
                out.tails.add(target)
        elif (mnemonic.startswith(("blx", "bx")) and ops != "lr") or (
            ops.startswith("pc,") and mnemonic.startswith(("mov", "ldr", "add"))
        ):
            out.indirect = True
    return out


def _riscv(md: capstone.Cs, f: Function, body: bytes, starts: dict[int, Function]) -> _Edges:
    """Fields decoded from the bits (capstone prints pseudo-instructions)."""
    out = _Edges()
    end = f.addr + f.size
    upper: dict[int, int] = {}  # register -> value an auipc left in it
    for addr, _mnemonic, _ops, raw in _instructions(md, body, f.addr, 2):
        if len(raw) == 2:
            half = int.from_bytes(raw, "little")
            op, funct = half & 3, half >> 13
            if op == 1 and funct in (1, 5):  # c.jal (RV32), c.j
                imm = _cj_imm(half)
                _jump(out, addr + imm, funct == 1, f.addr, end, starts)
            elif op == 2 and funct == 4 and half & 0x7F == 2 and (half >> 7) & 0x1F:
                rs1, link = (half >> 7) & 0x1F, (half >> 12) & 1
                if (half >> 2) & 0x1F == 0 and not (rs1 == 1 and not link):
                    out.indirect = True  # c.jr / c.jalr through a register
            continue
        word = int.from_bytes(raw[:4], "little")
        opcode, rd, rs1 = word & 0x7F, (word >> 7) & 0x1F, (word >> 15) & 0x1F
        if opcode == 0x17:  # auipc
            upper[rd] = addr + _signed(word & 0xFFFFF000, 32)
            continue
        if opcode == 0x6F:  # jal
            _jump(out, addr + _j_imm(word), rd != 0, f.addr, end, starts)
        elif opcode == 0x67:  # jalr
            if rd == 0 and rs1 == 1 and rs1 not in upper:
                pass  # ret
            elif rs1 in upper:
                _jump(out, upper[rs1] + _signed(word >> 20, 12), rd != 0, f.addr, end, starts)
            else:
                out.indirect = True
        if rd:
            upper.pop(rd, None)
    return out


def _jump(out: _Edges, target: int, link: bool, start: int, end: int, starts: dict) -> None:  # type: ignore[type-arg]
    if link:
        out.calls.add(target)
    elif not start <= target < end and target in starts:
        out.tails.add(target)


def _signed(value: int, bits: int) -> int:
    return value - (1 << bits) if value >> (bits - 1) & 1 else value


def _j_imm(w: int) -> int:
    imm = ((w >> 31) & 1) << 20 | ((w >> 12) & 0xFF) << 12 | ((w >> 20) & 1) << 11
    return _signed(imm | ((w >> 21) & 0x3FF) << 1, 21)


def _cj_imm(h: int) -> int:
    bits = [(12, 11), (11, 4), (10, 9), (9, 8), (8, 10), (7, 6), (6, 7), (5, 3), (4, 2), (3, 1)]
    imm = sum(((h >> src) & 1) << dst for src, dst in bits) | ((h >> 2) & 1) << 5
    return _signed(imm, 12)


def _deepest(root: Function, starts: dict[int, Function], graph: dict[int, _Edges]) -> StackReport:
    """Longest path by frame bytes, iteratively (a deep graph must not
    exhaust Python's recursion); cycles are cut where they close."""
    best: dict[int, tuple[int, int | None]] = {}  # addr -> (depth, next on the path)
    why: dict[str, None] = {}
    state: dict[int, int] = {}  # 1 on the stack, 2 done
    todo: list[tuple[int, bool]] = [(root.addr, False)]
    trail: list[int] = []
    while todo:
        addr, leaving = todo.pop()
        f = starts[addr]
        edges = graph[addr]
        if leaving:
            trail.pop()
            frame = f.frame or 0
            depth, nxt = frame, None
            for callee in sorted(edges.calls | edges.tails):
                if callee not in best:
                    continue
                d = best[callee][0] + (frame if callee in edges.calls else 0)
                if d > depth:
                    depth, nxt = d, callee
            best[addr], state[addr] = (depth, nxt), 2
            continue
        if state.get(addr):
            continue
        state[addr] = 1
        trail.append(addr)
        todo.append((addr, True))
        if f.frame is None:
            why[f"no frame size: {f.name}"] = None
        if edges.indirect:
            why[f"indirect call: {f.name}"] = None
        for callee in sorted(edges.calls | edges.tails, reverse=True):
            if callee not in starts:
                why[f"call to {callee:#x}, where no function starts: {f.name}"] = None
            elif state.get(callee) == 1:
                loop = [*trail[trail.index(callee) :], callee]
                why["recursion: " + " -> ".join(starts[a].name for a in loop)] = None
            elif not state.get(callee):
                todo.append((callee, False))
    path: list[str] = []
    at: int | None = root.addr
    while at is not None and len(path) <= len(starts):
        path.append(starts[at].name)
        at = best[at][1]
    return StackReport(depth=best[root.addr][0], path=path, lower_bound=sorted(why))
