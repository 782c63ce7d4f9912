"""repro and verify --rebuild, on small fixtures that are (not) reproducible and
on the bundled example."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CONFIG, REPO
from tests.integration.conftest import relbuild_cmd

FIXTURE = REPO / "tests" / "fixtures" / "unrepro"


@pytest.fixture
def fixture_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "project"
    shutil.copytree(FIXTURE, dest, ignore=shutil.ignore_patterns("target"))
    return dest


def repro(project: Path, config: str, *args: str) -> tuple[int, dict[str, Any], str]:
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    res = relbuild_cmd(
        "--config",
        project / config,
        "repro",
        "--json",
        "--cache-dir",
        project.parent / "cache",
        *args,
        env=env,
    )
    assert "Traceback" not in res.stderr, res.stderr
    return res.returncode, json.loads(res.stdout) if res.stdout.strip() else {}, res.stderr


def test_reproducible_project_passes_every_variation(fixture_copy: Path) -> None:
    code, report, err = repro(fixture_copy, "clean.toml")
    assert code == 0, err
    assert report["reproducible"] is True
    assert report["variations"] == [
        "build-path",
        "time-zone",
        "locale",
        "umask",
        "home",
        "path-order",
        "environment",
        "jobs",
        "file-order",
        "toolchain-path",
        "cache-state",
    ]
    assert [o["identical"] for o in report["comparison"]["artifacts"]] == [True]
    assert report["comparison"]["manifest_identical"] is True


def test_path_leak_is_caught_blamed_and_explained(fixture_copy: Path) -> None:
    code, report, err = repro(fixture_copy, "path.toml", "--vary", "build-path,umask,locale")
    assert code == 1
    assert report["blame"] == ["build-path"]
    assert report["deterministic_without_variation"] is True
    [outcome] = report["comparison"]["artifacts"]
    exp = outcome["explanation"]
    assert ".rodata" in " ".join(exp["sections"])
    assert any(s.startswith("leaked build path") and "/leak" in s for s in exp["suspects"])
    assert any("CARGO_MANIFEST_DIR" in a for a in exp["advice"])
    assert "to blame: build-path" in err
    # diffoscope is installed with relbuild's dev tools: its report is saved.
    report_file = Path(exp["diffoscope"])
    assert report_file.is_file() and "leak" in report_file.read_text(errors="replace")


def test_build_time_is_caught_without_any_variation(fixture_copy: Path) -> None:
    code, report, err = repro(fixture_copy, "time.toml", "--vary", "umask")
    assert code == 1
    assert report["deterministic_without_variation"] is False
    assert report["blame"] == []
    suspects = report["comparison"]["artifacts"][0]["explanation"]["suspects"]
    assert any("Unix time stamp" in s and "stamp built at" in s for s in suspects)
    assert "embeds the time" in err


def test_unknown_variation_is_a_usage_error(fixture_copy: Path) -> None:
    code, _, err = repro(fixture_copy, "clean.toml", "--vary", "moon-phase")
    assert code == 2 and "unknown variation 'moon-phase'" in err


def git(cwd: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_AUTHOR_DATE": "2024-01-02T03:04:05Z",
        "GIT_COMMITTER_DATE": "2024-01-02T03:04:05Z",
    }
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


@pytest.fixture
def fixture_repo(fixture_copy: Path) -> Path:
    git(fixture_copy, "init", "-q", "-b", "main")
    git(fixture_copy, "add", "-A")
    git(fixture_copy, "commit", "-q", "-m", "fixture")
    return fixture_copy


def test_verify_rebuild_passes_for_a_reproducible_commit(fixture_repo: Path) -> None:
    config = fixture_repo / "clean.toml"
    out = fixture_repo.parent / "dist"
    assert relbuild_cmd("--config", config, "build", "--out", out).returncode == 0
    res = relbuild_cmd("--config", config, "verify", out, "--rebuild", "--json")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["rebuild"]["reproduced"] is True
    assert (
        report["rebuild"]["revision"]
        == json.loads((out / "manifest.json").read_text())["source"]["revision"]
    )
    assert "relbuild-rebuild-" in report["rebuild"]["rebuilt_in"]


def test_verify_rebuild_fails_for_a_time_stamped_build(fixture_repo: Path) -> None:
    config = fixture_repo / "time.toml"
    out = fixture_repo.parent / "dist"
    assert relbuild_cmd("--config", config, "build", "--out", out).returncode == 0
    res = relbuild_cmd("--config", config, "verify", out, "--rebuild", "--json")
    assert res.returncode == 1
    report = json.loads(res.stdout)
    assert report["verify"]["findings"] == []  # the dist itself is intact
    assert report["rebuild"]["reproduced"] is False
    assert "DIFFERENT" in res.stderr and "Unix time stamp" in res.stderr


def test_verify_rebuild_refuses_a_dirty_build(fixture_repo: Path) -> None:
    config = fixture_repo / "clean.toml"
    (fixture_repo / "clean" / "src" / "main.rs").write_text(
        (fixture_repo / "clean" / "src" / "main.rs").read_text() + "\n// local edit\n"
    )
    out = fixture_repo.parent / "dist"
    assert relbuild_cmd("--config", config, "build", "--out", out).returncode == 0
    res = relbuild_cmd("--config", config, "verify", out, "--rebuild")
    assert res.returncode == 2
    assert "uncommitted changes" in res.stderr and "Traceback" not in res.stderr


def test_verify_rebuild_of_the_example(tmp_path: Path) -> None:
    """The example on a hosted cgo target and a firmware target (the two
    shapes; the any-machine test covers a cross cgo target), rebuilt from
    the recorded commit in a fresh folder with fresh build caches."""
    dist = tmp_path / "dist"
    targets = ["--target", "x86_64-unknown-linux-gnu", "--target", "thumbv7m-none-eabi"]
    built = relbuild_cmd("--config", CONFIG, "build", *targets, "--out", dist)
    assert built.returncode == 0, built.stderr[-4000:]
    manifest = json.loads((dist / "manifest.json").read_text())
    res = relbuild_cmd("--config", CONFIG, "verify", dist, "--rebuild", "--json")
    if manifest["source"]["dirty"]:
        # A working tree with local changes cannot be rebuilt from its commit.
        assert res.returncode == 2 and "uncommitted changes" in res.stderr
        return
    assert res.returncode == 0, res.stderr[-4000:]
    report = json.loads(res.stdout)
    assert report["rebuild"]["reproduced"] is True
    assert len(report["rebuild"]["comparison"]["artifacts"]) == len(manifest["artifacts"])


def test_an_edited_config_outside_the_project_root_counts_as_dirty(tmp_path: Path) -> None:
    """The config may live outside project.root (as in this repository); an
    uncommitted change to it changes what is built, so the build is dirty."""
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURE, repo / "proj", ignore=shutil.ignore_patterns("target"))
    config = repo / "toolchains.toml"
    config.write_text(
        (FIXTURE / "clean.toml")
        .read_text()
        .replace('name = "repro-clean"', 'name = "repro-clean"\nroot = "proj"')
    )
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "fixture")
    out = tmp_path / "dist"
    assert relbuild_cmd("--config", config, "build", "--out", out).returncode == 0
    assert json.loads((out / "manifest.json").read_text())["source"]["dirty"] is False
    config.write_text(config.read_text() + "\n# an uncommitted edit\n")
    assert relbuild_cmd("--config", config, "build", "--out", out).returncode == 0
    assert json.loads((out / "manifest.json").read_text())["source"]["dirty"] is True


def test_sandbox_makes_a_manifest_dir_leak_reproducible(fixture_copy: Path) -> None:
    # The same env!("CARGO_MANIFEST_DIR") as path.toml, in the sandbox: the
    # folder every build sees is /relbuild/src, wherever the checkout is.
    code, report, err = repro(fixture_copy, "path-sandboxed.toml", "--vary", "build-path,home")
    assert code == 0, err
    assert report["comparison"]["manifest_identical"] is True


def test_build_fails_on_a_leaked_machine_path(fixture_copy: Path, tmp_path: Path) -> None:
    def build(config: str, out: Path) -> subprocess.CompletedProcess[str]:
        return relbuild_cmd(
            "--config",
            fixture_copy / config,
            "build",
            "--out",
            out,
            "--cache-dir",
            tmp_path / "c",
            env={**os.environ, "SOURCE_DATE_EPOCH": "1700000000"},
        )

    res = build("path-fail.toml", tmp_path / "dist")
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr
    assert "hold paths or names of this machine" in res.stderr
    leaked = str(fixture_copy / "leak")
    assert "x86_64-unknown-linux-gnu/leak-0.1.0-x86_64-unknown-linux-gnu: section .rodata" in (
        res.stderr
    )
    assert leaked in res.stderr and "allow-path-leaks" in res.stderr
    assert not (tmp_path / "dist").exists()
    # With a written reason the component is skipped, and the manifest says why.
    ok = build("path.toml", tmp_path / "dist")
    assert ok.returncode == 0, ok.stderr
    manifest = json.loads((tmp_path / "dist" / "manifest.json").read_text())
    assert manifest["sandbox"] == "none"
    assert manifest["waivers"] == [
        {
            "component": "leak",
            "check": "path-leaks",
            "reason": "this fixture leaks its folder on purpose, for relbuild repro to find",
        }
    ]
    verify = relbuild_cmd("verify", tmp_path / "dist", "--leaks", "--json")
    assert verify.returncode == 0, verify.stdout
    # Without the waiver, verify --leaks finds the path inside the binary.
    manifest["waivers"] = []
    (tmp_path / "dist" / "manifest.json").write_text(json.dumps(manifest))
    found = relbuild_cmd("verify", tmp_path / "dist", "--leaks", "--json")
    assert found.returncode == 1, found.stdout
    leaks = [f for f in json.loads(found.stdout)["findings"] if f["kind"] == "leak"]
    assert [f["path"] for f in leaks] == [
        "x86_64-unknown-linux-gnu/leak-0.1.0-x86_64-unknown-linux-gnu"
    ]
    assert "section .rodata" in leaks[0]["detail"] and leaked in leaks[0]["detail"]


def test_a_leak_held_in_zigs_cache_is_caught_and_blamed(fixture_copy: Path) -> None:
    """A cgo program whose only machine path sits in the C runtime objects
    zig built and cached (no sandbox): each build has its own zig caches, so
    the difference shows, and it is blamed on the build path."""
    code, report, err = repro(fixture_copy, "zig-leak.toml", "--vary", "build-path,umask")
    assert code == 1, err[-3000:]
    assert report["blame"] == ["build-path"]
    [outcome] = [o for o in report["comparison"]["artifacts"] if not o["identical"]]
    assert outcome["path"].endswith("zigleak-0.1.0-x86_64-unknown-linux-gnu")
    assert any("debug" in s for s in outcome["explanation"]["sections"]), outcome


def test_windows_and_macos_outputs_reproduce_under_every_variation(tmp_path: Path) -> None:
    """A cgo program that zig links for x86_64 Windows (lld stamps a PE time
    and debug GUID: normalized) and arm64 macOS (ad-hoc signed): identical
    bytes and manifest under every variation, from cold caches."""
    project = tmp_path / "project"
    shutil.copytree(REPO / "tests" / "fixtures" / "desktop-cgo", project)
    code, report, err = repro(project, "toolchains.toml")
    assert code == 0, err
    assert report["reproducible"] is True
    assert len(report["variations"]) == 11
    found = {a["path"]: a["identical"] for a in report["comparison"]["artifacts"]}
    assert found == {
        "x86_64-pc-windows-gnu/hello-0.1.0-x86_64-pc-windows-gnu.exe": True,
        "aarch64-apple-darwin/hello-0.1.0-aarch64-apple-darwin": True,
    }
    assert report["comparison"]["manifest_identical"] is True
