"""Issue 20, item 3 and the children of item 4: `relbuild init` never runs
what the project names, and never leaves a child behind. Real rustup,
rustc and cargo; each case takes a second or two."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from relbuild.project import init as init_mod
from relbuild.system import proc
from tests.forked import run_cli
from tests.integration.machines import relbuild_cmd

CRATE = '[package]\nname = "hello"\nversion = "0.1.0"\nedition = "2021"\n'


def crate(at: Path) -> Path:
    (at / "src").mkdir(parents=True)
    (at / "Cargo.toml").write_text(CRATE)
    (at / "src" / "main.rs").write_text("fn main() {}\n")
    return at


def rustup_proxy() -> bool:
    rustc = proc.which("rustc")
    return rustc is not None and os.path.basename(os.path.realpath(rustc)).startswith("rustup")


@pytest.mark.skipif(not rustup_proxy(), reason="rustc on PATH is not a rustup proxy")
def test_a_toolchain_folder_the_tree_names_is_never_run(tmp_path: Path) -> None:
    project = crate(tmp_path / "p")
    folder = tmp_path / "tc"
    (folder / "bin").mkdir(parents=True)
    (folder / "lib").mkdir()
    ran = tmp_path / "ran"
    for tool in ("rustc", "cargo", "wrapper"):
        script = folder / "bin" / tool
        script.write_text(f'#!/bin/sh\necho "{tool} $*" >> {ran}\nexit 1\n')
        script.chmod(0o755)
    (project / "rust-toolchain.toml").write_text(f'[toolchain]\npath = "{folder}"\n')
    (project / ".cargo").mkdir()
    (project / ".cargo" / "config.toml").write_text(
        f'[build]\nrustc = "{folder}/bin/rustc"\nrustc-wrapper = "{folder}/bin/wrapper"\n'
    )
    # From inside the project, where a rustup proxy reads rust-toolchain.toml.
    res = relbuild_cmd("init", ".", cwd=project)
    assert not ran.exists(), ran.read_text()
    assert res.returncode == 0, res.stderr
    assert f"asks for the toolchain folder '{folder}'" in res.stderr
    config = (project / "toolchains.toml").read_text()
    assert str(folder) in config.split("schema-version")[0]  # the note, as a comment
    pin = tomllib.loads(config)["toolchains"]["rust"]
    assert str(folder) not in str(pin)


def metadata_pids(folder: Path) -> list[int]:
    """The `cargo metadata` processes working in ``folder``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue
        if b"metadata" in argv and cwd == str(folder):
            found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(check: Callable[[], bool], seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.1)
    return check()


def hanging_workspace(tmp_path: Path) -> Path:
    """A workspace whose member's Cargo.toml, outside the project, is a
    FIFO: `cargo metadata` waits on it for ever."""
    project = tmp_path / "p"
    project.mkdir()
    (project / "Cargo.toml").write_text('[workspace]\nmembers = ["../outside"]\n')
    (tmp_path / "outside").mkdir()
    os.mkfifo(tmp_path / "outside" / "Cargo.toml")
    return project


def test_sigterm_ends_init_and_its_cargo_metadata(tmp_path: Path) -> None:
    project = hanging_workspace(tmp_path)
    child = subprocess.Popen(
        [sys.executable, "-m", "relbuild", "init", str(project)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    pids: list[int] = []
    try:

        def started() -> bool:
            pids.extend(metadata_pids(project))
            return bool(pids)

        assert wait_for(started, 60)
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=60)
        assert wait_for(lambda: not any(alive(p) for p in pids), 10), "cargo metadata left running"
        assert "Traceback" not in err, err
        assert child.returncode == 128 + signal.SIGTERM, err
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for pid in pids:  # the old code left it behind: end it here
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_cargo_metadata_that_hangs_is_stopped_by_a_timeout(tmp_path: Path) -> None:
    project = hanging_workspace(tmp_path)

    def short_timeout() -> None:
        init_mod.METADATA_TIMEOUT = 2.0
        signal.alarm(60)  # the old code had none: fail, not hang

    try:
        outcome = run_cli("init", project, setup=short_timeout)
        assert outcome.exit_code == 2, outcome
        assert "cargo cannot read the workspace" in outcome.stderr
        assert "killed after 2 s timeout" in outcome.stderr
    finally:
        for pid in metadata_pids(project):
            os.kill(pid, signal.SIGKILL)
