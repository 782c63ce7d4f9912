"""A universal2 macOS program, made by relbuild itself from a real build: a
tiny pure Go project (`CGO_ENABLED=0` for both Apple triples, no zig, no
Rust) built with `project.universal = true`. llvm-lipo-19 is the outside
reader: it names both slices, verifies them, gives each slice back byte
for byte, and its own `-create` of the two slices is our file, byte for
byte. Two builds give the same bytes; one Apple triple makes none and
says so."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.conftest import relbuild_cmd

LIPO = shutil.which("llvm-lipo-19")
X86, ARM, U = "x86_64-apple-darwin", "aarch64-apple-darwin", "universal2-apple-darwin"
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]

CONFIG = """\
schema-version = 1

[project]
name = "hello"
version = "1.0.0"
universal = true
archive = "tar.gz"

[toolchains.go]
release = "1.26.8"

[go.hello]
package = "."
test = { expect = "^hello$" }

[[targets]]
triple = "x86_64-apple-darwin"
components = ["hello"]

[[targets]]
triple = "aarch64-apple-darwin"
components = ["hello"]
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join(["/usr/bin", env.get("PATH", "")])
    return env


def _run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return relbuild_cmd(*args, env=_env(), cwd=project)


def _lipo(*args: str | Path) -> subprocess.CompletedProcess[str]:
    assert LIPO is not None, "llvm-lipo-19 (Debian llvm-19: scripts/setup.sh test) reads it back"
    return subprocess.run([LIPO, *map(str, args)], capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("universal") / "hello"
    root.mkdir()
    (root / "go.mod").write_text("module example.com/hello\n\ngo 1.22\n")
    (root / "main.go").write_text(
        'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello") }\n'
    )
    (root / "toolchains.toml").write_text(CONFIG)
    (root / ".gitignore").write_text("/.relbuild/\n/dist/\n/again/\n/one/\n")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=root, check=True)
    subprocess.run([*GIT, "commit", "-qm", "hello"], cwd=root, check=True)
    return root


def test_a_universal_program_llvm_lipo_reads_and_would_write(project: Path, tmp_path: Path) -> None:
    res = _run(project, "build")
    assert res.returncode == 0, res.stderr[-3000:]
    dist = project / "dist"
    fat = dist / U / f"hello-1.0.0-{U}"
    slices = {X86: dist / X86 / f"hello-1.0.0-{X86}", ARM: dist / ARM / f"hello-1.0.0-{ARM}"}
    assert _lipo("-info", fat).stdout.split(":")[-1].split() == ["x86_64", "arm64"]
    assert _lipo(fat, "-verify_arch", "x86_64", "arm64").returncode == 0
    for arch, triple in (("x86_64", X86), ("arm64", ARM)):
        out = tmp_path / f"thin-{arch}"
        assert _lipo(fat, "-thin", arch, "-output", out).returncode == 0
        assert out.read_bytes() == slices[triple].read_bytes(), arch
    theirs = tmp_path / "lipo-made"
    assert _lipo("-create", slices[ARM], slices[X86], "-output", theirs).returncode == 0
    assert theirs.read_bytes() == fat.read_bytes()
    # Recorded, summed, archived on its own and checked by verify.
    manifest = json.loads((dist / "manifest.json").read_text())
    assert [a["path"] for a in manifest["artifacts"] if a["target"] == U] == [
        f"{U}/hello-1.0.0-{U}",
        f"hello-1.0.0-{U}.tar.gz",
    ]
    assert f"{U}/hello-1.0.0-{U}" in (dist / "SHA256SUMS").read_text()
    verify = _run(project, "verify", "dist")
    assert verify.returncode == 0, verify.stderr[-2000:]
    test = _run(project, "test", "dist", "--json")
    statuses = {r["target"]: (r["status"], r["reason"]) for r in json.loads(test.stdout)["results"]}
    assert statuses[U] == ("not-run", "not run (no macOS runner)")

    # A second build from scratch gives the same bytes.
    again = _run(project, "build", "--force", "--out", "again")
    assert again.returncode == 0, again.stderr[-3000:]
    assert (project / "again" / U / fat.name).read_bytes() == fat.read_bytes()
    assert (project / "again" / "manifest.json").read_bytes() == (
        dist / "manifest.json"
    ).read_bytes()

    # One Apple triple: no universal file, and a warning that says why.
    one = _run(project, "build", "--target", ARM, "--out", "one")
    assert one.returncode == 0, one.stderr[-3000:]
    assert "project.universal is on, but this build covers only aarch64-apple-darwin" in one.stderr
    assert not (project / "one" / U).exists()
