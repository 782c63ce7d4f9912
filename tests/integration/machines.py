"""Separate machines on one host: copies of the example at paths of different
depth, with their own HOME, caches and (optionally) zig install. Only the
download caches, checked against Cargo.lock and go.sum, are shared."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from relbuild.backends.zig import package_zig
from tests.conftest import CONFIG, EXAMPLE, REPO

TARGETS = ("aarch64-unknown-linux-gnu", "thumbv7m-none-eabi")
EPOCH = "1700000000"


def relbuild_cmd(
    *args: str | Path, env: dict[str, str] | None = None, cwd: Path = REPO
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "relbuild", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def zig_package() -> Path:
    zig, _ = package_zig()
    assert zig is not None
    return zig.parent


def install_zig_copy(dest: Path) -> Path:
    """The pinned zig package, installed again in another folder (hard links
    where the file system allows), to be found first on PYTHONPATH."""
    site = dest / "site-packages"
    site.mkdir(parents=True)
    res = subprocess.run(
        ["cp", "-al", str(zig_package()), str(site / "ziglang")], capture_output=True, check=False
    )
    if res.returncode != 0:
        shutil.copytree(zig_package(), site / "ziglang", symlinks=True)
    return site


def project(at: Path) -> Path:
    """The example and the repository's config at ``at`` (a fresh tree)."""
    shutil.copytree(EXAMPLE, at / "beacon", ignore=shutil.ignore_patterns("target"))
    text = CONFIG.read_text().replace('"examples/beacon', '"beacon')
    (at / "toolchains.toml").write_text(text)
    return at / "toolchains.toml"


def machine_env(home: Path, pythonpath: Path | None = None) -> dict[str, str]:
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


def build(
    config: Path,
    out: Path,
    cache: Path,
    env: dict[str, str],
    targets: tuple[str, ...] = TARGETS,
) -> None:
    args: list[str | Path] = ["--config", config, "build", "--out", out, "--cache-dir", cache]
    for t in targets:
        args += ["--target", t]
    res = relbuild_cmd(*args, "--source-revision", "0" * 40, "--source-clean", env=env)
    assert res.returncode == 0, res.stderr[-4000:]


def free(*folders: Path) -> None:
    """Remove folders a fixture no longer needs (the compiled-output caches
    of builds whose dist is all the tests read): a session's builds hold GBs,
    and a CI machine may be short of disk."""
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="session")
def side_by_side(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("any-machine")
    a = project(root / "a")
    b = project(root / "second" / "machine" / "with" / "a" / "deeper" / "checkout")
    zig_b = install_zig_copy(root / "opt" / "another-zig")
    env_b = machine_env(root / "home-b", zig_b)
    # The second build really uses the zig installed elsewhere.
    doctor = relbuild_cmd("--config", b, "doctor", "--json", env=env_b)
    assert str(zig_b) in doctor.stdout, doctor.stdout[-2000:]
    build(a, root / "dist-a", root / "cache-a", machine_env(root / "home-a"))
    build(b, root / "dist-b", root / "cache-b", env_b)
    # Warm against cold: a third tree starts from a copy of a's caches.
    c = project(root / "c")
    shutil.copytree(root / "cache-a", root / "cache-c", symlinks=True)
    build(c, root / "dist-c", root / "cache-c", machine_env(root / "home-c"))
    free(root / "cache-a", root / "cache-b", root / "cache-c", root / "opt")
    return root / "dist-a", root / "dist-b", root / "dist-c"
