"""Issue 20, item 4: `relbuild init` reads a hostile project folder within
bounds. Each case hung, ran out of memory, overflowed the stack, took a
minute or copied a file from outside the project before the fix.

Init pins its toolchains by running them; those runs are replaced here by a
fixed pin (unit tests start no process), the reading is the real one. Each
case runs in a forked child under an alarm and an address-space cap, so a
hang or a runaway read fails the test instead of stopping the suite.
"""

from __future__ import annotations

import os
import resource
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from relbuild.errors import ConfigError
from relbuild.project import init as init_mod
from relbuild.project import treescan
from relbuild.project.init import ignore_outputs, scaffold

MAIN = 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hi") }\n'
GO_MOD = "module example.com/demo\n\ngo 1.22\n"


@pytest.fixture(autouse=True)
def _pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(init_mod, "_pin_go", lambda env: {"release": "1.22.0"})


def in_child(fn: Callable[[], object], seconds: int = 20) -> tuple[str, float]:
    """Run ``fn`` in a forked child with an alarm after ``seconds`` and
    1.5 GB of address space: ("ok", or the name and message of what it
    raised, or "killed by SIGALRM"), and the seconds it took."""
    read, write = os.pipe()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read)
        outcome = "ok"
        try:
            resource.setrlimit(resource.RLIMIT_AS, (1500 << 20, 1500 << 20))
            signal.alarm(seconds)
            fn()
        except BaseException as exc:  # reported to the parent
            outcome = f"{type(exc).__name__}: {exc}"
        os.write(write, outcome.encode()[:4000])
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as fh:
        outcome = fh.read().decode()
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        outcome = f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return outcome, time.monotonic() - start


def go_project(root: Path) -> Path:
    root.mkdir()
    (root / "go.mod").write_text(GO_MOD)
    (root / "main.go").write_text(MAIN)
    return root


def notes_of(project: Path) -> list[str]:
    notes: list[str] = []
    scaffold(project, {}, notes)
    return notes


def test_fifo_go_mod_is_refused_not_waited_for(tmp_path: Path) -> None:
    project = go_project(tmp_path / "p")
    (project / "go.mod").unlink()
    os.mkfifo(project / "go.mod")
    outcome, _ = in_child(lambda: scaffold(project, {}), seconds=10)
    assert outcome.startswith("ConfigError") and "go.mod" in outcome, outcome
    assert "not a regular file" in outcome, outcome


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_unreadable_go_source_is_skipped_and_said(tmp_path: Path, kind: str) -> None:
    project = go_project(tmp_path / "p")
    (project / "cmd" / "tool").mkdir(parents=True)
    bad = project / "cmd" / "tool" / "main.go"
    if kind == "fifo":
        os.mkfifo(bad)
    else:
        bad.symlink_to("/dev/zero")
    outcome, _ = in_child(lambda: scaffold(project, {}), seconds=10)
    assert outcome == "ok", outcome
    notes = notes_of(project)
    assert any("cmd/tool/main.go" in n and "not read" in n for n in notes), notes


def test_go_mod_linked_to_dev_zero_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    project = go_project(tmp_path / "p")
    (project / "go.mod").unlink()
    (project / "go.mod").symlink_to("/dev/zero")
    outcome, _ = in_child(lambda: scaffold(project, {}), seconds=10)
    assert outcome.startswith("ConfigError") and "outside the project" in outcome, outcome


@pytest.fixture
def deep_project(tmp_path: Path) -> Iterator[Path]:
    """A Go project with a main.go 1,100 folders down; removed from the
    bottom up afterwards (shutil.rmtree, as pytest uses it, would recurse)."""
    project = go_project(tmp_path / "p")
    chain = [project]
    for _ in range(1100):  # Path.mkdir(parents=True) would recurse too
        chain.append(chain[-1] / "d")
        chain[-1].mkdir()
    (chain[-1] / "main.go").write_text(MAIN)
    yield project
    (chain[-1] / "main.go").unlink()
    for folder in reversed(chain[1:]):
        folder.rmdir()


def test_folders_1100_deep_are_searched_to_a_depth_and_said(deep_project: Path) -> None:
    outcome, _ = in_child(lambda: scaffold(deep_project, {}), seconds=20)
    assert outcome == "ok", outcome
    notes: list[str] = []
    data = scaffold(deep_project, {}, notes)
    assert list(data["go"]) == ["p"]
    assert any(f"deeper than {treescan.MAX_DEPTH} levels" in n for n in notes), notes


def hostile_main(size: int) -> str:
    """A main.go of the shapes that made the old patterns backtrack: many
    `#cgo` lines with no colon, many unclosed `import (`, one long line."""
    head = 'package main\n\nimport "C"\n\n'
    unit = "// #cgo \n" * 20 + "import (\n" * 20 + "#cgo " * 40 + "\n"
    return head + unit * (size // len(unit) + 1)


def test_a_270_kb_main_go_is_read_in_linear_time(tmp_path: Path) -> None:
    project = go_project(tmp_path / "p")
    (project / "main.go").write_text(hostile_main(270_000))
    assert (project / "main.go").stat().st_size >= 270_000
    outcome, seconds = in_child(lambda: scaffold(project, {}), seconds=30)
    # The old patterns took over a minute; a linear read takes milliseconds.
    assert outcome == "ok" and seconds < 3, (outcome, seconds)


def test_gitignore_linked_outside_is_left_alone(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("password=hunter2\n")
    (project / ".gitignore").symlink_to(secret)
    notes: list[str] = []
    assert ignore_outputs(project, notes) == []
    assert (project / ".gitignore").is_symlink()
    assert secret.read_text() == "password=hunter2\n"
    assert any("symbolic link" in n for n in notes), notes


def test_gitignore_that_is_a_fifo_is_left_alone(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / ".gitignore")
    outcome, _ = in_child(lambda: ignore_outputs(tmp_path), seconds=10)
    assert outcome == "ok", outcome


def test_fifo_cargo_toml_is_refused_before_cargo_runs(tmp_path: Path) -> None:
    project = tmp_path / "p"
    (project / "crates" / "a").mkdir(parents=True)
    (project / "Cargo.toml").write_text('[workspace]\nmembers = ["crates/a"]\n')
    os.mkfifo(project / "crates" / "a" / "Cargo.toml")
    with pytest.raises(ConfigError, match=r"crates/a/Cargo.toml is not a regular file"):
        scaffold(project, {})


def test_a_walk_never_follows_a_folder_link_out_of_the_project(tmp_path: Path) -> None:
    outside = go_project(tmp_path / "outside")
    project = go_project(tmp_path / "p")
    (project / "elsewhere").symlink_to(outside)
    (project / "loop").symlink_to(project)
    assert list(scaffold(project, {})["go"]) == ["p"]


def test_too_many_files_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = go_project(tmp_path / "p")
    for i in range(30):
        (project / f"f{i}.txt").write_text("")
    monkeypatch.setattr(treescan, "MAX_ENTRIES", 20)
    with pytest.raises(ConfigError, match="more than 20 files and folders"):
        scaffold(project, {})


def test_go_source_budget_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = go_project(tmp_path / "p")
    for i in range(5):
        (project / f"lib{i}.go").write_text("package main\n" + "// x\n" * 100)
    monkeypatch.setattr(treescan, "SOURCE_BUDGET", 1000)
    with pytest.raises(ConfigError, match="bytes of Go source"):
        scaffold(project, {})


@pytest.fixture
def rust_tree(tmp_path: Path) -> Iterator[treescan.Tree]:
    (tmp_path / "rust-toolchain.toml").write_text('[toolchain]\npath = "/opt/evil"\n')
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "rust-toolchain").write_text("nightly\n")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "rust-toolchain.toml").write_text('[toolchain]\nchannel = "stable"\n')
    yield treescan.scan(tmp_path, ())


def test_what_a_rust_toolchain_file_asks_for_is_said(rust_tree: treescan.Tree) -> None:
    pin: dict[str, Any] = {"release": "1.95.0", "rustup-toolchain": "stable-x86_64-unknown"}
    notes = treescan.rust_toolchain_requests(rust_tree, pin)
    assert len(notes) == 2, notes  # the pinned channel itself is not worth a note
    assert "'rust-toolchain.toml' asks for the toolchain folder '/opt/evil'" in notes[0]
    assert "'a/rust-toolchain' asks for the channel 'nightly'" in notes[1]


def test_many_cargo_workspaces_are_refused_before_cargo_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "p"
    for i in range(12):
        (project / f"w{i}").mkdir(parents=True)
        (project / f"w{i}" / "Cargo.toml").write_text('[workspace]\nmembers = ["a"]\n')
        (project / f"w{i}" / "a").mkdir()
        (project / f"w{i}" / "a" / "Cargo.toml").write_text("[package]\n")
    monkeypatch.setattr(init_mod, "MAX_WORKSPACES", 10)
    with pytest.raises(ConfigError, match="12 Cargo workspaces"):
        scaffold(project, {})
