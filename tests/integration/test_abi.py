"""The ABI check on real builds: a small cgo project (tests/fixtures/abi-lab)
that passes, patched with one deliberate defect at a time, each caught with
a clear finding; the check as a build stage with an opt-out; and `relbuild
diff` between two releases whose C boundary changed.

Cost: the project is copied once; each defect is one `relbuild abi` (cargo
only, no Go link) for x86_64 in the same copy and cache, so cargo rebuilds
one small crate per patch. Only the usize defect also runs for 32-bit ARM,
which is where it agrees. Three `relbuild build`s of x86_64 show the build
stage and the diff.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CONFIG, REPO
from tests.integration.conftest import relbuild_cmd

FIXTURE = REPO / "tests" / "fixtures" / "abi-lab"
X86 = "x86_64-unknown-linux-gnu"
ARM = "armv7-unknown-linux-gnueabihf"
EPOCH = "1700000000"

OWN_DECLARATIONS = """#include <stddef.h>
#include <stdint.h>
struct lab_stats { uint32_t count; uint32_t total; };
uint32_t lab_version(void);
int32_t lab_scale(int32_t value, int64_t by);
uint32_t lab_checksum(const uint8_t *data, size_t len);
int32_t lab_stats_read(struct lab_stats *out);"""

# name -> (targets, [(file, old, new)])
DEFECTS: dict[str, tuple[tuple[str, ...], list[tuple[str, str, str]]]] = {
    "clean": ((X86,), []),
    "usize": ((X86, ARM), [("cmd/lab/main.go", "size_t n);", "uint32_t n);")]),
    "missing-export": ((X86,), [("src/lib.rs", "fn lab_checksum(", "fn lab_checksum32(")]),
    "extra-parameter": (
        (X86,),
        [
            (
                "src/lib.rs",
                "lab_scale(value: i32, by: i32)",
                "lab_scale(value: i32, by: i32, _round: i32)",
            )
        ],
    ),
    "signedness": (
        (X86,),
        [
            ("src/lib.rs", "lab_scale(value: i32, by: i32)", "lab_scale(value: i32, by: u32)"),
            ("src/lib.rs", "value.saturating_mul(by)", "value.saturating_mul(by as i32)"),
        ],
    ),
    "struct-field": (
        (X86,),
        [("src/lib.rs", "    pub total: u32,\n}", "    pub total: u32,\n    pub errors: u32,\n}")],
    ),
    "header-vs-cgo": ((X86,), [("cmd/lab/main.go", '#include "lab.h"', OWN_DECLARATIONS)]),
    "bad-preamble": (
        (X86,),
        [("cmd/lab/main.go", "uint64_t lab_sum(", "int broken(;\nuint64_t lab_sum(")],
    ),
}


def lab_config(extra_go: str = "", version: str = "0.1.0") -> str:
    pins = CONFIG.read_text()
    pins = pins[pins.index("[toolchains.rust]") : pins.index("[rust.beacon-ffi]")]
    return f"""schema-version = 1

[project]
name = "lab"
version = "{version}"
root = "lab"
license-files = ["Cargo.toml"]
archive = "none"

{pins}
[rust.lab]
kind = "staticlib"
header = "include/lab.h"

[go.labtool]
package = "./cmd/lab"
links = ["lab"]
{extra_go}

[[targets]]
triple = "{X86}"
components = ["lab", "labtool"]

[[targets]]
triple = "{ARM}"
components = ["lab", "labtool"]
"""


def patch(project: Path, edits: list[tuple[str, str, str]]) -> None:
    for rel, old, new in edits:
        path = project / rel
        text = path.read_text()
        assert old in text, (rel, old)
        path.write_text(text.replace(old, new, 1))


def env() -> dict[str, str]:
    return {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}


@dataclass
class Run:
    code: int
    report: dict[str, Any]
    stderr: str

    def findings(self, target: str = X86) -> list[dict[str, Any]]:
        return [f for f in self.report.get("findings", []) if f["target"] == target]


def new_lab(base: Path, extra_go: str = "", version: str = "0.1.0") -> Path:
    shutil.copytree(FIXTURE, base / "lab")
    (base / "toolchains.toml").write_text(lab_config(extra_go, version))
    return base / "toolchains.toml"


@pytest.fixture(scope="session")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """`relbuild abi --json` of the project as it is and with each defect."""
    base = tmp_path_factory.mktemp("abi-lab")
    config = new_lab(base)
    cache = base / "cache"
    pristine = {p: p.read_text() for p in (base / "lab").rglob("*") if p.is_file()}
    out: dict[str, Run] = {}
    for name, (targets, edits) in DEFECTS.items():
        patch(base / "lab", edits)
        args = [a for t in targets for a in ("--target", t)]
        res = relbuild_cmd(
            "--config", config, "abi", *args, "--cache-dir", cache, "--json", env=env()
        )
        report = json.loads(res.stdout) if res.stdout.strip() else {}
        out[name] = Run(res.returncode, report, res.stderr)
        for path, text in pristine.items():
            path.write_text(text)
    return out


def only(run: Run, target: str = X86) -> dict[str, Any]:
    found = run.findings(target)
    assert len(found) == 1, (found, run.stderr)
    return found[0]


def test_a_clean_boundary_passes(runs: dict[str, Run]) -> None:
    run = runs["clean"]
    assert run.code == 0, run.stderr
    assert run.report["ok"] is True
    (lib,) = run.report["libraries"]
    checked = {c["name"]: c["signature"] for c in lib["checked"]}
    assert checked == {
        "lab_checksum": "fn(*u8, u64) -> u32",
        "lab_scale": "fn(i32, i32) -> i32",
        "lab_stats_read": "fn(*struct LabStats) -> i32",
        "lab_sum": "fn(*u32, u64) -> u64",
        "lab_version": "fn() -> u32",
        "struct lab_stats": "struct LabStats {u32 @0, u32 @4} size 8",
    }
    assert f"{X86}: lab: 5 function(s), 1 struct(s) checked: all agree" in run.stderr


def test_usize_against_uint32_fails_on_64_bit_and_agrees_on_32_bit_arm(
    runs: dict[str, Run],
) -> None:
    run = runs["usize"]
    assert run.code == 1
    f = only(run)
    assert (f["kind"], f["symbol"], f["library"], f["program"]) == (
        "param-size",
        "lab_sum",
        "lab",
        "labtool",
    )
    assert f["message"] == (
        "parameter 2: `uint32_t n` in the cgo preamble is 4 bytes against 8 bytes "
        "`n: usize` in the Rust export"
    )
    cgo_side, rust_side = f["sides"]
    assert (cgo_side["origin"], cgo_side["file"], cgo_side["line"]) == ("cgo", "cmd/lab/main.go", 9)
    assert cgo_side["declaration"] == "uint64_t lab_sum(const uint32_t *xs, uint32_t n)"
    assert (rust_side["origin"], rust_side["file"]) == ("rust", "src/lib.rs")
    assert rust_side["line"] and rust_side["line"] > 40
    assert rust_side["declaration"] == "fn lab_sum(xs: *const u32, n: usize) -> u64"
    # The same declarations agree on 32-bit ARM, and the report says so.
    assert run.findings(ARM) == []
    arm = next(lib for lib in run.report["libraries"] if lib["target"] == ARM)
    assert {c["name"]: c["signature"] for c in arm["checked"]}["lab_sum"] == "fn(*u32, u32) -> u64"
    assert f"{ARM}: lab: 5 function(s), 1 struct(s) checked: all agree" in run.stderr
    assert f"{X86}: lab: 5 function(s), 1 struct(s) checked: 1 finding(s)" in run.stderr


def test_a_header_function_the_staticlib_does_not_export(runs: dict[str, Run]) -> None:
    f = only(runs["missing-export"])
    assert runs["missing-export"].code == 1
    assert (f["kind"], f["symbol"]) == ("missing-export", "lab_checksum")
    assert f["message"] == "declared in the header but not exported by liblab.a"
    header = f["sides"][0]
    assert (header["file"], header["line"]) == ("include/lab.h", 19)


def test_an_extra_parameter(runs: dict[str, Run]) -> None:
    f = only(runs["extra-parameter"])
    assert f["kind"] == "param-count"
    assert f["message"] == (
        "2 parameter(s) in the header, 3 in the Rust export; "
        "extra: `_round: i32` in the Rust export"
    )
    assert f["sides"][0]["line"] == 16


def test_a_signed_unsigned_swap(runs: dict[str, Run]) -> None:
    f = only(runs["signedness"])
    assert (f["kind"], f["symbol"]) == ("param-signedness", "lab_scale")
    assert f["message"] == (
        "parameter 2: `int32_t by` in the header is signed against unsigned `by: u32` "
        "in the Rust export"
    )


def test_a_struct_field_added_on_the_rust_side_only(runs: dict[str, Run]) -> None:
    f = only(runs["struct-field"])
    assert (f["kind"], f["symbol"]) == ("struct-layout", "struct lab_stats")
    assert f["message"] == (
        "size is 8 bytes in the header, 12 in the Rust export; the Rust export has a field "
        "`errors` (u32 at offset 8) that the header lacks"
    )
    header, rust = f["sides"]
    assert (header["file"], header["line"]) == ("include/lab.h", 8)
    assert rust["file"] == "src/lib.rs"
    assert rust["declaration"] == "struct LabStats {u32 @0, u32 @4, u32 @8} size 12"


def test_a_cgo_preamble_that_differs_from_the_header(runs: dict[str, Run]) -> None:
    f = only(runs["header-vs-cgo"])
    assert (f["kind"], f["symbol"]) == ("cgo-differs", "lab_scale")
    assert f["message"] == (
        "parameter 2: `int64_t by` in the cgo preamble is 8 bytes against 4 bytes "
        "`int32_t by` in the header"
    )
    assert [(s["origin"], s["file"]) for s in f["sides"]] == [
        ("cgo", "cmd/lab/main.go"),
        ("header", "include/lab.h"),
    ]


def test_unreadable_c_is_exit_2_naming_the_file_and_line(runs: dict[str, Run]) -> None:
    run = runs["bad-preamble"]
    assert run.code == 2
    assert "cmd/lab/main.go:9" in run.stderr
    assert "Traceback" not in run.stderr


def build(config: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return relbuild_cmd(
        "--config", config, "build", "--target", X86, "--out", out, "--json", env=env()
    )


def test_the_build_fails_on_a_finding_records_an_opt_out_and_diff_shows_abi_changes(
    tmp_path: Path,
) -> None:
    # A defect that Go compiles and the linker accepts: only the check sees it.
    config = new_lab(tmp_path / "old")
    patch(tmp_path / "old" / "lab", DEFECTS["signedness"][1])
    res = build(config, tmp_path / "old" / "dist")
    assert res.returncode == 1
    assert "the ABI check found 1 problem(s) at the C boundary" in res.stderr
    assert f"{X86}: lab_scale [param-signedness, lab]" in res.stderr
    assert "header include/lab.h:16: int32_t lab_scale(int32_t value, int32_t by)" in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "old" / "dist").exists()

    reason = "by is never negative; the header is fixed in 0.3"
    allow = f'abi-allow = {{ lab_scale = "{reason}" }}'
    config.write_text(
        lab_config().replace('header = "include/lab.h"', f'header = "include/lab.h"\n{allow}')
    )
    res = build(config, tmp_path / "old" / "dist")
    assert res.returncode == 0, res.stderr[-3000:]
    manifest = json.loads((tmp_path / "old" / "dist" / "manifest.json").read_text())
    (record,) = manifest["abi"]
    assert (record["target"], record["component"]) == (X86, "lab")
    (waiver,) = record["waived"]
    assert (waiver["symbol"], waiver["reason"]) == ("lab_scale", reason)
    assert waiver["finding"].startswith("param-signedness: parameter 2")
    assert {s["name"] for s in record["symbols"]} == {
        "lab_checksum",
        "lab_scale",
        "lab_stats_read",
        "lab_sum",
        "lab_version",
        "struct lab_stats",
    }

    # The next release adds a function and changes a signature on both sides.
    config2 = new_lab(tmp_path / "new", version="0.2.0")
    config2.write_text(config.read_text().replace('version = "0.1.0"', 'version = "0.2.0"'))
    project2 = tmp_path / "new" / "lab"
    patch(project2, DEFECTS["signedness"][1])
    patch(
        project2,
        [
            ("include/lab.h", "uint32_t lab_version(void);", "uint64_t lab_version(void);"),
            ("include/lab.h", "#endif", "void lab_reset(void);\n\n#endif"),
            ("src/lib.rs", "fn lab_version() -> u32 {", "fn lab_version() -> u64 {"),
            (
                "src/lib.rs",
                "#[cfg(target_os",
                '#[no_mangle]\npub extern "C" fn lab_reset() {}\n\n#[cfg(target_os',
            ),
        ],
    )
    res = build(config2, tmp_path / "new" / "dist")
    assert res.returncode == 0, res.stderr[-3000:]
    diff = relbuild_cmd("diff", tmp_path / "old" / "dist", tmp_path / "new" / "dist", "--json")
    assert diff.returncode == 1
    changes = [c for c in json.loads(diff.stdout)["changes"] if c["section"] == "abi"]
    assert [(c["change"], c["name"], c["old"], c["new"]) for c in changes] == [
        ("added", f"lab {X86} lab_reset", None, "fn() -> void"),
        ("changed", f"lab {X86} lab_version", "fn() -> u32", "fn() -> u64"),
    ]
