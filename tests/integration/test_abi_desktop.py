"""The ABI check on Windows and macOS targets, on real builds of the small
cgo project of test_abi.py (tests/fixtures/abi-lab, a no_std staticlib:
cargo builds only `core` from source for these triples).

Cost: two `relbuild abi` runs in one copy and cache (cargo only, no Go
link): the project as it is for x86_64-pc-windows-gnu and
aarch64-apple-darwin (core from source for each: the bulk of the time),
then with a function whose header says `long` where Rust says `i64`, for
x86_64 Linux too, where that agrees (LP64), as on macOS; only Windows
(LLP64: `long` is 4 bytes) must find it.
"""

from __future__ import annotations

import json
import shutil

import pytest

from tests.integration.conftest import relbuild_cmd
from tests.integration.test_abi import ARM, FIXTURE, X86, Run, env, lab_config, patch

WINDOWS = "x86_64-pc-windows-gnu"
MAC = "aarch64-apple-darwin"

# A header that says `long` for a Rust `i64`: right on LP64 only.
LONG_VS_I64 = [
    ("include/lab.h", "#endif", "/* x doubled. */\nlong lab_wide(long x);\n\n#endif"),
    (
        "src/lib.rs",
        "#[cfg(target_os",
        '#[no_mangle]\npub extern "C" fn lab_wide(x: i64) -> i64 {\n    x.wrapping_mul(2)\n}\n\n'
        "#[cfg(target_os",
    ),
]


def _config() -> str:
    # test_abi's project, with Windows and macOS in place of 32-bit ARM.
    arm = f'[[targets]]\ntriple = "{ARM}"\ncomponents = ["lab", "labtool"]\n'
    extra = "".join(
        f'[[targets]]\ntriple = "{t}"\ncomponents = ["lab", "labtool"]\n\n' for t in (WINDOWS, MAC)
    )
    text = lab_config()
    assert arm in text
    return text.replace(arm, extra)


@pytest.fixture(scope="session")
def desktop_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    base = tmp_path_factory.mktemp("abi-desktop")
    shutil.copytree(FIXTURE, base / "lab")
    config = base / "toolchains.toml"
    config.write_text(_config())
    out: dict[str, Run] = {}
    for name, targets, edits in (
        ("clean", (WINDOWS, MAC), []),
        ("long", (X86, WINDOWS, MAC), LONG_VS_I64),
    ):
        patch(base / "lab", edits)
        args = [a for t in targets for a in ("--target", t)]
        res = relbuild_cmd(
            "--config", config, "abi", *args, "--cache-dir", base / "cache", "--json", env=env()
        )
        report = json.loads(res.stdout) if res.stdout.strip() else {}
        out[name] = Run(res.returncode, report, res.stderr)
    return out


def _signatures(run: Run, target: str) -> dict[str, str]:
    lib = next(lib for lib in run.report["libraries"] if lib["target"] == target)
    return {c["name"]: c["signature"] for c in lib["checked"]}


def test_a_clean_boundary_passes_on_windows_and_macos(desktop_runs: dict[str, Run]) -> None:
    run = desktop_runs["clean"]
    assert run.code == 0, run.stderr
    assert run.report["targets"] == [WINDOWS, MAC]
    expected = {
        "lab_checksum": "fn(*u8, u64) -> u32",
        "lab_scale": "fn(i32, i32) -> i32",
        "lab_stats_read": "fn(*struct LabStats) -> i32",
        "lab_sum": "fn(*u32, u64) -> u64",
        "lab_version": "fn() -> u32",
        "struct lab_stats": "struct LabStats {u32 @0, u32 @4} size 8",
    }
    for target in (WINDOWS, MAC):
        # Every function's signature read from the COFF / Mach-O DWARF of
        # both sides (none left "not checked"): the check really ran.
        assert _signatures(run, target) == expected
        assert f"{target}: lab: 5 function(s), 1 struct(s) checked: all agree" in run.stderr


def test_long_against_i64_fails_on_windows_only(desktop_runs: dict[str, Run]) -> None:
    run = desktop_runs["long"]
    assert run.code == 1, run.stderr
    assert run.findings(X86) == [] and run.findings(MAC) == []
    assert _signatures(run, X86)["lab_wide"] == "fn(i64) -> i64"
    assert _signatures(run, MAC)["lab_wide"] == "fn(i64) -> i64"
    found = {f["kind"]: f for f in run.findings(WINDOWS)}
    assert sorted(found) == ["param-size", "return-type"]
    f = found["param-size"]
    assert (f["symbol"], f["library"]) == ("lab_wide", "lab")
    assert f["message"] == (
        "parameter 1: `long x` in the header is 4 bytes against 8 bytes `x: i64` in the Rust export"
    )
    header, rust = f["sides"]
    assert (header["file"], header["declaration"]) == ("include/lab.h", "long lab_wide(long x)")
    assert (rust["file"], rust["declaration"]) == ("src/lib.rs", "fn lab_wide(x: i64) -> i64")
    assert found["return-type"]["message"] == (
        "returns `long` in the header: 4 bytes against 8 bytes `i64` in the Rust export"
    )
    assert f"{WINDOWS}: lab: 6 function(s), 1 struct(s) checked: 2 finding(s)" in run.stderr
    assert f"{MAC}: lab: 6 function(s), 1 struct(s) checked: all agree" in run.stderr
    assert "Traceback" not in run.stderr
