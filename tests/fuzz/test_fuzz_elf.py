"""The ELF and firmware readers on mutated ELF files: the header checks,
target inference and firmware sanity checks return problems and never
raise; images, footprints and Intel HEX either come out or raise
MalformedFileError. The offsets, sizes and counts pyelftools seeks and
allocates by are set to extremes on purpose."""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from relbuild.binaries import elfcheck, elfstrip, firmware, sizes, stack, symbols
from relbuild.config.triples import TRIPLES
from relbuild.errors import MalformedFileError
from relbuild.verify.inventory import infer_triple
from tests import stackgen
from tests.elfgen import Elf, Section, cortex_m_firmware, x86_64_program
from tests.fuzz.conftest import examples
from tests.fuzz.mutate import elf_fields, mutated_bytes
from tests.unit import test_stack

X86 = x86_64_program()
# A program with a symbol table whose entries point anywhere in its strings.


def _with_symbols() -> bytes:
    entries = b"".join(i.to_bytes(4, "little") + bytes(20) for i in (0, 1, 14, 99))
    data = bytearray(
        Elf(
            sections=[
                Section(".strtab", b"\0main.version\0main.x", type=3, flags=0),
                Section(".symtab", entries, type=2, flags=0),
            ]
        ).build()
    )
    shoff = int.from_bytes(data[0x28:0x30], "little")
    data[shoff + 2 * 64 + 40] = 1  # .symtab's sh_link: the string table
    data[shoff + 2 * 64 + 56] = 24  # its sh_entsize: one Elf64_Sym
    return bytes(data)


SYMS = _with_symbols()
FW = cortex_m_firmware()
TARGETS = [TRIPLES["x86_64-unknown-linux-gnu"], TRIPLES["thumbv7m-none-eabi"]]


def elf_inputs() -> st.SearchStrategy[bytes]:
    return st.one_of(
        mutated_bytes(X86, fields=elf_fields(X86)),
        mutated_bytes(FW, fields=elf_fields(FW)),
        mutated_bytes(SYMS, fields=elf_fields(SYMS)),
    )


def _top_byte_of_phoff() -> bytes:
    data = bytearray(X86)
    data[0x20 + 7] = 0x80  # the review's case: e_phoff past 2**63
    return bytes(data)


@settings(max_examples=examples(200))
@given(elf_inputs())
@example(_top_byte_of_phoff())
def test_elf_readers(data: bytes) -> None:
    for triple in TARGETS:
        assert isinstance(elfcheck.header_problems(io.BytesIO(data), triple, "x"), list)
        assert isinstance(elfcheck.check_stream(io.BytesIO(data), triple, "x"), list)
    assert infer_triple(io.BytesIO(data)) in (None, *TRIPLES)
    with tempfile.NamedTemporaryFile() as fh:
        fh.write(data)
        fh.flush()
        assert isinstance(elfcheck.symbol_names(Path(fh.name)), set)


def _truncated_segment() -> bytes:
    """Found by the fuzz suite: a segment whose bytes start past the end of
    the file made a raw image of zeros that the HEX image did not have."""
    data = bytearray(X86)
    data[0x40 + 8 + 1] = 0x02  # p_offset of the first segment, 0xb0 -> 0x2b0
    return bytes(data)


@settings(max_examples=examples(150))
@given(elf_inputs())
@example(_top_byte_of_phoff())
@example(_truncated_segment())
def test_firmware_readers(data: bytes) -> None:
    for triple in TARGETS:
        assert isinstance(firmware.sanity_problems(data, triple, "fw"), list)
    results = {}
    for name, fn in (
        ("bin", firmware.to_bin),
        ("hex", firmware.to_ihex),
        ("fp", firmware.footprint),
    ):
        with contextlib.suppress(MalformedFileError):
            results[name] = fn(data)
    image, hexfile = results.get("bin"), results.get("hex")
    if isinstance(image, bytes) and isinstance(hexfile, bytes) and 0 < len(image) <= 1 << 16:
        # The two images agree: HEX records hold the raw image's bytes.
        memory, _ = firmware.parse_ihex(hexfile.decode())
        base = min(memory)
        assert all(image[a - base] == b for a, b in memory.items())


@settings(max_examples=examples(100))
@given(mutated_bytes(firmware.to_ihex(FW)).map(lambda b: b.decode("ascii", "replace")) | st.text())
def test_intel_hex_reader(text: str) -> None:
    with contextlib.suppress(MalformedFileError):
        firmware.parse_ihex(text)


# Thumb and RV32 firmware with functions, calls, a symbol table and frame sizes.
STACK_ARM = stackgen.firmware(test_stack.chain("arm"), "arm")
STACK_RV = stackgen.firmware(test_stack.chain("riscv"), "riscv")


def stack_inputs() -> st.SearchStrategy[bytes]:
    return st.one_of(
        mutated_bytes(STACK_ARM, fields=elf_fields(STACK_ARM)),
        mutated_bytes(STACK_RV, fields=elf_fields(STACK_RV)),
    )


@settings(max_examples=examples(200))
@given(stack_inputs())
def test_stack_reader_section_remover_and_size_split(data: bytes) -> None:
    """The call graph and frame reader, the .stack_sizes remover and the
    per-crate split either answer or raise MalformedFileError."""
    with contextlib.suppress(MalformedFileError):
        report = stack.analyse(data)
        assert report.depth >= 0 and isinstance(report.lower_bound, list)
    with contextlib.suppress(MalformedFileError):
        out = elfstrip.remove_section(data, stack.STACK_SECTION)
        # What it wrote is an ELF file the readers take, or refuse the same way.
        with contextlib.suppress(MalformedFileError):
            firmware.footprint(out)
    with contextlib.suppress(MalformedFileError):
        split = sizes.size_split(data, "fw.elf")
        assert sum(split.crates.values()) == split.flash
    assert isinstance(stack.has_stack_sizes(data), bool)


@settings(max_examples=examples(100))
@given(st.text(max_size=300) | st.binary(max_size=300).map(lambda b: "_R" + b.hex()))
def test_symbol_names(name: str) -> None:
    assert isinstance(symbols.demangle(name), str)
    assert isinstance(symbols.crate_of(name), str)
