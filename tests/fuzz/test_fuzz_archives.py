"""The archive readers on mutated archives: static libraries (ar), and the
tar.gz and zip members the leak scanner and the difference explainer read:
results, never an exception, whatever the headers claim."""

from __future__ import annotations

import io
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from relbuild.binaries import elfcheck, leaks
from relbuild.config.triples import TRIPLES
from relbuild.proofs import explain
from relbuild.release.archive import Member, make_archive
from tests.elfgen import ar_archive, x86_64_program
from tests.fuzz.conftest import examples
from tests.fuzz.mutate import mutated_bytes

AR = ar_archive([("a.o", x86_64_program()), ("b.o", b"/home/someone/src/x.c\n" * 3)])


def _archives(tmp: Path) -> dict[str, bytes]:
    (tmp / "tool").write_bytes(x86_64_program())
    (tmp / "notes").write_bytes(b"built in /home/someone/work\n")
    members = [Member("d/tool", tmp / "tool", 0o755), Member("d/notes", tmp / "notes", 0o644)]
    return {
        "lib.a": AR,
        "x.tar.gz": make_archive("tar.gz", members, 1_700_000_000),
        "x.zip": make_archive("zip", members, 1_700_000_000),
    }


def _seeds() -> dict[str, bytes]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return _archives(Path(tmp))


SEEDS = _seeds()
SCANNER = leaks.Scanner(leaks.common_root_needles())
X86 = TRIPLES["x86_64-unknown-linux-gnu"]


@st.composite
def archive_inputs(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(SEEDS)))
    return name, draw(mutated_bytes(SEEDS[name]))


def test_seeds_are_readable() -> None:
    assert [n for n, _ in elfcheck.ar_members(AR)] == ["a.o", "b.o"]
    assert all(SCANNER.scan_bytes(data, name) for name, data in SEEDS.items())


@settings(max_examples=examples(150))
@given(archive_inputs())
def test_archive_readers(item: tuple[str, bytes]) -> None:
    name, data = item
    assert isinstance(elfcheck.ar_members(data), list)
    assert isinstance(elfcheck.check_stream(io.BytesIO(data), X86, name), list)
    assert isinstance(SCANNER.scan_bytes(data, name), list)
    result = explain.archive_members(SEEDS[name], data, name)
    assert result is None or isinstance(result, list)
