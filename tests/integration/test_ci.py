"""The workflow `relbuild ci github` prints passes actionlint (installed
into .tools/bin by scripts/setup.sh). Without actionlint the test skips,
except in CI (CI=true), where a skip would hide a broken workflow."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import CONFIG, REPO
from tests.integration.conftest import relbuild_cmd


def _actionlint() -> str:
    found = REPO / ".tools" / "bin" / "actionlint"
    path = str(found) if found.is_file() else shutil.which("actionlint")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("actionlint is missing in CI: scripts/setup.sh installs it")
        pytest.skip("actionlint not installed (scripts/setup.sh installs it)")
    return path


@pytest.mark.parametrize("args", [(), ("--per-runner", "3"), ("--group-by", "kind")])
def test_github_workflow_passes_actionlint(args: tuple[str, ...], tmp_path: Path) -> None:
    res = relbuild_cmd("--config", CONFIG, "ci", "github", *args)
    assert res.returncode == 0, res.stderr
    flow = tmp_path / "release.yml"
    flow.write_text(res.stdout)
    lint = subprocess.run(
        [_actionlint(), "-no-color", str(flow)], capture_output=True, text=True, check=False
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_apple_targets_get_their_smoke_tests_on_a_mac(tmp_path: Path) -> None:
    """With an Apple target, the workflow runs the merged release's tests on
    a `macos-` runner (nothing else can run them), and still lints."""
    text = CONFIG.read_text().replace('"examples/beacon', f'"{CONFIG.parent / "examples/beacon"}')
    text += (
        '\n[[targets]]\ntriple = "aarch64-apple-darwin"\ncomponents = ["beacon-ffi", "beacon"]\n'
    )
    config = tmp_path / "toolchains.toml"
    config.write_text(text)
    plain = relbuild_cmd("--config", CONFIG, "ci", "github")
    res = relbuild_cmd("--config", config, "ci", "github")
    assert res.returncode == 0, res.stderr
    assert "test-macos" not in plain.stdout
    job = res.stdout[res.stdout.index("  test-macos:") :]
    assert "runs-on: macos-14" in job and "relbuild test dist" in job
    flow = tmp_path / "release.yml"
    flow.write_text(res.stdout)
    lint = subprocess.run(
        [_actionlint(), "-no-color", str(flow)], capture_output=True, text=True, check=False
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
