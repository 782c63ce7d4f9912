"""Same bytes on any machine: two builds of the example that share no cache of
compiled output, at project paths of different depth, with different HOMEs
and the pinned zig installed in two different folders, give a byte-identical
dist, manifest included. A third build at yet another path, starting from a
copy of the first one's caches (warm against cold), gives it too.

One hosted cgo target and one firmware target show it; the leak that this
guards against sat in the DWARF of the libc zig builds for cgo.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from relbuild.backends.zig import package_zig
from tests.conftest import CONFIG, EXAMPLE
from tests.integration.conftest import relbuild_cmd

TARGETS = ("aarch64-unknown-linux-gnu", "thumbv7m-none-eabi")
EPOCH = "1700000000"


def _zig_package() -> Path:
    zig, _ = package_zig()
    assert zig is not None
    return zig.parent


def _install_zig_copy(dest: Path) -> Path:
    """The pinned zig package, installed again in another folder (hard links
    where the file system allows), to be found first on PYTHONPATH."""
    site = dest / "site-packages"
    site.mkdir(parents=True)
    res = subprocess.run(
        ["cp", "-al", str(_zig_package()), str(site / "ziglang")], capture_output=True, check=False
    )
    if res.returncode != 0:
        shutil.copytree(_zig_package(), site / "ziglang", symlinks=True)
    return site


def _project(at: Path) -> Path:
    """The example and the repository's config at ``at`` (a fresh tree)."""
    shutil.copytree(EXAMPLE, at / "beacon", ignore=shutil.ignore_patterns("target"))
    text = CONFIG.read_text().replace('root = "examples/beacon"', 'root = "beacon"')
    (at / "toolchains.toml").write_text(text)
    return at / "toolchains.toml"


def _env(home: Path, pythonpath: Path | None = None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("ZIG_GLOBAL_CACHE_DIR", "ZIG_LOCAL_CACHE_DIR", "GOCACHE", "CARGO_TARGET_DIR")
    }
    # Download caches (checked against Cargo.lock and go.sum) may be shared;
    # nothing that holds compiled output is.
    env["CARGO_HOME"] = os.environ.get("CARGO_HOME", str(Path.home() / ".cargo"))
    env["GOMODCACHE"] = os.environ.get("GOMODCACHE", str(Path.home() / "go" / "pkg" / "mod"))
    env["HOME"] = str(home)
    env["SOURCE_DATE_EPOCH"] = EPOCH
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(pythonpath), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
    home.mkdir(parents=True, exist_ok=True)
    return env


def _build(config: Path, out: Path, cache: Path, env: dict[str, str]) -> None:
    args: list[str | Path] = ["--config", config, "build", "--out", out, "--cache-dir", cache]
    for t in TARGETS:
        args += ["--target", t]
    res = relbuild_cmd(*args, "--source-revision", "0" * 40, "--source-clean", env=env)
    assert res.returncode == 0, res.stderr[-4000:]


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="session")
def side_by_side(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("any-machine")
    a = _project(root / "a")
    b = _project(root / "second" / "machine" / "with" / "a" / "deeper" / "checkout")
    zig_b = _install_zig_copy(root / "opt" / "another-zig")
    env_b = _env(root / "home-b", zig_b)
    # The second build really uses the zig installed elsewhere.
    doctor = relbuild_cmd("--config", b, "doctor", "--json", env=env_b)
    assert str(zig_b) in doctor.stdout, doctor.stdout[-2000:]
    _build(a, root / "dist-a", root / "cache-a", _env(root / "home-a"))
    _build(b, root / "dist-b", root / "cache-b", env_b)
    # Warm against cold: a third tree starts from a copy of a's caches.
    c = _project(root / "c")
    shutil.copytree(root / "cache-a", root / "cache-c", symlinks=True)
    _build(c, root / "dist-c", root / "cache-c", _env(root / "home-c"))
    return root / "dist-a", root / "dist-b", root / "dist-c"


def test_two_machines_give_identical_dists(side_by_side: tuple[Path, Path, Path]) -> None:
    a, b, _ = side_by_side
    da, db = _digests(a), _digests(b)
    assert "manifest.json" in da
    assert any(name.endswith("/beacon-0.3.1-aarch64-unknown-linux-gnu") for name in da)
    differing = sorted(k for k in da.keys() | db.keys() if da.get(k) != db.get(k))
    assert differing == []


def test_warm_cache_gives_the_cold_bytes(side_by_side: tuple[Path, Path, Path]) -> None:
    a, _, c = side_by_side
    assert _digests(a) == _digests(c)


def test_manifest_names_no_machine_path(side_by_side: tuple[Path, Path, Path]) -> None:
    a, _, _ = side_by_side
    text = (a / "manifest.json").read_text()
    root = str(a.parent)
    assert root not in text
    assert str(_zig_package()) not in text
    manifest = json.loads(text)
    for tool in manifest["toolchains"].values():
        assert "found_via" not in tool
