from __future__ import annotations

import pytest

from relbuild.backends.go import parse_go_version
from relbuild.backends.rustc import parse_rustc_vv
from relbuild.config.loader import format_loc
from relbuild.config.triples import TRIPLES, suggest

DEBIAN_RUSTC = """\
rustc 1.96.0 (ac68faa20 2026-05-25) (built from a source tarball)
binary: rustc
commit-hash: ac68faa20c58cbccd01ee7208bf3b6e93a7d7f96
commit-date: 2026-05-25
host: x86_64-unknown-linux-gnu
release: 1.96.0
LLVM version: 22.1.8
"""


def test_parse_rustc_vv() -> None:
    info = parse_rustc_vv(DEBIAN_RUSTC)
    assert info.release == "1.96.0"
    assert info.commit == "ac68faa20c58cbccd01ee7208bf3b6e93a7d7f96"
    assert info.host == "x86_64-unknown-linux-gnu"
    assert info.llvm == "22.1.8"


def test_parse_rustc_vv_unknown_commit_and_garbage() -> None:
    info = parse_rustc_vv(
        DEBIAN_RUSTC.replace(
            "commit-hash: ac68faa20c58cbccd01ee7208bf3b6e93a7d7f96", "commit-hash: unknown"
        )
    )
    assert info.commit is None
    with pytest.raises(ValueError, match="release"):
        parse_rustc_vv("not rustc at all\n")


def test_parse_go_version() -> None:
    assert parse_go_version("go version go1.26.8 linux/amd64\n") == ("1.26.8", "linux/amd64")
    with pytest.raises(ValueError, match="not `go version` output"):
        parse_go_version("bash: go: command not found")


def test_format_loc() -> None:
    assert format_loc(("targets", 3, "triple")) == "targets[3].triple"
    assert format_loc(("go", "beacon", "links", 0)) == "go.beacon.links[0]"
    assert format_loc(()) == "(top level)"


def test_triple_table_is_consistent() -> None:
    for name, t in TRIPLES.items():
        assert t.name == name
        if t.bare_metal:
            assert t.goos is None and t.qemu_system and t.elf_class == 32
        elif t.binary_format == "elf":
            assert t.goos == "linux" and t.goarch and t.zig_target and t.qemu_user
        else:
            # Windows and macOS: no QEMU; the header names the machine.
            assert t.goos in ("windows", "darwin") and t.goarch and t.zig_target and t.machine
            assert t.qemu_user is None and t.exe_suffix == (".exe" if t.goos == "windows" else "")
        if name.endswith("hf"):
            assert t.float_abi == "hard"
    assert suggest("aarch64-unknown-linux") == "aarch64-unknown-linux-gnu"
    assert suggest("mips") is None
