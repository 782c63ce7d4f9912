"""The Mach-O reader on small crafted files: CPU type, code signature,
minimum OS, debug map, per-slice problems of a universal file, the facts,
and the parts the leak scanner reads."""

from __future__ import annotations

import io

import pytest

from relbuild.binaries import formats, macho
from relbuild.binaries.leaks import Scanner, common_root_needles
from relbuild.config.triples import TRIPLES
from relbuild.errors import MalformedFileError
from tests.elfgen import ar_archive
from tests.machogen import ARM64, X86_64, MachO, fat

ARM = TRIPLES["aarch64-apple-darwin"]
X86 = TRIPLES["x86_64-apple-darwin"]


def test_matching_files_pass() -> None:
    assert macho.check(MachO(oso="").build(), ARM, "app") == []
    x86 = MachO(cpu=X86_64, signed=False, version_min=True, minos=(10, 12, 0), oso="")
    assert macho.check(x86.build(), X86, "app") == []


def test_wrong_cpu_both_ways() -> None:
    assert macho.check(MachO(oso="").build(), X86, "app") == [
        "app: CPU type is ARM64, x86_64-apple-darwin needs x86_64"
    ]
    got = macho.check(MachO(cpu=X86_64, minos=(10, 12, 0), oso="").build(), ARM, "app")
    assert got == ["app: CPU type is X86_64, aarch64-apple-darwin needs ARM64"]


def test_arm64_needs_a_signature_x86_64_does_not() -> None:
    assert macho.check(MachO(signed=False, oso="").build(), ARM, "app") == [
        "app: no code signature; macOS on arm64 runs no unsigned program"
    ]
    x86 = MachO(cpu=X86_64, signed=False, minos=(10, 12, 0), oso="")
    assert macho.check(x86.build(), X86, "app") == []


def test_minimum_os() -> None:
    assert macho.check(MachO(no_version=True, oso="").build(), ARM, "app") == [
        "app: neither LC_BUILD_VERSION nor LC_VERSION_MIN_MACOSX"
    ]
    newer = MachO(minos=(14, 0, 0), oso="").build()
    assert macho.check(newer, ARM, "app") == [  # the triple's floor, by default
        "app: needs macOS 14.0, newer than aarch64-apple-darwin's 12.0"
    ]
    assert macho.check(newer, ARM, "app", max_minos="12.0") == [
        "app: needs macOS 14.0, newer than 12.0"
    ]
    assert macho.check(newer, ARM, "app", max_minos="14.0") == []
    assert macho.check(MachO(platform=2, oso="").build(), ARM, "app") == [
        "app: built for platform IOS, not macOS"
    ]


def test_debug_map_is_a_problem() -> None:
    (problem,) = macho.check(MachO().build(), ARM, "app")
    assert "debug map names build paths ('/Users/alice/proj/.zig-cache/o/0123/main.o'" in problem
    assert "-Wl,-S" in problem


def test_facts() -> None:
    data = MachO(libraries=("/usr/lib/libSystem.B.dylib", "/usr/lib/libresolv.9.dylib"), oso="")
    (found,) = macho.facts(io.BytesIO(data.build()))
    assert found.as_dict() == {
        "cpu": "ARM64",
        "platform": "MACOS",
        "minos": "11.0",
        "sdk": "15.5",
        "libraries": ["/usr/lib/libSystem.B.dylib", "/usr/lib/libresolv.9.dylib"],
        "signed": True,
    }
    (old,) = macho.facts(MachO(version_min=True, minos=(10, 12, 1), oso="").build())
    assert (old.platform, old.minos) == ("MACOS", "10.12.1")


def test_universal_file_problems_are_per_slice() -> None:
    x86 = MachO(cpu=X86_64, signed=False, minos=(10, 12, 0), oso="").build()
    arm = MachO(signed=False, oso="").build()
    both = fat([(X86_64, x86), (ARM64, arm)])
    assert [f.cpu for f in macho.facts(both)] == ["X86_64", "ARM64"]
    expected = ["u (ARM64 slice): no code signature; macOS on arm64 runs no unsigned program"]
    assert macho.check(both, ARM, "u") == expected
    assert macho.check(both, X86, "u") == expected
    only_x86 = fat([(X86_64, x86)])
    assert macho.check(only_x86, ARM, "u") == ["u: universal file without a ARM64 slice"]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xcf\xfa\xed\xfe",
        b"\xcf\xfa\xed\xfe" + bytes(28),  # no load commands
        b"\x7fELF" + bytes(60),
        MachO().build()[:40],
        b"\xca\xfe\xba\xbe\0\0\0\x01" + bytes(20),  # a slice of nothing
    ],
)
def test_malformed_files_raise_malformed_file_error(data: bytes) -> None:
    with pytest.raises(MalformedFileError, match="Mach-O"):
        macho.normalize(data, "app")
    (problem,) = macho.check(data, ARM, "app")
    assert problem.startswith("app: not a")


def test_normalize_is_the_identity() -> None:
    data = MachO().build()
    assert macho.normalize(data) == data
    assert formats.normalize(data, ARM) == data


def test_scanner_reads_load_commands_dwarf_and_stabs() -> None:
    data = MachO(rpath="/Users/alice/lib", dwarf=b"DW_AT_comp_dir\0/home/bob/src\0").build()
    leaks = Scanner(common_root_needles()).scan_bytes(data, "app")
    assert sorted((x.where, x.found) for x in leaks) == [
        ("section __DWARF,__debug_info", "/home/bob/src"),
        ("section load commands", "/Users/alice/lib"),
        ("section symbol strings", "/Users/alice/proj/.zig-cache/o/0123/main.o"),
    ]


def test_scanner_reads_each_slice() -> None:
    x86 = MachO(cpu=X86_64, oso="/Users/alice/a.o").build()
    arm = MachO(oso="/Users/alice/b.o").build()
    leaks = Scanner(common_root_needles()).scan_bytes(fat([(X86_64, x86), (ARM64, arm)]), "u")
    assert sorted((x.where, x.found) for x in leaks) == [
        ("section ARM64 symbol strings", "/Users/alice/b.o"),
        ("section X86_64 symbol strings", "/Users/alice/a.o"),
    ]


def test_static_library_members() -> None:
    good = ar_archive([("a.o", MachO(oso="").build())])
    assert formats.check_stream(io.BytesIO(good), ARM, "liba.a") == []
    assert formats.check_stream(io.BytesIO(good), X86, "liba.a") == [
        "liba.a(a.o): machine is ARM64, x86_64-apple-darwin needs x86_64"
    ]
