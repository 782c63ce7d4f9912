"""Firmware images, footprints, budgets, sanity checks and QEMU smoke tests,
on the real build of the example."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest

from relbuild.binaries import firmware
from relbuild.config.triples import TRIPLES
from tests.conftest import CONFIG, EXAMPLE
from tests.integration.conftest import example_copy, relbuild_cmd

FIRMWARE_TARGETS = ["thumbv7m-none-eabi", "thumbv7em-none-eabihf", "riscv32imac-unknown-none-elf"]


def manifest_of(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "manifest.json").read_text())
    return data


@pytest.mark.parametrize("triple", FIRMWARE_TARGETS)
def test_every_firmware_has_elf_bin_hex_and_footprint(dist: Path, triple: str) -> None:
    arts = {a["path"]: a for a in manifest_of(dist)["artifacts"] if a["target"] == triple}
    base = f"{triple}/beacon-fw-0.3.1-{triple}"
    assert arts[f"{base}.elf"]["kind"] == "firmware"
    assert arts[f"{base}.bin"]["kind"] == "image" and arts[f"{base}.hex"]["kind"] == "image"
    fp = arts[f"{base}.elf"]["footprint"]
    assert fp["flash"] > 1000 and fp["flash_budget"] == 16384 and fp["ram_budget"] == 4096
    assert ".text" in fp["sections"] and ".rodata" in fp["sections"]
    assert fp["flash"] == sum(
        size for name, size in fp["sections"].items() if name not in (".bss",)
    )


@pytest.mark.parametrize("triple", FIRMWARE_TARGETS)
def test_images_equal_gnu_objcopy(dist: Path, triple: str, tmp_path: Path) -> None:
    """GNU objcopy from binutils-multiarch is the independent reference."""
    elf = dist / triple / f"beacon-fw-0.3.1-{triple}.elf"
    for fmt, ext in (("binary", ".bin"), ("ihex", ".hex")):
        ref = tmp_path / f"ref{ext}"
        subprocess.run(["objcopy", "-O", fmt, str(elf), str(ref)], check=True)
        assert elf.with_suffix(ext).read_bytes() == ref.read_bytes(), ext
    memory, start = firmware.parse_ihex(elf.with_suffix(".hex").read_text())
    image = elf.with_suffix(".bin").read_bytes()
    base = min(memory)
    assert bytes(memory.get(base + i, 0) for i in range(len(image))) == image
    assert start is not None


def test_smoke_tests_pass_for_every_target(dist: Path) -> None:
    res = relbuild_cmd("--config", CONFIG, "test", dist, "--json")
    assert res.returncode == 0, res.stderr[-3000:]
    results = json.loads(res.stdout)["results"]
    assert {r["target"] for r in results if r["status"] == "passed"} == {
        "x86_64-unknown-linux-gnu",
        "aarch64-unknown-linux-gnu",
        "armv7-unknown-linux-gnueabihf",
        "riscv64gc-unknown-linux-gnu",
        *FIRMWARE_TARGETS,
    }
    runners = {r["target"]: r["runner"][0] for r in results}
    assert runners["aarch64-unknown-linux-gnu"] == "qemu-aarch64"
    assert runners["thumbv7em-none-eabihf"] == "qemu-system-arm"
    assert runners["riscv32imac-unknown-none-elf"] == "qemu-system-riscv32"
    assert not (dist / "test-results.json").exists()  # results stay out of the dist


def test_size_shows_sections_budgets_and_growth(dist: Path, tmp_path: Path) -> None:
    old = tmp_path / "old.json"
    data = manifest_of(dist)
    for art in data["artifacts"]:
        if art["footprint"]:
            art["footprint"]["sections"][".text"] -= 100
            art["footprint"]["flash"] -= 100
    old.write_text(json.dumps(data))
    res = relbuild_cmd("size", dist, "--compare", old, "--json")
    assert res.returncode == 0, res.stderr
    entries = json.loads(res.stdout)["firmware"]
    assert len(entries) == 3
    text = next(r for r in entries[0]["sections"] if r["name"] == ".text")
    assert text["size"] - text["old"] == 100
    assert "+100" in res.stderr and "flash budget 16384" in res.stderr


def small_firmware_project(tmp_path: Path, extra: str = "") -> Path:
    return example_copy(
        tmp_path,
        '[[targets]]\ntriple = "thumbv7m-none-eabi"\ncomponents = ["beacon-fw"]\n'
        'linker = "ld.lld-19"\n' + extra,
    )[1]


def test_too_small_budget_fails_the_build(tmp_path: Path) -> None:
    config = small_firmware_project(tmp_path, "budget = { flash = 2048 }\n")
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    res = relbuild_cmd("--config", config, "build", "--out", tmp_path / "dist", env=env)
    assert res.returncode == 1
    assert "firmware over budget" in res.stderr
    assert "flash" in res.stderr and "is over its budget of 2048 B" in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "dist").exists()


@pytest.fixture
def fw_copy(dist: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "dist"
    shutil.copytree(dist, folder)
    return folder


def refresh_manifest(folder: Path, rel: str) -> None:
    """Re-record a patched file, as a tampering release manager would."""
    from relbuild.release.dist import Manifest, hash_file
    from relbuild.release.sums import SUMS, sums_text
    from relbuild.system.fsutil import atomic_write

    manifest = Manifest.model_validate_json((folder / "manifest.json").read_text())
    sha256, sha512, _, _ = hash_file(folder / rel)
    arts = [
        a.model_copy(update={"sha256": sha256, "sha512": sha512}) if a.path == rel else a
        for a in manifest.artifacts
    ]
    manifest = manifest.model_copy(update={"artifacts": arts})
    atomic_write(folder / "manifest.json", manifest.to_bytes())
    for algo, name in SUMS.items():
        atomic_write(folder / name, sums_text(arts, algo).encode())
    # The SBOM and provenance name the old digests: a tamperer drops them
    # (verify without --key accepts a dist without them; with one it would not).
    from relbuild.attest import ATTESTATION_FILES

    for name in ATTESTATION_FILES:
        (folder / name).unlink(missing_ok=True)


def test_entry_point_outside_flash_is_a_verify_finding(fw_copy: Path) -> None:
    rel = "thumbv7m-none-eabi/beacon-fw-0.3.1-thumbv7m-none-eabi.elf"
    path = fw_copy / rel
    data = bytearray(path.read_bytes())
    data[0x18:0x1C] = struct.pack("<I", 0x20008001)  # e_entry of ELF32: into RAM
    path.write_bytes(bytes(data))
    assert firmware.sanity_problems(bytes(data), TRIPLES["thumbv7m-none-eabi"], rel)
    refresh_manifest(fw_copy, rel)
    res = relbuild_cmd("verify", fw_copy, "--json")
    assert res.returncode == 1
    findings = json.loads(res.stdout)["findings"]
    assert [(f["kind"], f["path"]) for f in findings] == [("firmware", rel)]
    assert "entry point 0x20008001 is not in flash" in findings[0]["detail"]


def test_hanging_firmware_times_out(fw_copy: Path, tmp_path: Path) -> None:
    rel = "thumbv7m-none-eabi/beacon-fw-0.3.1-thumbv7m-none-eabi.elf"
    path = fw_copy / rel
    data = bytearray(path.read_bytes())
    seg = firmware.load_segments(bytes(data))[0]
    reset = struct.unpack("<I", seg.data[4:8])[0] & ~1
    # File offset of the reset handler: the segment holding it starts at its
    # p_offset; "b ." (0xe7fe) as its first instruction spins forever.
    from io import BytesIO

    from elftools.elf.elffile import ELFFile

    elf = ELFFile(BytesIO(bytes(data)))
    load = next(
        s
        for s in elf.iter_segments()
        if s["p_type"] == "PT_LOAD" and s["p_vaddr"] <= reset < s["p_vaddr"] + s["p_filesz"]
    )
    offset = load["p_offset"] + reset - load["p_vaddr"]
    data[offset : offset + 2] = b"\xfe\xe7"
    path.write_bytes(bytes(data))
    refresh_manifest(fw_copy, rel)
    config = tmp_path / "toolchains.toml"
    config.write_text(
        CONFIG.read_text()
        .replace('"examples/beacon', f'"{EXAMPLE}')
        .replace("ok$', timeout = 20", "ok$', timeout = 3")
    )
    res = relbuild_cmd("--config", config, "test", fw_copy, "--json")
    assert res.returncode == 1
    results = {r["path"]: r for r in json.loads(res.stdout)["results"]}
    assert results[rel]["status"] == "timed-out"
    assert 3 <= results[rel]["seconds"] < 20
    others = [r for p, r in results.items() if p != rel and r["status"] != "skipped"]
    assert others and all(r["status"] == "passed" for r in others)
