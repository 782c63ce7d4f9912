"""What a release build takes from the tree: the version from a tag or
--release-version, a dirty flag that only the user's changes set, and ldflags-x
keys that must name real variables. On the example's pure-Go program for
the host, the cheapest build that shows each."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE
from tests.integration.conftest import relbuild_cmd
from tests.integration.test_repro import git

CONFIG = """
schema-version = 1

[project]
name = "beacon"
root = "beacon"

[toolchains.go]
release = "1.26.8"

[go.beacon]
package = "./cmd/beacon"
ldflags-x = { "LDFLAGS_KEY" = "{version}" }

[[targets]]
triple = "x86_64-unknown-linux-gnu"
components = ["beacon"]
"""


def project(at: Path, key: str = "main.version") -> Path:
    shutil.copytree(EXAMPLE, at / "beacon", ignore=shutil.ignore_patterns("target"))
    (at / "toolchains.toml").write_text(CONFIG.replace("LDFLAGS_KEY", key))
    git(at, "init", "-q", "-b", "main")
    git(at, "add", "-A")
    git(at, "commit", "-q", "-m", "release")
    return at / "toolchains.toml"


@pytest.fixture(scope="module")
def tagged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tagged")
    config = project(root)
    git(root, "tag", "v9.9.9")
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    # The cache and the dist live in the checkout, untracked: not the user's changes.
    res = relbuild_cmd("--config", config, "build", "--out", root / "dist", env=env, cwd=root)
    assert res.returncode == 0, res.stderr[-3000:]
    return root


def test_version_comes_from_the_exact_tag(tagged: Path) -> None:
    manifest = json.loads((tagged / "dist" / "manifest.json").read_text())
    assert manifest["project"]["version"] == "9.9.9"
    assert manifest["source"]["tag"] == "v9.9.9"
    exe = tagged / "dist" / "x86_64-unknown-linux-gnu" / "beacon-9.9.9-x86_64-unknown-linux-gnu"
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
    assert "9.9.9" in out.stdout + out.stderr


def test_relbuilds_own_outputs_do_not_make_the_tree_dirty(tagged: Path) -> None:
    assert (tagged / ".relbuild").is_dir() and (tagged / "dist").is_dir()
    manifest = json.loads((tagged / "dist" / "manifest.json").read_text())
    assert manifest["source"]["dirty"] is False
    # A change of the user's does.
    (tagged / "beacon" / "NOTES").write_text("x\n")
    res = relbuild_cmd(
        "--config", tagged / "toolchains.toml", "plan", "--json", env=dict(os.environ), cwd=tagged
    )
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["source"]["dirty"] is True
    (tagged / "beacon" / "NOTES").unlink()


def test_version_flag_wins_over_the_tag(tagged: Path, tmp_path: Path) -> None:
    res = relbuild_cmd(
        "--config",
        tagged / "toolchains.toml",
        "build",
        "--release-version",
        "10.0.0-rc.1",
        "--out",
        tmp_path / "dist",
        cwd=tagged,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    manifest = json.loads((tmp_path / "dist" / "manifest.json").read_text())
    assert manifest["project"]["version"] == "10.0.0-rc.1"
    bad = relbuild_cmd(
        "--config", tagged / "toolchains.toml", "build", "--release-version", "1 2", cwd=tagged
    )
    assert (
        bad.returncode == 2 and "--release-version" in bad.stderr and "Traceback" not in bad.stderr
    )


def test_ldflags_x_key_that_names_nothing_fails_the_build(tmp_path: Path) -> None:
    config = project(tmp_path, key="main.Version")
    res = relbuild_cmd(
        "--config",
        config,
        "build",
        "--release-version",
        "1.0.0",
        "--out",
        tmp_path / "dist",
        cwd=tmp_path,
    )
    assert res.returncode == 1, res.stderr[-3000:]
    said = " ".join(res.stderr.split())  # the terminal may wrap lines
    assert "go.beacon.ldflags-x: `main.Version` is no variable" in said
    assert "did you mean `main.version`?" in said
    assert not (tmp_path / "dist").exists()
