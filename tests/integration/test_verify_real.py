"""verify, manifest and diff on a real build of the example."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import relbuild_cmd

TOOL = "aarch64-unknown-linux-gnu/beacon-0.3.1-aarch64-unknown-linux-gnu"
FIRMWARE = "thumbv7m-none-eabi/beacon-fw-0.3.1-thumbv7m-none-eabi.elf"


@pytest.fixture
def copy(dist: Path, tmp_path: Path) -> Path:
    target = tmp_path / "dist"
    shutil.copytree(dist, target, symlinks=True)
    return target


def verify(folder: Path, *extra: str) -> tuple[int, dict[str, object], str]:
    res = relbuild_cmd("verify", folder, "--json", *extra)
    assert "Traceback" not in res.stderr
    return res.returncode, json.loads(res.stdout) if res.stdout else {}, res.stderr


def findings(report: dict[str, object]) -> list[tuple[str, str]]:
    return [(f["kind"], f["path"]) for f in report["findings"]]  # type: ignore[attr-defined]


def test_fresh_dist_passes(dist: Path) -> None:
    code, report, err = verify(dist)
    assert code == 0, err
    # 28, and per firmware its size file, UF2 and two MCUboot images.
    assert report["ok"] is True and report["artifacts"] == 40


def test_flipped_byte(copy: Path) -> None:
    path = copy / TOOL
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    code, report, err = verify(copy)
    assert code == 1 and findings(report) == [("changed", TOOL)] and TOOL in err


def test_truncated(copy: Path) -> None:
    os.truncate(copy / FIRMWARE, 1000)
    code, report, _ = verify(copy)
    assert code == 1 and findings(report) == [("changed", FIRMWARE)]


def test_deleted(copy: Path) -> None:
    (copy / FIRMWARE).unlink()
    code, report, _ = verify(copy)
    assert code == 1 and findings(report) == [("missing", FIRMWARE)]


def test_added(copy: Path) -> None:
    (copy / "thumbv7m-none-eabi" / "backdoor.elf").write_bytes(b"\x7fELF")
    code, report, _ = verify(copy)
    assert code == 1 and findings(report) == [("extra", "thumbv7m-none-eabi/backdoor.elf")]
    assert verify(copy, "--allow-extra")[0] == 0


def test_chmod(copy: Path) -> None:
    (copy / TOOL).chmod(0o777)
    code, report, _ = verify(copy)
    assert code == 1 and findings(report) == [("mode", TOOL)]


def test_rewritten_sums_line(copy: Path) -> None:
    sums = copy / "SHA256SUMS"
    text = sums.read_text()
    line = next(ln for ln in text.splitlines() if ln.endswith(TOOL))
    sums.write_text(text.replace(line, "0" * 64 + line[64:]))
    code, report, _ = verify(copy)
    assert code == 1 and findings(report) == [("sums", "SHA256SUMS")]
    assert TOOL in report["findings"][0]["detail"]  # type: ignore[index]


def test_elf_header_that_does_not_match_the_target(copy: Path) -> None:
    path = copy / "manifest.json"
    data = json.loads(path.read_text())
    for art in data["artifacts"]:
        if art["path"] == TOOL:
            art["target"] = "riscv64gc-unknown-linux-gnu"
    path.write_text(json.dumps(data))
    code, report, _ = verify(copy)
    # The provenance names the manifest as a subject: an edited manifest no
    # longer matches it; the SBOM's claims (the artifact's target) disagree
    # with it; and the ELF check finds the wrong machine.
    found = findings(report)
    assert code == 1 and found[0] == ("subject", "manifest.json") and found[-1] == ("elf", TOOL)
    assert {kind for kind, _ in found[1:-1]} == {"attestation"}
    details = [f["detail"] for f in report["findings"]]  # type: ignore[attr-defined]
    assert any(d.startswith(f"components[{TOOL}]") for d in details)
    assert "EM_AARCH64" in details[-1]


def test_manifest_command_infers_every_target(dist: Path, tmp_path: Path) -> None:
    loose = tmp_path / "elsewhere"
    loose.mkdir()
    expected = {}
    for art in json.loads((dist / "manifest.json").read_text())["artifacts"]:
        if art["kind"] in ("executable", "staticlib", "firmware"):
            shutil.copy(dist / art["path"], loose / Path(art["path"]).name)
            expected[Path(art["path"]).name] = (art["target"], art["kind"])
    res = relbuild_cmd(
        "manifest", loose, "--name", "beacon", "--release-version", "0.3.1", "--json"
    )
    assert res.returncode == 0, res.stderr
    got = {a["path"]: (a["target"], a["kind"]) for a in json.loads(res.stdout)["artifacts"]}
    assert got == expected
    assert relbuild_cmd("verify", loose).returncode == 0


def test_diff_of_identical_and_changed_releases(dist: Path, copy: Path) -> None:
    same = relbuild_cmd("diff", dist, copy, "--json")
    assert same.returncode == 0 and json.loads(same.stdout)["same"] is True
    path = copy / "manifest.json"
    data = json.loads(path.read_text())
    data["toolchains"]["go"]["release"] = "1.26.9"
    data["dependencies"]["rust"] = [d for d in data["dependencies"]["rust"] if d["name"] != "crc"]
    data["artifacts"][0]["sha256"] = "0" * 64
    path.write_text(json.dumps(data))
    res = relbuild_cmd("diff", dist / "manifest.json", path, "--json")
    assert res.returncode == 1
    changes = {(c["section"], c["change"]) for c in json.loads(res.stdout)["changes"]}
    assert changes == {
        ("toolchain", "changed"),
        ("rust-dependency", "removed"),
        ("artifact", "changed"),
    }


def test_manifest_command_never_replaces_a_build_manifest(copy: Path) -> None:
    before = (copy / "manifest.json").read_bytes()
    res = relbuild_cmd("manifest", copy)
    assert res.returncode == 2 and "exists already" in res.stderr
    assert (copy / "manifest.json").read_bytes() == before
    assert relbuild_cmd("manifest", copy, "--force").returncode == 0
    assert json.loads((copy / "manifest.json").read_text())["source"] is None


def test_crafted_static_library_does_not_hang(copy: Path) -> None:
    rel = "x86_64-unknown-linux-gnu/beacon-ffi-0.3.1-x86_64-unknown-linux-gnu.a"
    header = f"{'evil.o/':<16}{0:<12}{0:<6}{0:<6}{644:<8}{-60:<10}`\n".encode()
    (copy / rel).write_bytes(b"!<arch>\n" + header + b"\x7fELF" * 100)
    res = subprocess.run(
        [sys.executable, "-m", "relbuild", "verify", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert res.returncode == 1 and rel in res.stderr and "Traceback" not in res.stderr
