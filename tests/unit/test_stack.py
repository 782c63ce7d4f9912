"""The firmware stack reader, the section remover and the per-crate split,
on ELF files assembled in the tests (tests/stackgen.py)."""

from __future__ import annotations

import pytest

from relbuild.binaries import elfstrip, firmware, sizes, stack
from relbuild.binaries.symbols import crate_of, demangle
from relbuild.errors import MalformedFileError
from tests.stackgen import Fn
from tests.stackgen import firmware as make


def chain(arch: str = "arm") -> list[Fn]:
    return [
        Fn("Reset", [("call", "main"), ("ret", "")], frame=8),
        Fn("main", [("call", "small"), ("call", "big"), ("ret", "")], frame=16),
        Fn("small", [("ret", "")], frame=4),
        Fn("big", [("tail", "leaf")], frame=3000),
        Fn("leaf", [("ret", "")], frame=40),
    ]


@pytest.mark.parametrize("arch", ["arm", "riscv"])
def test_deepest_path_adds_frames_along_calls(arch: str) -> None:
    report = stack.analyse(make(chain(arch), arch))
    # Reset 8 + main 16 + big 3000 (its tail call to leaf, 40, leaves big's frame).
    assert report.depth == 8 + 16 + 3000
    assert report.path == ["Reset", "main", "big"]
    assert report.bounded


@pytest.mark.parametrize("arch", ["arm", "riscv"])
def test_tail_call_deeper_than_the_caller_counts_alone(arch: str) -> None:
    fns = chain(arch)
    fns[3] = Fn("big", [("tail", "leaf")], frame=8)
    fns[4] = Fn("leaf", [("ret", "")], frame=500)
    report = stack.analyse(make(fns, arch))
    assert (report.depth, report.path) == (8 + 16 + 500, ["Reset", "main", "big", "leaf"])


@pytest.mark.parametrize("arch", ["arm", "riscv"])
def test_recursion_indirect_calls_and_missing_frames_make_a_lower_bound(arch: str) -> None:
    fns = [
        Fn("Reset", [("call", "walk"), ("call", "dispatch"), ("call", "asm"), ("ret", "")]),
        Fn("walk", [("call", "step"), ("ret", "")], frame=32),
        Fn("step", [("call", "walk"), ("ret", "")], frame=16),
        Fn("dispatch", [("indirect", ""), ("ret", "")], frame=8),
        Fn("asm", [("ret", "")], frame=None),
    ]
    report = stack.analyse(make(fns, arch))
    assert report.lower_bound == [
        "indirect call: dispatch",
        "no frame size: asm",
        "recursion: walk -> step -> walk",
    ]
    assert not report.bounded and report.depth == 8 + 32 + 16


def test_no_stack_sizes_and_unknown_entry_are_said() -> None:
    data = make(chain(), with_stack_sizes=False)
    assert not stack.has_stack_sizes(data)
    assert "no frame size: Reset" in stack.analyse(data).lower_bound
    with pytest.raises(MalformedFileError):
        stack.analyse(b"\x7fELF" + bytes(60))


def test_removing_stack_sizes_keeps_images_symbols_and_readers() -> None:
    data = make(chain())
    assert stack.has_stack_sizes(data)
    out = elfstrip.remove_section(data, stack.STACK_SECTION)
    assert not stack.has_stack_sizes(out) and b".stack_sizes" not in out
    assert len(out) < len(data)
    assert firmware.to_bin(out) == firmware.to_bin(data)
    assert firmware.to_ihex(out) == firmware.to_ihex(data)
    # The symbols and the code are untouched, only the frame sizes are gone.
    assert sizes.size_split(out, "x") == sizes.size_split(data, "x")
    assert "no frame size: big" in stack.analyse(out).lower_bound
    assert elfstrip.remove_section(out, stack.STACK_SECTION) == out


def test_removing_a_loaded_section_is_refused() -> None:
    with pytest.raises(MalformedFileError, match="loaded"):
        elfstrip.remove_section(make(chain()), ".text")
    with pytest.raises(MalformedFileError):
        elfstrip.remove_section(b"not an elf at all" * 4, ".x")


def test_crate_split_adds_up_to_flash() -> None:
    split = sizes.size_split(make(chain()), "fw.elf")
    assert split.flash == sum(split.crates.values()) > 0
    assert {s.name for s in split.symbols} == {"Reset", "main", "small", "big", "leaf"}


# v0 symbols from a real thumbv7m build of the example.
IMPL = "_RNvXs_NtCsbTmf4PohDlB_9beacon_fw2rtNtB4_4LineNtNtCsegokQyyYQlU_4core3fmt5Write9write_str"
PROVIDED = "_RNvYNtNtCsbTmf4PohDlB_9beacon_fw2rt4LineNtNtCsegokQyyYQlU_4core3fmt5Write9write_fmtB6_"


def test_v0_symbols_are_demangled_and_attributed_by_their_mangling() -> None:
    assert demangle(IMPL) == "<beacon_fw::rt::Line as core::fmt::Write>::write_str"
    assert demangle(PROVIDED) == "<beacon_fw::rt::Line as core::fmt::Write>::write_fmt"
    assert crate_of(IMPL) == "beacon_fw"  # the impl is in beacon_fw
    assert crate_of(PROVIDED) == "core"  # the trait's provided method
    assert crate_of("_RNvNtCs44X9wHzbwle_17compiler_builtins3mem6memcpy") == "compiler_builtins"
    assert crate_of("_RNvMsa_NtCsegokQyyYQlU_4core3fmtNtB5_9Formatter7padding") == "core"


def test_legacy_and_c_symbols() -> None:
    legacy = "_ZN4core3fmt5write17h0123456789abcdefE"
    assert demangle(legacy) == "core::fmt::write" and crate_of(legacy) == "core"
    assert crate_of("__aeabi_memcpy") == "compiler_builtins"
    assert crate_of("Reset") == "?" and demangle("Reset") == "Reset"
    assert crate_of("_RNvB_") == "?" and crate_of("_R" + "N" * 5000) == "?"
    assert demangle("_RNvCs_garbage") == "_RNvCs_garbage"
