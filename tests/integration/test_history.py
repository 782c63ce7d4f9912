"""The release series on real builds: two releases of the example (the
second with a larger CRC lookup table in beacon-core, so beacon-fw grows),
built by `relbuild build` with [history] set, then `history add`, `history
check` against tight and loose limits, and `report` loaded by headless
Chromium. Then the costs on a series of 50 releases made from the real
manifests."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from relbuild.release.dist import load_manifest
from relbuild.series import db, store
from tests.integration.conftest import example_copy, relbuild_cmd
from tests.series_data import fill, release, renamed

FW = "thumbv7m-none-eabi/beacon-fw-{version}-thumbv7m-none-eabi.elf"
TARGET = """[[targets]]
triple = "thumbv7m-none-eabi"
components = ["beacon-fw"]
linker = "ld.lld-19"
budget = { flash = 262144, ram = 65536 }

[history]
db = "history.sqlite"
"""
BIGGER_TABLE = ("Crc<u32> = Crc::<u32>::new", "Crc<u32, Table<16>> = Crc::<u32, Table<16>>::new")


@dataclass(frozen=True)
class Series:
    config: Path
    db: Path
    first: Path
    second: Path
    seconds: float  # the two builds


def _build(config: Path, out: Path, version: str, epoch: int) -> None:
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(epoch)}
    res = relbuild_cmd(
        "--config", config, "build", "--out", out, "--release-version", version, env=env
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert f"{version}: added (build report)" in res.stderr


@pytest.fixture(scope="session")
def series(tmp_path_factory: pytest.TempPathFactory) -> Series:
    """Two releases, one target (the firmware), in a copy of the example;
    the second CRC uses sixteen 1 KiB tables (slicing by 16) instead of one."""
    tmp = tmp_path_factory.mktemp("series")
    project, config = example_copy(tmp, TARGET)
    # Room for the larger table: beacon-fw's own budget is 16 KiB.
    budget = "budget = { flash = 16384, ram = 4096 }"
    assert budget in config.read_text()
    config.write_text(config.read_text().replace(budget, budget.replace("16384", "32768")))
    t0 = time.monotonic()
    _build(config, tmp / "dist-1.0.0", "1.0.0", 1_700_000_000)
    lib = project / "crates" / "beacon-core" / "src" / "lib.rs"
    text = lib.read_text()
    assert BIGGER_TABLE[0] in text
    text = text.replace(BIGGER_TABLE[0], BIGGER_TABLE[1]).replace(
        "use crc::{Crc, CRC_32_ISO_HDLC};", "use crc::{Crc, Table, CRC_32_ISO_HDLC};"
    )
    lib.write_text(text)
    _build(config, tmp / "dist-1.1.0", "1.1.0", 1_700_086_400)
    return Series(
        config, tmp / "history.sqlite", tmp / "dist-1.0.0", tmp / "dist-1.1.0",
        time.monotonic() - t0,
    )  # fmt: skip


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    res = relbuild_cmd(*args)
    assert "Traceback" not in res.stderr, res.stderr
    return res


def test_build_added_both_releases_with_their_measures(series: Series) -> None:
    res = run("--config", series.config, "history", "list", "--json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)["releases"]
    assert [r["version"] for r in rows] == ["1.0.0", "1.1.0"]
    # The CPU time of cargo's whole tree in the sandbox (rustc, the linker):
    # core built from source first, then beacon-core and beacon-fw again.
    assert rows[0]["build_cpu"] > 5 and rows[1]["build_cpu"] > 0.05
    for r in rows:
        assert r["build_seconds"] > 0 and r["checksum_seconds"] > 0
        assert r["artifacts"] >= 3 and r["total_size"] > 0
        assert r["source_date_epoch"] in (1_700_000_000, 1_700_086_400)
    report = json.loads((series.config.parent / ".relbuild/logs/build-report.json").read_text())
    assert report["machine"]["cores"] >= 1 and report["checksum"]["bytes"] > 0
    assert all(s["cpu_seconds"] > 0 for s in report["steps"])


def test_history_add_verifies_adds_once_and_refuses_a_tampered_release(
    series: Series, tmp_path: Path
) -> None:
    other = tmp_path / "h.sqlite"
    res = run("history", "add", series.first, series.second, "--db", other)
    assert res.returncode == 0, res.stderr
    assert "1.0.0: added (intake)" in res.stderr and "1.1.0: added (intake)" in res.stderr
    res = run("history", "add", series.second, "--db", other, "--json")
    assert res.returncode == 0
    assert json.loads(res.stdout)["releases"][0]["added"] is False

    bad = tmp_path / "tampered"
    shutil.copytree(series.second, bad)
    elf = bad / FW.format(version="1.1.0")
    data = bytearray(elf.read_bytes())
    data[-1] ^= 1
    elf.write_bytes(data)
    res = run("history", "add", bad, "--db", tmp_path / "fresh.sqlite")
    assert res.returncode == 1
    assert "tampered: does not match its manifest" in res.stderr
    assert FW.format(version="1.1.0") in res.stderr
    assert not (tmp_path / "fresh.sqlite").exists()


def _config_with(series: Series, tmp_path: Path, rules: str, name: str) -> Path:
    config = tmp_path / f"{name}.toml"
    # The project's paths (its root, the MCUboot key) from the new folder.
    base = series.config.parent
    text = (
        series.config.read_text()
        .replace('root = "beacon"', f'root = "{base}/beacon"')
        .replace('"beacon/keys/', f'"{base}/beacon/keys/')
    )
    config.write_text(text + "\n[regressions]\n" + rules)
    return config


def test_check_names_the_firmware_growth_on_a_tight_limit(series: Series, tmp_path: Path) -> None:
    config = _config_with(series, tmp_path, 'flash = "512 B"\nsize = "1000%"\n', "tight")
    res = run("--config", config, "history", "check", "--db", series.db, "--json")
    assert res.returncode == 1, res.stderr
    failed = [c for c in json.loads(res.stdout)["comparisons"] if c["level"] == "fail"]
    assert [(c["measure"], c["subject"]) for c in failed] == [("flash", FW)]
    assert failed[0]["now"] - failed[0]["baseline"] > 8192  # fifteen more 1 KiB CRC tables
    assert f"FAIL: flash of {FW}: baseline" in res.stderr and "limit 512 B" in res.stderr

    loose = _config_with(series, tmp_path, 'flash = "64 KiB"\nsize = "1000%"\n', "loose")
    res = run("--config", loose, "history", "check", "--db", series.db)
    assert res.returncode == 0, res.stderr
    # The dist given on the command line is checked the same way.
    res = run("--config", config, "history", "check", series.second, "--db", series.db)
    assert res.returncode == 1 and f"FAIL: flash of {FW}" in res.stderr
    res = run("--config", config, "history", "check", "--against", "2.0.0", "--db", series.db)
    assert res.returncode == 2 and "no such release" in res.stderr


def chromium(*args: str | Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("chromium")
    if exe is None:
        pytest.fail("chromium is not installed (scripts/setup.sh installs it)")
    return subprocess.run(
        [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--enable-logging=stderr", "--v=0", *map(str, args)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_report_renders_in_chromium(series: Series, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    res = run("report", "--out", out, "--db", series.db, "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["plots"] == 5
    page = out.read_text()
    assert "Changes from 1.0.0 to 1.1.0" in page
    assert re.search(r"changed</td><td>thumbv7m-none-eabi/beacon-fw-\{version\}", page)

    dom = chromium("--dump-dom", out.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count('<figure class="plot"') == 5
    assert dom.stdout.count("<svg") == 5
    # Console messages and blocked loads are logged to stderr as CONSOLE(...) / "Refused".
    noise = [
        line for line in dom.stderr.splitlines()
        if "CONSOLE" in line or "Refused to" in line or "Uncaught" in line
    ]  # fmt: skip
    assert not noise, noise
    shot = tmp_path / "report.png"
    res2 = chromium(f"--screenshot={shot}", "--window-size=1200,2400", out.as_uri())
    assert res2.returncode == 0 and shot.stat().st_size > 20_000, res2.stderr[-2000:]
    from PIL import Image

    with Image.open(shot) as img:
        colours = img.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 50  # plots drawn, not a blank page
    keep = os.environ.get("RELBUILD_REPORT_SHOT")
    if keep:
        shutil.copy(shot, keep)


def test_a_hostile_history_is_refused_by_every_command(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"SQLite format 3\x00" + os.urandom(5000))
    for args in (["report", "--out", tmp_path / "r.html"], ["history", "list"],
                 ["history", "check"]):  # fmt: skip
        res = run(*args, "--db", bad)
        assert res.returncode == 2, res.stderr
        assert "not a usable relbuild history" in res.stderr
    assert not (tmp_path / "r.html").exists()


def test_costs_on_a_series_of_50_releases(series: Series, tmp_path: Path) -> None:
    """50 releases made from the two real manifests (versions, sizes and
    digests edited), then the real commands on top of them."""
    path = tmp_path / "h50.sqlite"
    real = [
        load_manifest(series.first / "manifest.json"),
        load_manifest(series.second / "manifest.json"),
    ]
    made = [
        release(renamed(real[i % 2], f"0.{i}.0", grow=i * 16), epoch=1_600_000_000 + i,
                cpu=10 + (i % 3) * 0.1)
        for i in range(50)
    ]  # fmt: skip
    con = db.connect(path, create=True)
    t0 = time.perf_counter()
    fill(con, made)
    insert_s = time.perf_counter() - t0
    con.close()
    timings: dict[str, float] = {"insert 50 (store.insert)": insert_s}
    for name, args in (
        ("history add (a real dist, the 51st)", ["history", "add", series.second]),
        ("history check", ["history", "check"]),
        ("history list", ["history", "list"]),
        ("report", ["report", "--out", tmp_path / "r.html"]),
    ):
        t0 = time.perf_counter()
        res = run(*args, "--db", path)
        timings[name] = time.perf_counter() - t0
        assert res.returncode in (0, 1), res.stderr
    size = (tmp_path / "r.html").stat().st_size
    con = db.connect(path)
    assert len(store.rows(con, path)) == 51
    con.close()
    lines = [f"{k}: {v:.2f} s" for k, v in timings.items()]
    lines.append(f"report size: {size:,} bytes; history file: {path.stat().st_size:,} bytes")
    print("\n".join(["", "series of 50 releases:", *lines]))
    Path(os.environ.get("RELBUILD_SERIES_FIGURES", os.devnull)).write_text("\n".join(lines))
    assert timings["report"] < 60 and timings["history check"] < 30
    assert size < 2_000_000
