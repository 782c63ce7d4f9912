"""The newcomer's path: relbuild's wheel, built with `python -m build` and
installed by pipx into a fresh venv (no ziglang, no dev tools, nothing of
this repository's .venv), takes a gallery project from no config to a
verified release by the steps of README.md's "Use relbuild on your
project", each printing the lines the README shows. Then `doctor --fix`
on that install, which has no zig, installs the pinned one.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from relbuild import __version__
from tests.conftest import CONFIG, EXAMPLE, REPO
from tests.integration.machines import free

README = REPO / "README.md"
SECTION = "## Use relbuild on your project\n"


def readme_section() -> str:
    text = README.read_text()
    start = text.index(SECTION)
    return text[start : text.index("\n## ", start + 1)]


def blocks(section: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", section, flags=re.DOTALL)


def session(console: str) -> list[tuple[str, list[str]]]:
    """The README's console block: each `$ command` and the lines shown after it."""
    steps: list[tuple[str, list[str]]] = []
    for line in console.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif line.strip():
            steps[-1][1].append(line)
    return steps


def shown(line: str) -> re.Pattern[str]:
    """A line as the README shows it: `…` stands for anything."""
    return re.compile(".*".join(re.escape(part) for part in line.split("…")))


def sh(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The README's install block, run with the wheel built from this tree:
    the environment whose PATH finds only that install's `relbuild`."""
    root = tmp_path_factory.mktemp("install")
    wheels = root / "wheelhouse"
    res = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", wheels, REPO],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert [w.name for w in wheels.iterdir()] == [f"relbuild-{__version__}-py3-none-any.whl"]
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PIP_USER")
    }
    env |= {
        "PIPX_HOME": str(root / "pipx"),
        "PIPX_BIN_DIR": str(root / "bin"),
        "PIPX_MAN_DIR": str(root / "man"),
        "RELBUILD_TOOLS": str(root / "tools"),
        # Debian's Rust (the one with the std source) first, as setup leaves it.
        "PATH": os.pathsep.join([str(root / "bin"), "/usr/bin", os.environ["PATH"]]),
    }
    install = [line for line in blocks(readme_section(), "sh")[0].splitlines() if "pipx" in line]
    assert install, "README.md: no `pipx install` line"
    for line in install:
        # pipx from the dev tools, run by module: the README's own command.
        command = line.split("#")[0].replace("pipx", f"{sys.executable} -m pipx", 1)
        res = sh(command, root, env)
        assert res.returncode == 0, f"{line}\n{res.stderr[-3000:]}"
    assert shutil.which("relbuild", path=env["PATH"]) == str(root / "bin" / "relbuild")
    yield env
    free(root / "pipx", root / "tools")  # a venv and a zig: disk a CI machine may lack


def test_the_readme_path_takes_a_project_to_a_verified_release(
    installed: dict[str, str], tmp_path: Path
) -> None:
    res = sh("relbuild --version", tmp_path, installed)
    assert res.stdout.strip() == f"relbuild, version {__version__}"
    project = tmp_path / "pure-go"
    shutil.copytree(REPO / "examples" / "gallery" / "pure-go", project)
    git = "git -c user.name=t -c user.email=t@example.com"
    imported = sh(f"git init -q && {git} add -A && {git} commit -q -m import", project, installed)
    assert imported.returncode == 0, imported.stderr
    env = {**installed, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    steps = session(blocks(readme_section(), "console")[0])
    assert [s[0].split()[:2] for s in steps if s[0].startswith("relbuild")] == [
        ["relbuild", "init"],
        ["relbuild", "doctor"],
        ["relbuild", "plan"],
        ["relbuild", "build"],
        ["relbuild", "verify"],
    ]
    for command, lines in steps:
        res = sh(command, project, env)
        assert res.returncode == 0, f"$ {command}\n{res.stdout[-2000:]}{res.stderr[-3000:]}"
        printed = (res.stdout + res.stderr).splitlines()
        for line in lines:
            assert any(shown(line).fullmatch(p.strip()) for p in printed), (
                f"$ {command}: README.md shows {line!r}; it printed:\n" + "\n".join(printed[-15:])
            )
    artifact = (
        project / "dist" / "x86_64-unknown-linux-gnu" / "digest-0.1.0-x86_64-unknown-linux-gnu"
    )
    run = subprocess.run([artifact], capture_output=True, text=True, check=True)
    assert "digest: combined=bfbc74e5d1ea194e n=3 [pure go, linux/amd64]" in run.stdout


def test_doctor_fix_installs_the_pinned_zig_once(installed: dict[str, str], tmp_path: Path) -> None:
    # The example on one hosted target: cgo, so zig is needed; the fresh
    # install has no `ziglang` beside it.
    text = CONFIG.read_text().replace('"examples/beacon', f'"{EXAMPLE}')
    head, _, _ = text.partition("[[targets]]")
    config = tmp_path / "toolchains.toml"
    triple = "x86_64-unknown-linux-gnu"
    config.write_text(
        f'{head}[[targets]]\ntriple = "{triple}"\ncomponents = ["beacon-ffi", "beacon"]\n'
    )
    doctor = f"relbuild --config {config} doctor"
    before = sh(f"{doctor} --json", tmp_path, installed)
    assert before.returncode == 3, before.stderr[-2000:]
    assert '"tool": "zig"' in before.stdout and '"status": "missing"' in before.stdout
    fixed = sh(f"{doctor} --fix", tmp_path, installed)
    assert fixed.returncode == 0, fixed.stderr[-3000:]
    tools = Path(installed["RELBUILD_TOOLS"])
    zig = tools / "zig" / "0.15.2" / "ziglang" / "zig"
    assert "fix: zig: installed: ziglang==0.15.2" in fixed.stderr
    assert str(zig) in fixed.stdout  # doctor's row after the fix (its table is on stdout)
    after = sh(doctor, tmp_path, installed)
    assert after.returncode == 0, after.stderr[-3000:]
    listing = sorted((str(p), p.stat().st_mtime_ns) for p in tools.rglob("*"))
    again = sh(f"{doctor} --fix", tmp_path, installed)
    assert again.returncode == 0 and "fix: nothing to do" in again.stderr, again.stderr[-2000:]
    assert sorted((str(p), p.stat().st_mtime_ns) for p in tools.rglob("*")) == listing


def setup_plan(mode: str) -> list[str]:
    res = subprocess.run(
        ["bash", REPO / "scripts" / "setup.sh", mode],
        env={**os.environ, "SETUP_PLAN": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    return res.stdout.splitlines()


def test_make_demo_sets_up_no_test_only_tool() -> None:
    demo, full = setup_plan("demo"), setup_plan("test")
    test_only = {"go actionlint v1.7.7", "go cosign v2.6.5", "pip -e .[dev]", "apt chromium"}
    test_only |= {"apt disorderfs", "apt binutils-multiarch", "apt llvm-22", "apt llvm-19"}
    assert test_only <= set(full)
    assert not test_only & set(demo), demo
    # The demo still gets all that its build, smoke tests and images need.
    needed = {"apt bubblewrap", "apt lld-19", "apt qemu-system-arm", "apt libc6-arm64-cross"}
    assert needed | {"pip -e .[firmware]", "pip ziglang (toolchains.zig)"} <= set(demo)
    make = subprocess.run(
        ["make", "-n", "demo"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert "scripts/setup.sh demo" in make and "setup.sh test" not in make
