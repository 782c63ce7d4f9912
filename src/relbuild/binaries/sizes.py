"""A firmware's flash split by crate and by symbol, from the ELF's symbol
table: every byte of every flash section (allocated, with contents) goes
to the symbol that covers it (the first, where symbols overlap) and so to
that symbol's crate (:mod:`relbuild.binaries.symbols`); bytes no symbol
covers (padding, merged constants without a name) go to ``?``. The crates
therefore add up to the flash size exactly."""

from __future__ import annotations

import io
from collections import Counter

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from relbuild.binaries.elfcheck import ELF_ERRORS
from relbuild.binaries.symbols import UNKNOWN, crate_of, demangle
from relbuild.errors import MalformedFileError
from relbuild.release.sizefile import MAX_SYMBOLS, SizeFile, SymbolSize

MAX_SYMBOLS_READ = 500_000


def size_split(data: bytes, name: str) -> SizeFile:
    """The size file of the firmware ELF ``data``, named ``name`` in the dist."""
    try:
        return _split(ELFFile(io.BytesIO(data)), name)
    except ELF_ERRORS as exc:
        raise MalformedFileError(f"not a readable ELF file ({type(exc).__name__}: {exc})") from None


def _split(elf: ELFFile, name: str) -> SizeFile:
    sections = [
        (sec.name, sec["sh_addr"], sec["sh_size"])
        for sec in elf.iter_sections()
        if sec["sh_flags"] & SH_FLAGS.SHF_ALLOC
        and sec["sh_type"] != "SHT_NOBITS"
        and sec["sh_size"] > 0
    ]
    symbols: list[tuple[int, int, str]] = []
    symtab = elf.get_section_by_name(".symtab")
    if isinstance(symtab, SymbolTableSection):
        for n, sym in enumerate(symtab.iter_symbols()):
            if n > MAX_SYMBOLS_READ:
                raise MalformedFileError(f"more than {MAX_SYMBOLS_READ} symbols")
            kind = sym["st_info"]["type"]
            if sym["st_size"] > 0 and kind in ("STT_FUNC", "STT_OBJECT", "STT_NOTYPE"):
                addr = sym["st_value"] & ~1 if kind == "STT_FUNC" else sym["st_value"]
                symbols.append((addr, sym["st_size"], sym.name))
    symbols.sort(key=lambda s: (s[0], -s[1], s[2]))
    crates: Counter[str] = Counter()
    sizes: Counter[tuple[str, str, str]] = Counter()
    for sec_name, start, size in sections:
        covered = start
        for addr, length, sym_name in symbols:
            lo, hi = max(addr, covered), min(addr + length, start + size)
            if hi <= lo:
                continue
            crates[UNKNOWN] += lo - covered
            crate = crate_of(sym_name)
            crates[crate] += hi - lo
            sizes[(demangle(sym_name), crate, sec_name)] += hi - lo
            covered = hi
        crates[UNKNOWN] += start + size - covered
    largest = sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_SYMBOLS]
    return SizeFile(
        firmware=name,
        flash=sum(size for _, _, size in sections),
        crates={c: n for c, n in sorted(crates.items()) if n},
        symbols=[SymbolSize(name=k[0], crate=k[1], section=k[2], size=n) for k, n in largest],
    )
