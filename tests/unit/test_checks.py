"""The build's checks: a static library's members are checked once by
content, and every target's problems are reported together."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from relbuild.binaries.elfcheck import check_file
from relbuild.config.triples import TRIPLES
from relbuild.errors import BuildError
from relbuild.pipeline.checks import Findings, _Passes, verdict
from tests.unit.test_build_logic import ar_archive

X86_64 = TRIPLES["x86_64-unknown-linux-gnu"]


def elf_object(machine: int, salt: int) -> bytes:
    """A relocatable ELF64 header with no sections: all a header check reads."""
    ident = b"\x7fELF\x02\x01\x01" + bytes(9)
    header = struct.pack("<HHIQQQIHHHHHH", 1, machine, 1, 0, 0, 0, 0, 64, 0, 0, 64, 0, 0)
    return ident + header + bytes([salt])


class Counting:
    """A pass memo that counts the objects actually parsed."""

    def __init__(self) -> None:
        self.passed: set[bytes] = set()
        self.parsed = 0

    def known(self, body: bytes) -> bool:
        if body in self.passed:
            return True
        self.parsed += 1
        return False

    def add(self, body: bytes) -> None:
        self.passed.add(body)


def test_only_new_members_of_a_static_library_are_parsed(tmp_path: Path) -> None:
    lib = tmp_path / "libx.a"
    lib.write_bytes(ar_archive([(f"m{i}.o", elf_object(62, i)) for i in range(5)]))
    memo = Counting()
    assert check_file(lib, X86_64, memo) == []
    assert memo.parsed == 5
    members = [(f"m{i}.o", elf_object(62, i)) for i in range(4)] + [("new.o", elf_object(62, 9))]
    lib.write_bytes(ar_archive(members))
    assert check_file(lib, X86_64, memo) == []
    assert memo.parsed == 6  # the one member that changed


def test_a_member_for_another_machine_is_never_remembered(tmp_path: Path) -> None:
    lib = tmp_path / "libx.a"
    lib.write_bytes(ar_archive([("ok.o", elf_object(62, 0)), ("arm.o", elf_object(183, 0))]))
    memo = Counting()
    for _ in range(2):
        problems = check_file(lib, X86_64, memo)
        assert len(problems) == 1 and "libx.a(arm.o): machine is EM_AARCH64" in problems[0]
    assert memo.passed == {elf_object(62, 0)}


def test_passes_are_kept_in_the_cache_by_content(tmp_path: Path) -> None:
    lib = tmp_path / "libx.a"
    lib.write_bytes(ar_archive([("a.o", elf_object(62, 1)), ("b.o", elf_object(62, 2))]))
    memo = tmp_path / "elf-ok"
    assert check_file(lib, X86_64, _Passes(memo, X86_64.name)) == []
    # Each member by its SHA-256 and the triple.
    assert len(list(memo.iterdir())) == 2
    assert _Passes(memo, X86_64.name).known(elf_object(62, 2))
    assert not _Passes(memo, "aarch64-unknown-linux-gnu").known(elf_object(62, 2))


def test_every_targets_problems_are_reported_together() -> None:
    a = Findings(elf=["a.a(x.o): machine is EM_ARM"])
    b = Findings(elf=["b: ELF32"], over_budget=["fw.elf: flash 9 B is over"])
    with pytest.raises(BuildError) as caught:
        verdict([a, b])
    assert "a.a(x.o): machine is EM_ARM\n  b: ELF32" in str(caught.value)
    with pytest.raises(BuildError, match="firmware over budget"):
        verdict([Findings(), Findings(over_budget=b.over_budget)])
