"""The Wine runner's argv, environment and prefix logic, without Wine."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from relbuild.backends.base import Probe, ResolvedToolchains
from relbuild.config import load_config
from relbuild.config.models import SmokeTest
from relbuild.config.triples import TRIPLES, runs_here
from relbuild.errors import ToolchainError
from relbuild.pipeline import unit
from relbuild.project import doctor, fix
from relbuild.runners import shim, wine
from relbuild.verify import smoke

WIN64 = TRIPLES["x86_64-pc-windows-gnu"]
WINARM = TRIPLES["aarch64-pc-windows-gnullvm"]
MAC = TRIPLES["aarch64-apple-darwin"]
VERSION = "wine-8.0 (Debian 8.0~repack-4)"


def test_wine_env_sets_the_prefix_and_drops_the_display() -> None:
    base = {"PATH": "/usr/bin", "HOME": "/h", "DISPLAY": ":0", "WAYLAND_DISPLAY": "w"}
    env = wine.wine_env(Path("/p/wine-8.0-x"), base)
    assert env == {
        "PATH": "/usr/bin",
        "HOME": "/h",
        "WINEPREFIX": "/p/wine-8.0-x",
        "WINEDEBUG": "-all",
        "WINEDLLOVERRIDES": "mscoree,mshtml=",
    }
    assert base["DISPLAY"] == ":0"  # the caller's mapping is left alone


def test_runner_command_is_wine64_then_the_program() -> None:
    runner = wine.WineRunner("/usr/lib/wine/wine64", Path("/p"), {})
    assert runner.argv == ["/usr/lib/wine/wine64"]
    assert runner.command(Path("/d/a.exe"), ["-v", "x y"]) == [
        "/usr/lib/wine/wine64", "/d/a.exe", "-v", "x y",
    ]  # fmt: skip
    test = SmokeTest(expect="ok", args=["--once"])
    argv = smoke.runner_argv(WIN64, Path("/d/a.exe"), test, None, runner)
    assert argv == ["/usr/lib/wine/wine64", "/d/a.exe", "--once"]
    with pytest.raises(ToolchainError, match="needs the Wine runner"):
        smoke.runner_argv(WIN64, Path("/d/a.exe"), test, None)


def test_prefix_name_follows_the_wine_version_and_the_shim() -> None:
    name = wine.prefix_name(VERSION, shim.key("0.15.2"))
    assert name.startswith("wine-8.0-") and len(name) == len("wine-8.0-") + 16
    assert name == wine.prefix_name(VERSION, shim.key("0.15.2"))
    assert name != wine.prefix_name(VERSION, shim.key("0.16.0"))
    assert name != wine.prefix_name("wine-8.0 (Debian 8.0~repack-5)", shim.key("0.15.2"))
    assert "/" not in wine.prefix_name("wine-9.0/../x", "k")


def test_shim_argv_builds_a_dll_without_a_c_library() -> None:
    argv = shim.argv("/z/zig", Path("/b/bcryptprimitives.c"), Path("/b/bcryptprimitives.dll"))
    assert argv == [
        "/z/zig", "cc", "-target", "x86_64-windows-gnu", "-shared", "-O2", "-s", "-nostdlib",
        "-Wl,--entry=DllMain", "-o", "/b/bcryptprimitives.dll", "/b/bcryptprimitives.c",
        "-ladvapi32",
    ]  # fmt: skip
    assert "ProcessPrng" in shim.SOURCE.read_text()


@pytest.mark.parametrize(
    ("machine", "triple", "reason"),
    [
        ("x86_64", WIN64, None),
        ("x86_64", WINARM, "no arm64 Windows runner here"),
        ("aarch64", WIN64, "no x86_64 Windows runner here"),
        ("x86_64", MAC, "no macOS runner"),
        ("arm64", MAC, "no macOS runner"),
        ("x86_64", TRIPLES["x86_64-unknown-linux-gnu"], None),
    ],
)
def test_what_nothing_here_runs(
    monkeypatch: pytest.MonkeyPatch, machine: str, triple: Any, reason: str | None
) -> None:
    monkeypatch.setattr("platform.machine", lambda: machine)
    assert smoke.not_run_reason(triple) == reason
    # A PE or Mach-O program never runs natively, whatever the architecture.
    assert runs_here(triple) == (triple.binary_format == "elf" and reason is None)


def _result(status: str) -> smoke.SmokeResult:
    return smoke.SmokeResult(path="a", target="t", component="c", status=status)


@pytest.mark.parametrize(
    ("statuses", "ok"),
    [
        (["not-run", "not-run"], True),
        (["passed", "not-run"], True),
        (["failed", "not-run"], False),
        (["timed-out", "passed"], False),
        (["skipped"], False),
        ([], False),
    ],
)
def test_not_run_is_counted_never_passed_and_fails_nothing(statuses: list[str], ok: bool) -> None:
    report = smoke.SmokeReport(folder="d", results=[_result(s) for s in statuses])
    assert report.ok is ok
    assert report.not_run == statuses.count("not-run")
    dumped = report.model_dump()
    assert dumped["not_run"] == report.not_run and dumped["ok"] is ok


def _fake_wine(monkeypatch: pytest.MonkeyPatch, made: list[Path], pause: float = 0.0) -> None:
    monkeypatch.setattr(wine, "wine_version", lambda *_: VERSION)

    def make(tmp: Path, *_: Any) -> None:
        time.sleep(pause)  # a racer arrives while this one works
        (tmp / "drive_c").mkdir(parents=True)
        (tmp / wine.READY).write_text("{}")
        made.append(tmp)

    monkeypatch.setattr(wine, "_make", make)


def test_prefix_is_made_once_when_two_race(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    made: list[Path] = []
    _fake_wine(monkeypatch, made, pause=0.3)
    got: list[Path] = []

    def ensure() -> None:
        got.append(wine.ensure_prefix("/w/wine64", "/z/zig", "0.15.2", {}, tmp_path))

    threads = [threading.Thread(target=ensure) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1 and len(set(got)) == 1
    prefix = got[0]
    assert prefix.name == wine.prefix_name(VERSION, shim.key("0.15.2"))
    assert (prefix / wine.READY).is_file()
    # Only the prefix and its lock: the temp folder was renamed into place.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [prefix.name, f".{prefix.name}.lock"]
    )
    # A second call finds it and makes nothing.
    assert wine.ensure_prefix("/w/wine64", "/z/zig", "0.15.2", {}, tmp_path) == prefix
    assert len(made) == 1


def test_a_killed_maker_leaves_nothing_taken_for_a_prefix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    made: list[Path] = []
    _fake_wine(monkeypatch, made)
    name = wine.prefix_name(VERSION, shim.key("0.15.2"))
    stale = tmp_path / f".{name}.999999.tmp"
    (stale / "drive_c").mkdir(parents=True)
    stale_shim = tmp_path / f".{name}.999999.shim"
    stale_shim.mkdir()
    unfinished = tmp_path / name  # a folder without the record: not trusted
    unfinished.mkdir()
    prefix = wine.ensure_prefix("/w/wine64", "/z/zig", "0.15.2", {}, tmp_path)
    assert prefix == unfinished and (prefix / wine.READY).is_file()
    assert not stale.exists() and not stale_shim.exists() and len(made) == 1


def test_a_failed_make_leaves_no_temp_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(wine, "wine_version", lambda *_: VERSION)

    def fail(tmp: Path, *_: Any) -> None:
        (tmp / "drive_c").mkdir(parents=True)
        raise ToolchainError("wineboot failed")

    monkeypatch.setattr(wine, "_make", fail)
    with pytest.raises(ToolchainError, match="wineboot failed"):
        wine.ensure_prefix("/w/wine64", "/z/zig", "0.15.2", {}, tmp_path)
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == []


def test_prefix_root_is_in_relbuild_tools_folder() -> None:
    assert wine.prefix_root({"RELBUILD_TOOLS": "/t"}) == Path("/t/wine")
    assert wine.prefix_root({"HOME": "/h"}) == Path("/h/.cache/relbuild/tools/wine")


def _probe(tmp_path: Path, test: str) -> Probe:
    (tmp_path / "hello").mkdir()
    (tmp_path / "hello" / "go.mod").write_text("module example.com/hello\n\ngo 1.22\n")
    (tmp_path / "toolchains.toml").write_text(
        'schema-version = 1\n[project]\nname = "hello"\nroot = "hello"\n'
        '[toolchains.go]\nrelease = "1.26.8"\n'
        f"[go.hello]\n{test}\n[go.other]\n"
        + "".join(
            f'[[targets]]\ntriple = "{t}"\ncomponents = ["hello", "other"]\n'
            for t in (WIN64.name, WINARM.name, MAC.name, "x86_64-unknown-linux-gnu")
        )
    )
    loaded = load_config(tmp_path / "toolchains.toml")
    return Probe(loaded=loaded, tools=ResolvedToolchains(), env={"PATH": "/nowhere"})


def test_doctor_checks_wine_where_an_x86_64_windows_program_is_tested(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("platform.machine", lambda: "x86_64")
    fake = tmp_path / "wine64"
    fake.write_text("")
    fake.chmod(0o755)
    monkeypatch.setattr(wine, "WINE64", str(fake))
    probe = _probe(tmp_path, "test = { expect = 'hello' }")
    checks = {t.triple: doctor._wine_checks(probe, t) for t in probe.loaded.config.targets}
    # arm64 Windows and macOS programs are not run here: nothing to check.
    assert {k: len(v) for k, v in checks.items()} == {
        WIN64.name: 1, WINARM.name: 0, MAC.name: 0, "x86_64-unknown-linux-gnu": 0,
    }  # fmt: skip
    [ok] = checks[WIN64.name]
    assert ok.ok and ok.need == "wine runner" and ok.detail.startswith(str(fake))
    fake.unlink()
    [missing] = doctor._wine_checks(probe, probe.loaded.config.targets[0])
    assert not missing.ok and missing.detail == f"{fake} not found"
    assert fix.debian_packages(missing, None) == ["wine64"]
    assert missing.fix is not None and "wine64" in missing.fix


def test_doctor_needs_no_wine_without_a_smoke_test(tmp_path: Path) -> None:
    probe = _probe(tmp_path, "")
    assert doctor._wine_checks(probe, probe.loaded.config.targets[0]) == []


def test_go_unit_tests_for_windows_and_macos_are_not_run_and_say_why() -> None:
    assert unit.not_run_reason(MAC) == "no macOS runner"
    assert "sandbox" in (unit.not_run_reason(WIN64) or "")
    assert unit.not_run_reason(TRIPLES["aarch64-unknown-linux-gnu"]) is None
    results = [
        unit.UnitResult(language="go", path=".", components=["c"], target=t, status=s)
        for t, s in (("linux", "passed"), (WIN64.name, "not-run"), (MAC.name, "not-run"))
    ]
    report = unit.UnitReport(results=results)
    assert report.ok and report.not_run == 2
    failed = unit.UnitReport(results=[*results, results[0].model_copy(update={"status": "failed"})])
    assert not failed.ok


def test_a_mac_runs_its_own_architecture(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a `macos-` CI runner, macOS programs of its architecture run
    natively; the other Mac architecture and Linux programs do not."""
    monkeypatch.setattr("platform.system", lambda: "Darwin")
    monkeypatch.setattr("platform.machine", lambda: "arm64")
    arm, intel = TRIPLES["aarch64-apple-darwin"], TRIPLES["x86_64-apple-darwin"]
    assert runs_here(arm) and smoke.not_run_reason(arm) is None
    assert not runs_here(intel)
    assert smoke.not_run_reason(intel) == "another Mac architecture"
    linux = TRIPLES["aarch64-unknown-linux-gnu"]
    assert not runs_here(linux)
    assert smoke.not_run_reason(linux) == "a macOS runner runs only macOS programs"
