"""`relbuild build` on the bundled example, with the real cargo, go, zig and qemu."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from elftools.elf.elffile import ELFFile

from tests.conftest import CONFIG, REPO, CliResult
from tests.integration.conftest import example_copy, relbuild_cmd

TRIPLES = [
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "armv7-unknown-linux-gnueabihf",
    "riscv64gc-unknown-linux-gnu",
    "thumbv7m-none-eabi",
    "thumbv7em-none-eabihf",
    "riscv32imac-unknown-none-elf",
]
# Written out here rather than taken from relbuild's own table, so a wrong
# table cannot pass: (e_machine, ELF class, ARM float ABI flag or None).
EXPECTED_ELF = {
    "x86_64-unknown-linux-gnu": ("EM_X86_64", 64, None),
    "aarch64-unknown-linux-gnu": ("EM_AARCH64", 64, None),
    "armv7-unknown-linux-gnueabihf": ("EM_ARM", 32, 0x400),
    "riscv64gc-unknown-linux-gnu": ("EM_RISCV", 64, None),
    "thumbv7m-none-eabi": ("EM_ARM", 32, 0x200),
    "thumbv7em-none-eabihf": ("EM_ARM", 32, 0x400),
    "riscv32imac-unknown-none-elf": ("EM_RISCV", 32, None),
}
KERNEL_LINE = "beacon: crc32=0xcbf43926 fib(40)=102334155 frame=15B [rust kernel via cgo]"


def manifest_of(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "manifest.json").read_text())
    return data


def test_every_target_builds_its_components(dist: Path) -> None:
    manifest = manifest_of(dist)
    assert [t["triple"] for t in manifest["targets"]] == TRIPLES
    kinds = {(a["target"], a["kind"]) for a in manifest["artifacts"]}
    for triple in TRIPLES[:4]:
        assert {
            (triple, "staticlib"),
            (triple, "header"),
            (triple, "executable"),
            (triple, "archive"),
        } <= kinds
        assert (dist / triple / f"beacon-0.3.1-{triple}").is_file()
    for triple in TRIPLES[4:]:
        assert (triple, "firmware") in kinds
        assert (dist / triple / f"beacon-fw-0.3.1-{triple}.elf").is_file()
    # Rust before Go within every target, targets in the config's order.
    order = [(s["target"], s["tool"]) for s in manifest["steps"]]
    assert order[:2] == [(TRIPLES[0], "cargo"), (TRIPLES[0], "go")]
    assert [t for t, _ in order] == sorted([t for t, _ in order], key=TRIPLES.index)


def test_elf_headers_match_their_triple(dist: Path) -> None:
    checked = 0
    for art in manifest_of(dist)["artifacts"]:
        if art["kind"] not in ("executable", "firmware"):
            continue
        machine, cls, float_flag = EXPECTED_ELF[art["target"]]
        with (dist / art["path"]).open("rb") as fh:
            elf = ELFFile(fh)
            assert elf["e_machine"] == machine, art["path"]
            assert elf.elfclass == cls, art["path"]
            assert elf.little_endian, art["path"]
            if float_flag is not None and art["kind"] == "firmware":
                assert elf["e_flags"] & float_flag, (art["path"], hex(elf["e_flags"]))
            if art["target"] == "armv7-unknown-linux-gnueabihf":
                assert elf["e_flags"] & 0x400, "armv7 hf binary is not hard-float"
            dynamic = any(s.name == ".dynamic" for s in elf.iter_sections())
            # -gnu: linked against glibc, dynamically; firmware: static.
            assert dynamic == ("-linux-gnu" in art["target"]), art["path"]
        checked += 1
    assert checked == 7


def test_sums_files_pass_coreutils_check(dist: Path) -> None:
    for tool, sums in (("sha256sum", "SHA256SUMS"), ("sha512sum", "SHA512SUMS")):
        res = subprocess.run(
            [tool, "-c", sums], cwd=dist, capture_output=True, text=True, check=False
        )
        assert res.returncode == 0, res.stdout + res.stderr
        assert res.stdout.count(": OK") == len(manifest_of(dist)["artifacts"])


@pytest.mark.parametrize(
    ("triple", "qemu"),
    [
        ("aarch64-unknown-linux-gnu", "qemu-aarch64"),
        ("armv7-unknown-linux-gnueabihf", "qemu-arm"),
        ("riscv64gc-unknown-linux-gnu", "qemu-riscv64"),
    ],
)
def test_go_programs_run_under_qemu_user(dist: Path, triple: str, qemu: str) -> None:
    from relbuild.config.triples import TRIPLES as TABLE

    exe = dist / triple / f"beacon-0.3.1-{triple}"
    # A -gnu program is linked against glibc, dynamically: QEMU loads the
    # target's glibc from Debian's cross sysroot (libc6-<arch>-cross).
    sysroot = TABLE[triple].gnu_sysroot
    assert sysroot is not None
    runner = [qemu, "-L", sysroot, str(exe)]
    res = subprocess.run(runner, capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == KERNEL_LINE
    version = subprocess.run(
        [*runner, "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert version.stdout.strip() == "beacon 0.3.1 (rust kernel via cgo, ABI 1)"


def test_host_program_runs_natively(dist: Path) -> None:
    exe = dist / TRIPLES[0] / f"beacon-0.3.1-{TRIPLES[0]}"
    assert os.stat(exe).st_mode & 0o777 == 0o755
    res = subprocess.run([str(exe)], capture_output=True, text=True, timeout=30, check=False)
    assert res.stdout.strip() == KERNEL_LINE


def test_outputs_are_normalized(dist: Path) -> None:
    manifest = manifest_of(dist)
    epoch = manifest["source"]["source_date_epoch"]
    for path in [dist, *dist.rglob("*")]:
        st = path.stat()
        assert int(st.st_mtime) == epoch, path
        assert st.st_mode & 0o777 in (0o644, 0o755), path
    for art in manifest["artifacts"]:
        assert oct((dist / art["path"]).stat().st_mode & 0o777)[2:] == art["mode"].lstrip("0")


def test_manifest_holds_no_machine_specifics(dist: Path) -> None:
    text = (dist / "manifest.json").read_text()
    for leak in (str(REPO), str(Path.home()), str(dist), "/tmp/"):
        assert leak not in text, f"manifest leaks {leak!r}"
    host = socket.gethostname()
    assert not re.search(rf"(?<![\w.-]){re.escape(host)}(?![\w.-])", text), f"leaks {host!r}"
    manifest = json.loads(text)
    assert manifest["schema_version"] == 1
    assert manifest["toolchains"]["rust"]["release"] == "1.96.0"
    assert manifest["toolchains"]["go"]["release"] == "1.26.8"
    assert manifest["toolchains"]["zig"]["release"] == "0.15.2"
    crates = {c["name"]: c for c in manifest["dependencies"]["rust"]}
    assert crates["crc"]["checksum"] and crates["crc"]["version"].startswith("3.")
    assert "crc-catalog" in crates
    mods = {m["path"]: m for m in manifest["dependencies"]["go"]}
    assert mods["github.com/spf13/pflag"]["sum"].startswith("h1:")
    go_step = next(s for s in manifest["steps"] if s["tool"] == "go")
    assert "-trimpath" in go_step["argv"] and "-buildvcs=false" in go_step["argv"]
    assert go_step["env"]["CC"].startswith("${CACHE}/tools/cc-")
    cargo_step = next(s for s in manifest["steps"] if s["tool"] == "cargo")
    assert "--locked" in cargo_step["argv"]
    assert cargo_step["env"]["CARGO_PROFILE_RELEASE_CODEGEN_UNITS"] == "1"
    assert (
        "--remap-path-prefix=${ROOT}=/build/beacon" in cargo_step["env"]["CARGO_ENCODED_RUSTFLAGS"]
    )


def test_second_build_is_byte_identical(dist: Path, tmp_path: Path) -> None:
    again = tmp_path / "dist2"
    res = relbuild_cmd("--config", CONFIG, "build", "--out", again)
    assert res.returncode == 0, res.stderr[-3000:]
    assert (again / "manifest.json").read_bytes() == (dist / "manifest.json").read_bytes()
    for art in manifest_of(dist)["artifacts"]:
        assert (again / art["path"]).read_bytes() == (dist / art["path"]).read_bytes()


# --- failures, on a copy of the example ---------------------------------------


def small_project(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the example with a config for the host target only."""
    return example_copy(
        tmp_path,
        '[[targets]]\ntriple = "x86_64-unknown-linux-gnu"\ncomponents = ["beacon-ffi", "beacon"]\n',
    )


def env_with_epoch(epoch: str = "1700000000") -> dict[str, str]:
    return {**os.environ, "SOURCE_DATE_EPOCH": epoch}


def test_failing_step_is_reported_and_old_dist_kept(tmp_path: Path) -> None:
    project, config = small_project(tmp_path)
    out = tmp_path / "dist"
    env = env_with_epoch()
    first = relbuild_cmd("--config", config, "build", "--out", out, env=env)
    assert first.returncode == 0, first.stderr[-2000:]
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    main_go = project / "cmd" / "beacon" / "main.go"
    main_go.write_text(
        main_go.read_text().replace("func main() {", "func main() {\n\tundefinedCall()")
    )
    res = relbuild_cmd("--config", config, "build", "--out", out, env=env)
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    assert "step x86_64-unknown-linux-gnu / beacon (go) failed with exit code 1" in res.stderr
    assert "undefined: undefinedCall" in res.stderr  # the tail of its log
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before, "the earlier dist was touched"
    assert not list(tmp_path.glob(".dist.staging-*")), "staging folder left behind"


def test_interrupted_build_leaves_no_manifest(tmp_path: Path) -> None:
    _, config = small_project(tmp_path)
    out = tmp_path / "dist"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "relbuild",
            "--config",
            str(config),
            "build",
            "--out",
            str(out),
            "--cache-dir",
            str(tmp_path / "cold-cache"),
        ],
        env=env_with_epoch(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not list((tmp_path / "cold-cache").glob("logs/*/*.log")):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert not out.exists()
    assert not list(tmp_path.glob(".dist.staging-*"))


def test_malformed_source_date_epoch_is_refused(tmp_path: Path) -> None:
    _, config = small_project(tmp_path)
    res = relbuild_cmd(
        "--config", config, "build", "--out", tmp_path / "d", env=env_with_epoch("yesterday")
    )
    assert res.returncode == 2
    assert "SOURCE_DATE_EPOCH must be whole seconds" in res.stderr
    assert "Traceback" not in res.stderr


def test_refuses_to_replace_a_folder_that_is_not_a_dist(tmp_path: Path) -> None:
    _, config = small_project(tmp_path)
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    res = relbuild_cmd("--config", config, "build", "--out", out, env=env_with_epoch())
    assert res.returncode == 2
    assert "not a relbuild dist" in res.stderr
    assert (out / "notes.txt").read_text() == "keep me"


def test_go_step_reruns_when_its_sources_change(tmp_path: Path) -> None:
    project, config = small_project(tmp_path)
    out = tmp_path / "dist"
    env = env_with_epoch()
    assert relbuild_cmd("--config", config, "build", "--out", out, env=env).returncode == 0
    noop = relbuild_cmd("--config", config, "build", "--out", out, env=env)
    assert "beacon (up to date)" in noop.stderr
    kernel = project / "internal" / "kernel" / "kernel.go"
    kernel.write_text(kernel.read_text().replace('"123456789"', '"12345678X"'))
    changed = relbuild_cmd("--config", config, "build", "--out", out, env=env)
    assert changed.returncode == 0
    assert "beacon (up to date)" not in changed.stderr
    exe = out / "x86_64-unknown-linux-gnu" / "beacon-0.3.1-x86_64-unknown-linux-gnu"
    assert (
        "crc32=0xcbf43926"
        not in subprocess.run([str(exe)], capture_output=True, text=True, check=False).stdout
    )


def test_plan_json_lists_steps_without_running(
    relbuild: Callable[..., CliResult], tmp_path: Path
) -> None:
    _, config = small_project(tmp_path)
    code, out, err = relbuild("--config", config, "plan", "--json", "--source-date-epoch", "1")
    assert code == 0, err
    plan = json.loads(out)
    assert [(s["component"], s["tool"]) for s in plan["steps"]] == [
        ("beacon-ffi", "cargo"),
        ("beacon", "go"),
    ]
    assert plan["steps"][1]["env"]["CGO_ENABLED"] == "1"
    assert plan["steps"][0]["env"]["SOURCE_DATE_EPOCH"] == "1"
    assert not (tmp_path / "dist").exists()
