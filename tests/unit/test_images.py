"""Bootloader images: the UF2 writer's blocks, and the UF2/MCUboot settings
refused with the key named (exit 2). Outside tools read the images back in
tests/integration/test_images.py."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from relbuild.binaries import uf2
from relbuild.config import load_config
from relbuild.errors import ConfigError, MalformedFileError
from relbuild.pipeline import coverage, images
from relbuild.pipeline.unit import _test_executables
from tests.conftest import CONFIG

FW_IMAGES = 'uf2 = { family = "0xADA52840" }\nmcuboot = { header-size = 0x200, slot-size = 0x40000, security-counter = 1, key = "examples/beacon/keys/mcuboot-test-ed25519.pem" }'  # noqa: E501


def test_uf2_blocks() -> None:
    image = bytes(range(256)) * 2 + b"\x01\x02\x03"
    out = uf2.from_bin(image, 0x2000, 0xADA52840)
    assert len(out) == 3 * 512
    for n in range(3):
        block = out[n * 512 : (n + 1) * 512]
        head = struct.unpack("<8I", block[:32])
        assert head == (0x0A324655, 0x9E5D5157, 0x2000, 0x2000 + 256 * n, 256, n, 3, 0xADA52840)
        assert struct.unpack("<I", block[508:])[0] == 0x0AB16F30
        assert block[32 + 256 : 508] == bytes(476 - 256)
    # The last payload is padded with zeros to 256 bytes.
    assert out[2 * 512 + 32 : 2 * 512 + 32 + 256] == b"\x01\x02\x03" + bytes(253)


def test_uf2_past_4_gib_is_refused() -> None:
    with pytest.raises(MalformedFileError):
        uf2.from_bin(bytes(512), 0xFFFFFF00, 1)


def test_uf2_of_an_elf_without_contents_is_refused() -> None:
    with pytest.raises(MalformedFileError):
        uf2.base_address(b"\x7fELF not really")


def config_with(tmp_path: Path, new: str) -> Path:
    text = CONFIG.read_text()
    assert FW_IMAGES in text
    text = text.replace(FW_IMAGES, new).replace(
        '"examples/beacon', f'"{CONFIG.parent}/examples/beacon'
    )
    path = tmp_path / "toolchains.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ('uf2 = { family = "ADA52840" }', "rust.beacon-fw.uf2.family: String should match"),
        ('uf2 = { family = "0x1ADA52840" }', "rust.beacon-fw.uf2.family: String should match"),
        ("uf2 = { family = 0xADA52840 }", "rust.beacon-fw.uf2.family: Input should be a valid str"),
        ('uf2 = { familly = "0x1" }', "rust.beacon-fw.uf2.familly: unknown key"),
        (
            "mcuboot = { header-size = 16, slot-size = 0x40000 }",
            "rust.beacon-fw.mcuboot.header-size: Input should be greater than or equal to 32",
        ),
        (
            "mcuboot = { header-size = 0x200, slot-size = -1 }",
            "rust.beacon-fw.mcuboot.slot-size: Input should be greater than or equal to 64",
        ),
        (
            "mcuboot = { header-size = 0x200, slot-size = 0x400, security-counter = 4294967296 }",
            "rust.beacon-fw.mcuboot.security-counter: Input should be less than or equal",
        ),
        (
            'mcuboot = { header-size = 0x200, slot-size = 0x400, key = "nope.pem" }',
            "rust.beacon-fw.mcuboot.key: ",
        ),
        (
            "mcuboot = { slot-size = 0x400 }",
            "rust.beacon-fw.mcuboot.header-size: required key is missing",
        ),
    ],
)
def test_bad_image_settings_name_the_key(tmp_path: Path, new: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(config_with(tmp_path, new))
    assert info.value.exit_code == 2
    assert message in str(info.value)


def test_images_only_on_firmware(tmp_path: Path) -> None:
    text = CONFIG.read_text().replace(
        'kind = "staticlib"\n', 'kind = "staticlib"\nuf2 = { family = "0x1" }\n', 1
    )
    path = tmp_path / "toolchains.toml"
    path.write_text(text.replace('"examples/beacon', f'"{CONFIG.parent}/examples/beacon'))
    with pytest.raises(ConfigError, match=r"rust.beacon-ffi: .*`uf2` only applies"):
        load_config(path)


def test_a_key_that_is_no_private_key_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "key.pem").write_text("-----BEGIN PRIVATE KEY-----\nnot base64\n")
    path = config_with(
        tmp_path, 'mcuboot = { header-size = 0x200, slot-size = 0x40000, key = "key.pem" }'
    )
    loaded = load_config(path)
    with pytest.raises(ConfigError, match=r"rust\.beacon-fw\.mcuboot\.key: .* not an unencrypted"):
        images.plan_images(loaded, "0.3.1", {"beacon-fw"})


def test_the_example_key_is_ed25519() -> None:
    spec = images.plan_images(load_config(CONFIG), "0.3.1", {"beacon-fw"})["beacon-fw"]
    assert spec.mcuboot is not None
    assert spec.mcuboot.signature == "ed25519"
    assert spec.mcuboot.key_shown == "examples/beacon/keys/mcuboot-test-ed25519.pem"
    assert spec.mcuboot.version == "0.3.1+0"
    assert spec.uf2_family == "0xADA52840"


@pytest.mark.parametrize("version", ["1.2", "1.2.3-rc1", "256.0.0", "1.0.65536", "v1.0.0"])
def test_versions_mcuboot_cannot_hold(version: str) -> None:
    with pytest.raises(ConfigError, match="not one MCUboot's header holds") as info:
        images.imgtool_version(version, "rust.fw.mcuboot")
    assert info.value.exit_code == 2


def test_versions_mcuboot_holds() -> None:
    assert images.imgtool_version("255.255.65535+7", "x") == "255.255.65535+7"
    assert images.imgtool_version("0.3.1", "x") == "0.3.1+0"


def test_go_statement_coverage(tmp_path: Path) -> None:

    profile = tmp_path / "c.out"
    profile.write_text(
        "mode: set\n"
        "m/a.go:1.1,2.2 3 1\n"
        "m/a.go:3.1,4.2 1 0\n"
        "m/a.go:3.1,4.2 1 1\n"  # the same block, run by a second test binary
        "m/b.go:1.1,9.2 4 0\n"
        "not a line\n"
    )
    assert coverage.go_statements(profile) == 100.0 * 4 / 8
    profile.write_text("mode: set\n")
    assert coverage.go_statements(profile) is None


def test_cargo_test_executables() -> None:

    lines = [
        '{"reason":"compiler-artifact","profile":{"test":true},"executable":"/t/a-1"}',
        '{"reason":"compiler-artifact","profile":{"test":false},"executable":"/t/build"}',
        '{"reason":"compiler-artifact","profile":{"test":true},"executable":null}',
        "{not json",
        "running 4 tests",
    ]
    assert _test_executables("\n".join(lines)) == ["/t/a-1"]


def test_doctor_asks_for_imgtool_where_a_firmware_wants_mcuboot(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """doctor and the build agree: a target whose firmware asks for an
    MCUboot image needs imgtool, and says where it is or how to get it."""
    import sys

    from relbuild.backends import imgtool
    from relbuild.config import load_config
    from tests.conftest import CONFIG

    loaded = load_config(CONFIG)
    thumb = next(t for t in loaded.config.targets if t.triple == "thumbv7m-none-eabi")
    host = next(t for t in loaded.config.targets if t.triple == "x86_64-unknown-linux-gnu")
    assert imgtool.checks(loaded, host) == []
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    (missing,) = imgtool.checks(loaded, thumb)
    assert not missing.ok and missing.fix == imgtool.HINT
    (tmp_path / "imgtool").write_text("#!/bin/sh\n")
    (tmp_path / "imgtool").chmod(0o755)
    (found,) = imgtool.checks(loaded, thumb)
    assert found.ok and found.detail == str(tmp_path / "imgtool")
