"""The ABI check's object readers on mutated COFF and Mach-O objects and on
mutated archives of them (GNU and BSD): a view or a UsageError (exit 2),
never another exception, whatever the headers, relocations and DWARF say."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from relbuild.abi.objects import read_exports, read_probe
from relbuild.errors import UsageError
from tests.fuzz.conftest import examples
from tests.fuzz.mutate import mutated_bytes
from tests.unit.test_abi import _ar
from tests.unit.test_abi_objects import COFF, MACHO, _bsd_ar

COFF_BYTES = COFF.read_bytes()
MACHO_BYTES = MACHO.read_bytes()
SEEDS = [
    COFF_BYTES,
    MACHO_BYTES,
    _ar([("lab.o", COFF_BYTES)], {"twice": 0}),
    _bsd_ar([("lab.rcgu.o", MACHO_BYTES)], {"twice": 0}),
]


def _coff_fields(data: bytes) -> list[tuple[int, int]]:
    """The COFF header's counts and offsets, and each section header's
    size, data and relocation pointers and counts."""
    count = int.from_bytes(data[2:4], "little")
    fields = [(2, 2), (8, 4), (12, 4), (16, 2)]
    for i in range(count):
        at = 20 + 40 * i
        fields += [(at + 16, 4), (at + 20, 4), (at + 24, 4), (at + 32, 2)]
    return fields


def _macho_fields(data: bytes) -> list[tuple[int, int]]:
    """The header's command count and size, and the words of the load
    commands (offsets, sizes, counts live there)."""
    size = int.from_bytes(data[20:24], "little")
    return [(16, 4), (20, 4)] + [(32 + 4 * i, 4) for i in range(min(size, 2048) // 4)]


def inputs() -> st.SearchStrategy[bytes]:
    return st.one_of(
        mutated_bytes(COFF_BYTES, fields=_coff_fields(COFF_BYTES)),
        mutated_bytes(MACHO_BYTES, fields=_macho_fields(MACHO_BYTES)),
        *(mutated_bytes(seed) for seed in SEEDS),
    )


@settings(max_examples=examples(300))
@given(inputs())
def test_object_readers_give_a_view_or_a_usage_error(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        lib = Path(tmp) / "liblab.a"
        lib.write_bytes(data)
        with contextlib.suppress(UsageError):
            read_exports(lib, {"twice"})
    with contextlib.suppress(UsageError):
        read_probe(data, "__relbuild_abi_")
