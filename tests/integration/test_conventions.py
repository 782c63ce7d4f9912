"""Issue 22, conventions: colour on a terminal for findings, none on a pipe,
NO_COLOR and FORCE_COLOR honoured (a child on a pseudo-terminal)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from relbuild.verify.inventory import generate, write_inventory
from tests.conftest import REPO


@pytest.fixture
def loose(tmp_path: Path) -> Path:
    folder = tmp_path / "loose"
    folder.mkdir()
    (folder / "one.txt").write_text("one")
    return folder


def _verify_with_a_finding(folder: Path, env: dict[str, str], tty: bool) -> str:
    """`relbuild verify` on a changed dist in a child: its stderr."""
    argv = [sys.executable, "-m", "relbuild", "verify", str(folder)]
    environ = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    environ |= {"PYTHONPATH": str(REPO / "src"), "TERM": "xterm", **env}
    if not tty:
        res = subprocess.run(argv, env=environ, capture_output=True, check=False)
        assert res.returncode == 1, res.stderr
        return res.stderr.decode()
    main, child = os.openpty()
    try:
        proc = subprocess.run(
            argv, env=environ, stdin=subprocess.DEVNULL, stdout=child, stderr=child, check=False
        )
        os.close(child)
        chunks = []
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the child's side is closed
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(main)
    assert proc.returncode == 1
    return b"".join(chunks).decode()


@pytest.mark.parametrize(
    ("env", "tty", "coloured"),
    [
        ({}, True, True),
        ({"NO_COLOR": "1"}, True, False),
        ({}, False, False),
        ({"FORCE_COLOR": "1"}, False, True),
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False, False),
    ],
    ids=["terminal", "terminal-NO_COLOR", "pipe", "pipe-FORCE_COLOR", "both"],
)
def test_findings_in_colour_on_a_terminal_only(
    loose: Path, env: dict[str, str], tty: bool, coloured: bool
) -> None:
    write_inventory(loose, generate(loose, name="p", version="1", targets={}))
    (loose / "one.txt").write_text("changed")
    text = _verify_with_a_finding(loose, env, tty)
    assert "one.txt" in text
    assert ("\x1b[" in text) is coloured, repr(text)
    assert ("31m" in text) is coloured  # the finding in red, not only bold headers


def test_bash_completes_commands_and_report_names(tmp_path: Path) -> None:
    """The script `relbuild completion bash` prints, sourced by a real bash:
    a command, then a choice of `relbuild schema`, completed."""
    exe = tmp_path / "bin" / "relbuild"
    exe.parent.mkdir()
    exe.write_text(f'#!/bin/sh\nexec {sys.executable} -m relbuild "$@"\n')
    exe.chmod(0o755)
    env = {**os.environ, "PATH": f"{exe.parent}:{os.environ['PATH']}"}
    env["PYTHONPATH"] = str(REPO / "src")
    script = (
        "source <(relbuild completion bash)\n"
        "COMP_WORDS=(relbuild veri); COMP_CWORD=1; _relbuild_completion relbuild\n"
        'echo "${COMPREPLY[*]}"\n'
        "COMPREPLY=(); COMP_WORDS=(relbuild schema history-); COMP_CWORD=2\n"
        '_relbuild_completion relbuild; echo "${COMPREPLY[*]}"\n'
    )
    res = subprocess.run(
        ["bash", "--norc", "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert res.returncode == 0, res.stderr
    first, second = res.stdout.splitlines()
    assert first == "verify"
    assert second.split() == ["history-add", "history-check", "history-list", "history-verify"]


def test_plan_piped_is_plain_lines_on_stdout(tmp_path: Path) -> None:
    """`relbuild plan | wc -l` counts the plan: every line on stdout, none
    folded (a step's argv on one line), no escape code with NO_COLOR."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "NO_COLOR": "1", "FORCE_COLOR": "1"}
    res = subprocess.run(
        [sys.executable, "-m", "relbuild", "plan", "-t", "x86_64-unknown-linux-gnu",
         "--config", REPO / "toolchains.toml", "--cache-dir", tmp_path / "cache"],
        env=env, capture_output=True, text=True, check=False, cwd=REPO,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    argv = [line for line in lines if line.startswith("  argv: ")]
    assert len(argv) == 2 and all(" build " in line for line in argv)
    assert all(line.startswith(("plan: ", "[", "  ")) or not line for line in lines), lines
    assert "\x1b[" not in res.stdout + res.stderr
