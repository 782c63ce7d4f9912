"""Windows programs under wine64: the ProcessPrng shim built by the pinned zig,
the prefix relbuild owns (made once, by two racing processes), and a real
pure-Go Windows program run by `relbuild test`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from relbuild.backends.base import ResolvedToolchains
from relbuild.release.dist import hash_file
from relbuild.runners import shim, wine
from relbuild.system import environ
from tests.conftest import REPO
from tests.integration.machines import relbuild_cmd

# Go's runtime asks for ProcessPrng before main; main asks crypto/rand too.
# The line ends in CRLF, as a Windows C program's text-mode stdout does, so
# the `$` of the smoke test's `expect` holds only if CRLF is made LF.
HELLO = """\
package main

import (
	"crypto/rand"
	"fmt"
	"os"
)

func main() {
	b := make([]byte, 64)
	if _, err := rand.Read(b); err != nil {
		os.Exit(3)
	}
	fmt.Printf("hello from windows: %d random bytes, args %q\\r\\n", len(b), os.Args[1:])
}
"""
EXPECT = r'^hello from windows: 64 random bytes, args \["one"\]$'


@pytest.fixture(scope="session")
def wine_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """relbuild's tools folder for this session, its Wine prefix made by two
    processes at once (~700 MB, removed at the end)."""
    root = tmp_path_factory.mktemp("tools")
    env = {**os.environ, "RELBUILD_TOOLS": str(root)}
    code = (
        "from relbuild.config import load_config; from relbuild.runners import wine; "
        "from relbuild.system import environ; from tests.conftest import CONFIG; "
        "print(wine.runner(load_config(CONFIG).config.toolchains.zig, environ.probe_env()).prefix)"
    )
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=900) for p in racers]
    for p, (_, err) in zip(racers, outs, strict=True):
        assert p.returncode == 0, err[-3000:]
    prefixes = {out.strip() for out, _ in outs}
    assert len(prefixes) == 1, prefixes
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def hello_exe(tmp_path_factory: pytest.TempPathFactory, tools: ResolvedToolchains) -> Path:
    src = tmp_path_factory.mktemp("hello")
    (src / "go.mod").write_text("module example.com/hello\n\ngo 1.22\n")
    (src / "main.go").write_text(HELLO)
    go = tools.require("go").executable
    env = {**os.environ, "GOOS": "windows", "GOARCH": "amd64", "CGO_ENABLED": "0"}
    res = subprocess.run(
        [go, "build", "-trimpath", "-o", "hello.exe", "."],
        cwd=src, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    return src / "hello.exe"


def _prefix(root: Path) -> Path:
    [prefix] = [p for p in (root / "wine").iterdir() if p.is_dir() and p.name != "zig-cache"]
    return prefix


def test_prefix_made_once_with_the_shim_the_same_on_a_second_build(
    wine_root: Path, tools: ResolvedToolchains
) -> None:
    folder = wine_root / "wine"
    # One prefix and no temp folder left by the race; it says what it holds.
    assert not [p.name for p in folder.iterdir() if p.name.endswith((".tmp", ".shim"))]
    prefix = _prefix(wine_root)
    record = json.loads((prefix / wine.READY).read_text())
    placed = prefix / "drive_c" / "windows" / "system32" / shim.NAME
    assert hash_file(placed)[0] == record["shim"]["sha256"]
    assert prefix.name.startswith("wine-8.0-") and record["wine"].startswith("wine-8.0")
    # Built again in another folder, zig's local cache cold: the same bytes.
    zig = tools.require("zig").executable
    again = shim.build(zig, wine_root / "again", environ.probe_env(), folder / "zig-cache")
    assert again.read_bytes() == placed.read_bytes()
    # Read back by binutils: a PE DLL exporting ProcessPrng, importing only advapi32.
    dump = subprocess.run(["objdump", "-p", placed], capture_output=True, text=True, check=True)
    assert "pei-x86-64" in dump.stdout and "] ProcessPrng" in dump.stdout
    imports = [ln.split(":")[1].strip() for ln in dump.stdout.splitlines() if "DLL Name:" in ln]
    assert imports == ["ADVAPI32.dll"]


def test_go_windows_program_runs_only_with_the_shim(wine_root: Path, hello_exe: Path) -> None:
    env = {**environ.probe_env(), "RELBUILD_TOOLS": str(wine_root)}
    runner = wine.WineRunner(wine.require_wine64(env), _prefix(wine_root), {})
    runner = wine.WineRunner(runner.wine64, runner.prefix, wine.wine_env(runner.prefix, env))
    assert "DISPLAY" not in runner.env and runner.env["WINEDEBUG"] == "-all"
    run = subprocess.run(
        runner.command(hello_exe, ["one"]), env=runner.env, capture_output=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout == b'hello from windows: 64 random bytes, args ["one"]\r\n'
    # The shim disabled, the same prefix: Go's runtime stops before main.
    off = {**runner.env, "WINEDLLOVERRIDES": f"{wine.OVERRIDES};bcryptprimitives="}
    res = subprocess.run(
        runner.command(hello_exe), env=off, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert res.returncode != 0 and "bcryptprimitives.dll not found" in res.stderr


def test_relbuild_test_runs_windows_and_says_not_run_for_the_others(
    wine_root: Path, hello_exe: Path, tmp_path: Path
) -> None:
    """`relbuild test` on a dist of the Windows program and two it cannot run."""
    dist = tmp_path / "dist"
    dist.mkdir()
    names = {
        "hello.exe": "x86_64-pc-windows-gnu",
        "hello-arm64.exe": "aarch64-pc-windows-gnullvm",
        "hello-darwin": "aarch64-apple-darwin",
    }
    artifacts = []
    for name, triple in names.items():
        shutil.copyfile(hello_exe, dist / name)  # only the first is ever run
        sha256, sha512, _, _ = hash_file(dist / name)
        artifacts.append({
            "path": name, "target": triple, "component": "hello", "kind": "executable",
            "size": (dist / name).stat().st_size, "mode": "0755",
            "sha256": sha256, "sha512": sha512,
        })  # fmt: skip
    manifest = {
        "schema_version": 1, "generator": "test", "project": {"name": "hello", "version": "1.0.0"}
    }  # fmt: skip
    (dist / "manifest.json").write_text(json.dumps({**manifest, "artifacts": artifacts}))
    project = tmp_path / "hello"
    shutil.copytree(hello_exe.parent, project, ignore=shutil.ignore_patterns("*.exe"))
    config = tmp_path / "toolchains.toml"
    config.write_text(
        textwrap.dedent(f"""\
            schema-version = 1
            [project]
            name = "hello"
            root = "hello"
            [toolchains.go]
            release = "1.26.8"
            [toolchains.zig]
            release = "0.15.2"
            [go.hello]
            path = "."
            test = {{ expect = '{EXPECT}', args = ["one"], timeout = 120 }}
        """)
        + "".join(f'[[targets]]\ntriple = "{t}"\ncomponents = ["hello"]\n' for t in names.values())
    )
    env = {**os.environ, "RELBUILD_TOOLS": str(wine_root)}
    res = relbuild_cmd("--config", config, "test", dist, "--json", env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    report = json.loads(res.stdout)
    status = {r["path"]: (r["status"], r["reason"]) for r in report["results"]}
    assert status == {
        "hello.exe": ("passed", ""),
        "hello-arm64.exe": ("not-run", "not run (no arm64 Windows runner here)"),
        "hello-darwin": ("not-run", "not run (no macOS runner)"),
    }
    assert report["not_run"] == 2 and report["ok"] is True
    assert "test: 1/1 passed, 2 not run" in res.stderr
