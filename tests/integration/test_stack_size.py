"""The worst-case stack in the firmware's RAM and the flash split by crate,
on real builds: the example's own firmware (the session's `dist`), and
variants of a copy of the example for thumbv7m-none-eabi, built one after
another in one copy (cargo rebuilds only what changed): a 3 KB stack array,
a RAM budget below it, a recursive function with and without the waiver,
and the build without -Zemit-stack-sizes whose images must not differ."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CONFIG
from tests.integration.conftest import example_copy, relbuild_cmd
from tests.integration.test_embedded import FIRMWARE_TARGETS, manifest_of

THUMB = "thumbv7m-none-eabi"
TARGET = f'[[targets]]\ntriple = "{THUMB}"\ncomponents = ["beacon-fw"]\nlinker = "ld.lld-19"\n'
WAIVER = re.compile(r"^stack-unbounded = .*\n", re.MULTILINE)
CALL = "    let mut line = rt::Line::new();\n"

# The report is made on top of the array, on the path that was deepest: a
# 3 KB frame beside it (a sibling call) would grow the worst case by 3 KB
# less the deepest sibling's own depth, which is what relbuild reports.
BIG = """
#[cfg(target_os = "none")]
#[inline(never)]
fn stack_variant() -> u32 {
    let mut buf = [0u8; 3072];
    core::hint::black_box(&mut buf);
    let mut line = rt::Line::new();
    let _ = core::hint::black_box(report(&mut line));
    buf.iter().map(|&b| b as u32).sum()
}
"""
RECURSIVE = """
#[cfg(target_os = "none")]
#[inline(never)]
fn stack_variant() -> u32 {
    countdown(core::hint::black_box(3))
}

#[cfg(target_os = "none")]
#[inline(never)]
fn countdown(n: u32) -> u32 {
    let mut b = [n as u8; 8];
    core::hint::black_box(&mut b);
    if n == 0 {
        return b[0] as u32;
    }
    countdown(core::hint::black_box(n - 1)) + b[1] as u32
}
"""


def elf_of(folder: Path, triple: str = THUMB) -> str:
    return f"{triple}/beacon-fw-0.3.1-{triple}.elf"


def footprint(folder: Path, triple: str = THUMB) -> dict[str, Any]:
    arts = {a["path"]: a for a in manifest_of(folder)["artifacts"]}
    fp: dict[str, Any] = arts[elf_of(folder, triple)]["footprint"]
    return fp


@pytest.fixture(scope="session")
def variants(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """name -> (exit code, stderr, dist folder) of each build of the copy."""
    tmp = tmp_path_factory.mktemp("stack-variants")
    project, config = example_copy(tmp, TARGET)
    # The example's build (`dist`) compiled core for this target in the
    # sandbox's fixed paths: its cargo folder makes these builds incremental.
    warm = CONFIG.parent / ".relbuild" / "cargo" / THUMB
    if warm.is_dir():
        shutil.copytree(warm, tmp / ".relbuild" / "cargo" / THUMB, symlinks=True)
    main_rs = project / "crates" / "beacon-fw" / "src" / "main.rs"
    source, settings = main_rs.read_text(), config.read_text()
    assert CALL in source and WAIVER.search(settings)
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    out: dict[str, Any] = {}

    def build(name: str, code: str = "", conf: str = settings) -> None:
        variant = source.replace(CALL, CALL + "    core::hint::black_box(stack_variant());\n")
        main_rs.write_text(variant + code if code else source)
        config.write_text(conf)
        folder = tmp / f"dist-{name}"
        res = relbuild_cmd("--config", config, "build", "--out", folder, env=env)
        out[name] = (res.returncode, res.stderr, folder)

    build("base")
    build("big", BIG)
    build("big-budget", BIG, settings.replace("ram = 4096", "ram = 3000"))
    build("recursive", RECURSIVE, WAIVER.sub("", settings))
    build("recursive-waived", RECURSIVE)
    build("no-flag", "", settings + 'rustflags = ["-Zemit-stack-sizes=no"]\n')
    return out


def ok(variants: dict[str, Any], name: str) -> Path:
    code, stderr, folder = variants[name]
    assert code == 0, stderr[-3000:]
    return Path(folder)


@pytest.mark.parametrize("triple", FIRMWARE_TARGETS)
def test_example_ram_counts_the_stack_and_names_its_path(dist: Path, triple: str) -> None:
    fp = footprint(dist, triple)
    sections = fp["sections"]
    assert fp["stack"] > 100
    assert fp["ram"] == sections.get(".data", 0) + sections.get(".bss", 0) + fp["stack"]
    assert fp["ram"] <= fp["ram_budget"] == 4096  # the example's own budget holds
    assert fp["stack_path"][0] in ("Reset", "_start")
    assert "beacon_fw::firmware_main" in fp["stack_path"]
    # core::fmt writes through `dyn Write`: named, and waived in toolchains.toml.
    assert "indirect call: core::fmt::write" in fp["stack_lower_bound"]
    waivers = manifest_of(dist)["waivers"]
    assert {"component": "beacon-fw", "check": "stack-unbounded"}.items() <= waivers[0].items()


def test_size_shows_the_stack_and_crates_add_up_to_flash(dist: Path) -> None:
    res = relbuild_cmd("size", dist, "--crates", "--symbols", "--json")
    assert res.returncode == 0, res.stderr
    entries = json.loads(res.stdout)["firmware"]
    assert len(entries) == 3
    for e in entries:
        total = sum(r["size"] for r in e["crates"])
        assert abs(total - e["flash"]) <= e["flash"] / 100
        named = {r["name"] for r in e["crates"]}
        assert {"core", "beacon_fw", "compiler_builtins"} <= named
        unknown = next(r["size"] for r in e["crates"] if r["name"] == "?")
        assert unknown < e["flash"] / 2
    assert "deepest stack path: Reset -> " in res.stderr and "flash per crate" in res.stderr


@pytest.mark.parametrize("triple", FIRMWARE_TARGETS)
def test_shipped_elf_has_no_stack_sizes_and_nm_agrees(dist: Path, triple: str) -> None:
    elf = dist / elf_of(dist, triple)
    headers = subprocess.run(
        ["readelf", "-SW", str(elf)], capture_output=True, text=True, check=True
    )
    assert ".text" in headers.stdout and ".stack_sizes" not in headers.stdout
    assert "warning" not in headers.stderr.lower()
    size_rel = elf_of(dist, triple).removesuffix(".elf") + ".size.json"
    kinds = {a["path"]: a["kind"] for a in manifest_of(dist)["artifacts"]}
    assert kinds[size_rel] == "file"
    split = json.loads((dist / size_rel).read_text())
    # GNU nm reads the same sizes from the ELF: the largest function's.
    nm = subprocess.run(
        ["nm", "-S", "--size-sort", "-C", str(elf)], capture_output=True, text=True, check=True
    )
    sizes = {line.split(" ", 3)[3]: int(line.split()[1], 16) for line in nm.stdout.splitlines()}
    top = next(s for s in split["symbols"] if s["section"] == ".text")
    assert sizes[top["name"]] == top["size"]


def test_a_3kb_stack_array_grows_ram_and_fails_a_smaller_budget(variants: dict[str, Any]) -> None:
    base, big = footprint(ok(variants, "base")), footprint(ok(variants, "big"))
    assert big["ram"] - base["ram"] >= 3072
    assert "beacon_fw::stack_variant" in big["stack_path"]
    code, stderr, folder = variants["big-budget"]
    assert code == 1 and not folder.exists()
    assert "is over its budget of 3000 B" in stderr and "Traceback" not in stderr


def test_recursion_is_named_and_fails_the_budget_unless_waived(variants: dict[str, Any]) -> None:
    code, stderr, folder = variants["recursive"]
    assert code == 1 and not folder.exists()
    assert "recursion: beacon_fw::countdown -> beacon_fw::countdown" in stderr
    assert "stack-unbounded" in stderr  # the hint names the waiver
    fp = footprint(ok(variants, "recursive-waived"))
    assert "recursion: beacon_fw::countdown -> beacon_fw::countdown" in fp["stack_lower_bound"]


def test_images_do_not_change_with_the_stack_sizes_flag(variants: dict[str, Any]) -> None:
    base, plain = ok(variants, "base"), ok(variants, "no-flag")
    assert footprint(plain)["stack_lower_bound"] == [
        "not measured: the ELF has no .stack_sizes section"
    ]
    assert footprint(base)["stack"] > 0
    for ext in (".bin", ".hex"):
        rel = elf_of(base).removesuffix(".elf") + ext
        assert (base / rel).read_bytes() == (plain / rel).read_bytes(), ext
