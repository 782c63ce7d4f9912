"""Bootloader images and boot cost, on the session's build of the example:
Microsoft's uf2conv and MCUboot's imgtool read back what relbuild made, and
the instruction count of each firmware's boot is the same in two runs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from relbuild.config.models import SmokeTest
from relbuild.config.triples import TRIPLES
from relbuild.pipeline import images
from relbuild.pipeline.model import FirmwareImages, McubootPlan
from relbuild.verify import smoke
from tests.conftest import EXAMPLE

CORTEX_M = ["thumbv7m-none-eabi", "thumbv7em-none-eabihf"]
FIRMWARE = [*CORTEX_M, "riscv32imac-unknown-none-elf"]
KEY = EXAMPLE / "keys" / "mcuboot-test-ed25519.pem"
BIN = Path(sys.executable).parent


def tool(name: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / name), *map(str, args)], capture_output=True, text=True, check=False
    )


def records(dist: Path) -> dict[str, dict[str, Any]]:
    arts = json.loads((dist / "manifest.json").read_text())["artifacts"]
    return {a["path"]: a for a in arts}


def base(triple: str) -> str:
    return f"{triple}/beacon-fw-0.3.1-{triple}"


@pytest.mark.parametrize("triple", CORTEX_M)
def test_uf2conv_reads_back_family_and_bytes(dist: Path, triple: str, tmp_path: Path) -> None:
    uf2 = dist / f"{base(triple)}.uf2"
    rec = records(dist)[f"{base(triple)}.uf2"]
    assert rec["kind"] == "image" and rec["image"]["family"] == "0xADA52840"
    info = tool("uf2conv", "-i", uf2)
    assert info.returncode == 0, info.stderr
    assert "hex value is 0xada52840" in info.stdout
    assert f"Target Address is 0x{rec['image']['address']:08x}" in info.stdout
    back = tmp_path / "back.bin"
    res = tool("uf2conv", uf2, "-c", "-o", back)
    assert res.returncode == 0, res.stderr
    assert f"start address: {hex(rec['image']['address'])}" in res.stdout
    raw = (dist / f"{base(triple)}.bin").read_bytes()
    data = back.read_bytes()
    assert data[: len(raw)] == raw and data[len(raw) :] == bytes(len(data) - len(raw))
    # uf2conv's own conversion of the .bin gives the very same file.
    theirs = tmp_path / "theirs.uf2"
    addr = hex(rec["image"]["address"])
    assert tool("uf2conv", "-c", "-b", addr, "-f", "0xADA52840", "-o", theirs, dist / f"{base(triple)}.bin").returncode == 0  # fmt: skip  # noqa: E501
    assert theirs.read_bytes() == uf2.read_bytes()


@pytest.mark.parametrize("triple", CORTEX_M)
def test_imgtool_verifies_the_mcuboot_images(dist: Path, triple: str) -> None:
    recs = records(dist)
    signed = recs[f"{base(triple)}.mcuboot.bin"]["image"]
    unsigned = recs[f"{base(triple)}.mcuboot-unsigned.bin"]["image"]
    assert signed["key"] == "examples/beacon/keys/mcuboot-test-ed25519.pem"
    assert signed["signature"] == "ed25519" and signed["randomized"] is False
    assert signed["version"] == "0.3.1+0" and signed["security_counter"] == 1
    checks: list[tuple[str, list[str | Path]]] = [
        (f"{base(triple)}.mcuboot.bin", ["-k", KEY]),
        (f"{base(triple)}.mcuboot-unsigned.bin", []),
    ]
    for name, key in checks:
        res = tool("imgtool", "verify", *key, dist / name)
        assert res.returncode == 0, res.stdout + res.stderr
        digest = re.search(r"Image digest: ([0-9a-f]{64})", res.stdout)
        assert digest is not None and digest.group(1) == recs[name]["image"]["digest"]
    assert signed["digest"] == unsigned["digest"]
    # The wrong key is refused: the signature is checked, not only the hash.
    other = tool(
        "imgtool",
        "verify",
        "-k",
        EXAMPLE.parent.parent / "tests" / "fixtures" / "mcuboot-other-ed25519.pem",
        dist / f"{base(triple)}.mcuboot.bin",
    )
    assert other.returncode != 0


def test_ecdsa_images_reproduce_unsigned_and_digest(dist: Path, tmp_path: Path) -> None:
    key = tmp_path / "ec.pem"
    assert tool("imgtool", "keygen", "-k", key, "-t", "ecdsa-p256").returncode == 0
    spec = FirmwareImages(
        mcuboot=McubootPlan(
            header_size=0x200,
            slot_size=0x40000,
            security_counter=7,
            version="0.3.1+0",
            key=str(key),
            key_shown="ec.pem",
            signature=images.key_kind(key, "key"),
        )
    )
    raw = (dist / f"{base(CORTEX_M[0])}.bin").read_bytes()
    one, two = (images.make(spec, b"", raw, tmp_path / f"{n}.log") for n in (1, 2))
    (u1, s1), (u2, s2) = one, two
    assert u1.data == u2.data and u1.record == u2.record
    assert s1.record.randomized and s1.record.signature == "ecdsa"
    assert s1.data != s2.data  # ECDSA: a new signature on every run
    assert s1.record.digest == s2.record.digest == u1.record.digest
    for n, img in enumerate((s1, s2)):
        path = tmp_path / f"signed{n}.bin"
        path.write_bytes(img.data)
        assert tool("imgtool", "verify", "-k", key, path).returncode == 0


def test_boot_instruction_count_is_the_same_twice(dist: Path) -> None:
    counts: dict[str, list[int | None]] = {}
    test = SmokeTest(expect="ok$", timeout=60)
    for _ in range(2):
        for triple in FIRMWARE:
            exe = dist / f"{base(triple)}.elf"
            result = smoke.SmokeResult(
                path=str(exe), target=triple, component="fw", status="skipped"
            )
            argv = smoke.runner_argv(TRIPLES[triple], exe, test, None)
            smoke._run(result, argv, test)
            assert result.status == "passed", result.reason
            counts.setdefault(triple, []).append(result.boot_instructions)
    for triple, (first, second) in counts.items():
        assert first is not None and first > 500, triple
        assert first == second, triple
    # Over budget by one instruction: the run fails and says why.
    exe = dist / f"{base(FIRMWARE[0])}.elf"
    result = smoke.SmokeResult(path=str(exe), target=FIRMWARE[0], component="fw", status="skipped")
    result.boot_budget = (counts[FIRMWARE[0]][0] or 0) - 1
    smoke._run(result, smoke.runner_argv(TRIPLES[FIRMWARE[0]], exe, test, None), test)
    assert result.status == "failed" and "boot-instructions budget" in result.reason
