"""The universal Mach-O reader on mutated universal files: the slice table
is read or refused with MalformedFileError; a table that is read lies
inside the file, each slice apart from the others and the table; the
header checks and the leak scanner's section list return, never raise.
The big-endian table fields (count, offsets, sizes, alignments) are set to
extremes on purpose."""

from __future__ import annotations

import io
import itertools

from hypothesis import example, given, settings
from hypothesis import strategies as st

from relbuild.binaries import fat, formats, macho
from relbuild.config.triples import TRIPLES
from relbuild.errors import MalformedFileError
from tests import fatgen as machogen
from tests.fuzz.conftest import examples
from tests.fuzz.mutate import EXTREMES, mutated_bytes

SEED = fat.create([machogen.x86_64(b"x" * 600), machogen.arm64(b"a" * 200)])
# (offset, width) of the fat header's count and each record's fields.
FIELDS = [(4, 4)] + [(8 + 20 * n + at, 4) for n in range(2) for at in range(0, 20, 4)]


@st.composite
def fat_inputs(draw: st.DrawFn) -> bytes:
    data = bytearray(SEED)
    for _ in range(draw(st.integers(1, 3))):
        at, width = draw(st.sampled_from(FIELDS))
        # Extremes, and the offsets and alignments of a real table, where
        # slices come to overlap.
        near = [12, 14, 4096, 8192, 16384, len(SEED) - 100, 16384 - 4096 + 64]
        value = draw(st.sampled_from(near) | st.sampled_from(EXTREMES) | st.integers(0, 0x8000))
        data[at : at + width] = (value % (1 << 32)).to_bytes(width, "big")
    if draw(st.booleans()):
        return draw(mutated_bytes(bytes(data), max_edits=3))
    return bytes(data)


def _overlapping() -> bytes:
    data = bytearray(SEED)
    data[8 + 12 : 8 + 16] = (16384 - 4096 + 64).to_bytes(4, "big")  # x86_64 runs into arm64
    return bytes(data)


@settings(max_examples=examples(300))
@given(fat_inputs())
@example(_overlapping())
def test_fat_readers(data: bytes) -> None:
    try:
        table = fat.read(data, "u")
    except MalformedFileError:
        table = None
    if table is not None:
        end = 8 + 20 * len(table)
        spans = sorted((s.offset, s.offset + s.size) for s in table)
        assert spans[0][0] >= end and spans[-1][1] <= len(data)
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    assert isinstance(formats.check_universal(data, "u"), list)
    for triple in ("x86_64-apple-darwin", "aarch64-apple-darwin"):
        assert isinstance(macho.check(data, TRIPLES[triple], "u"), list)
    assert isinstance(macho.sections(io.BytesIO(data)), list | None)
    if table is None and fat.is_fat(data[:4]):
        # What the build or verify reads of it: refused, with a reason.
        assert formats.check_universal(data, "u")
