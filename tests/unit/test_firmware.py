from __future__ import annotations

from pathlib import Path

import pytest

from relbuild.binaries.firmware import _record, parse_ihex
from relbuild.config.models import QemuConfig, SmokeTest
from relbuild.config.triples import TRIPLES
from relbuild.verify.smoke import runner_argv


def test_ihex_records_match_published_examples() -> None:
    # Records as printed in the Intel HEX format's description.
    data = bytes.fromhex("214601360121470136007EFE09D21901")
    assert _record(0x00, 0x0100, data) == ":10010000214601360121470136007EFE09D2190140\r\n"
    assert _record(0x04, 0, bytes.fromhex("FFFF")) == ":02000004FFFFFC\r\n"
    assert _record(0x01, 0, b"") == ":00000001FF\r\n"


def test_parse_ihex_handles_extended_and_start_records() -> None:
    text = (
        _record(0x04, 0, b"\x80\x00")
        + _record(0x00, 0x0010, b"\x01\x02")
        + _record(0x05, 0, b"\x80\x00\x00\x00")
        + _record(0x01, 0, b"")
    )
    memory, start = parse_ihex(text)
    assert memory == {0x80000010: 1, 0x80000011: 2}
    assert start == 0x80000000
    seg = _record(0x03, 0, b"\x00\x01\x00\x5d") + _record(0x01, 0, b"")
    assert parse_ihex(seg)[1] == 0x10 + 0x5D


def test_parse_ihex_rejects_bad_checksums() -> None:
    with pytest.raises(ValueError, match="checksum"):
        parse_ihex(":0100000041BF\r\n")


def test_runner_for_firmware_uses_the_machine_and_semihosting() -> None:
    test = SmokeTest(expect="ok")
    arm = runner_argv(
        TRIPLES["thumbv7m-none-eabi"], Path("/d/fw.elf"), test, QemuConfig(machine="lm3s6965evb")
    )
    assert arm[:3] == ["qemu-system-arm", "-machine", "lm3s6965evb"]
    assert "enable=on,target=native" in arm and arm[-2:] == ["-kernel", "/d/fw.elf"]
    rv = runner_argv(TRIPLES["riscv32imac-unknown-none-elf"], Path("/d/fw.elf"), test, None)
    assert rv[:3] == ["qemu-system-riscv32", "-machine", "virt"]
    assert rv[rv.index("-bios") : rv.index("-bios") + 2] == ["-bios", "none"]


def test_runner_for_linux_programs() -> None:
    test = SmokeTest(expect="ok", args=["-V"])
    cross = runner_argv(TRIPLES["aarch64-unknown-linux-gnu"], Path("/d/tool"), test, None)
    # A dynamic -gnu program loads its glibc from Debian's cross sysroot.
    assert cross == ["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu", "/d/tool", "-V"]


def test_smoke_test_regex_is_checked() -> None:
    with pytest.raises(ValueError, match="not a valid regular expression"):
        SmokeTest(expect="([unclosed")
