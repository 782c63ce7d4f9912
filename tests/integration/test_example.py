"""The bundled example's own tests, run with the pinned toolchains."""

from __future__ import annotations

import shutil
from pathlib import Path

from relbuild.backends.base import ResolvedToolchains
from relbuild.backends.rustc import cargo_env
from relbuild.system import environ, proc
from tests.conftest import EXAMPLE


def copy_example(tmp_path: Path) -> Path:
    dest = tmp_path / "beacon"
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns("target"))
    return dest


def test_rust_unit_tests(tools: ResolvedToolchains, tmp_path: Path) -> None:
    rust = tools.require("rust")
    env = {**environ.probe_env(), **cargo_env(rust), "CARGO_TARGET_DIR": str(tmp_path / "target")}
    res = proc.run([rust.paths["cargo"], "test", "--locked", "--workspace"], env=env, cwd=EXAMPLE)
    assert "test result: ok. 4 passed" in res.output  # beacon-core
    assert "test result: ok. 2 passed" in res.output  # beacon-ffi
    assert "FAILED" not in res.output


def test_go_unit_tests_pure_and_cgo(tools: ResolvedToolchains, tmp_path: Path) -> None:
    go, rust, zig = tools.require("go"), tools.require("rust"), tools.require("zig")
    base = {**environ.probe_env(), "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=readonly"}
    pure = proc.run(
        [go.executable, "test", "-count=1", "-v", "./..."],
        env={**base, "CGO_ENABLED": "0"},
        cwd=EXAMPLE,
    )
    assert "--- PASS: TestEncodeFrame" in pure.output

    # With cgo the same tests run against the Rust kernel.
    target = tmp_path / "target"
    proc.run(
        [rust.paths["cargo"], "build", "--locked", "--release", "-p", "beacon-ffi"],
        env={**environ.probe_env(), **cargo_env(rust), "CARGO_TARGET_DIR": str(target)},
        cwd=EXAMPLE,
    )
    cc = tmp_path / "cc"
    cc.write_text(f'#!/bin/sh\nexec "{zig.executable}" cc -target x86_64-linux-musl "$@"\n')
    cc.chmod(0o755)
    cgo = proc.run(
        [go.executable, "test", "-count=1", "-v", "./..."],
        env={
            **base,
            "CGO_ENABLED": "1",
            "CC": str(cc),
            "CGO_CFLAGS": f"-I{EXAMPLE}/crates/beacon-ffi/include",
            "CGO_LDFLAGS": f"-L{target}/release",
            "ZIG_GLOBAL_CACHE_DIR": str(Path.home() / ".cache" / "zig"),
        },
        cwd=EXAMPLE,
    )
    assert "--- PASS: TestEncodeFrame" in cgo.output


def test_init_writes_a_config_that_loads(tools: ResolvedToolchains, tmp_path: Path) -> None:
    from relbuild.config import load_config
    from relbuild.project.init import init

    project = copy_example(tmp_path)
    rust = tools.require("rust")
    # Put the pinned rust first on PATH, as a user who installed it would.
    env = environ.probe_env()
    env["PATH"] = f"{Path(rust.paths['rustc']).parent}:{env['PATH']}"
    out = project / "toolchains.toml"
    init(project, out, env, force=False)
    config = load_config(out).config
    assert config.project.version == "0.3.1"
    assert config.toolchains.rust is not None and config.toolchains.rust.release == "1.96.0"
    assert config.toolchains.go is not None and config.toolchains.go.release == "1.26.8"
    assert config.toolchains.zig is not None and config.toolchains.zig.release == "0.15.2"
    assert config.rust["beacon-ffi"].kind == "staticlib"
    assert config.rust["beacon-ffi"].header == "crates/beacon-ffi/include/beacon.h"
    assert config.go["beacon"].package == "./cmd/beacon"
    assert config.go["beacon"].links == ["beacon-ffi"]
    assert config.targets[0].triple == "x86_64-unknown-linux-gnu"
    # Issue 22: the no_std firmware (build.rs passes -T) and the licence.
    assert config.rust["beacon-fw"].kind == "firmware"
    assert config.project.license_files == ["LICENSE"]
    bare = {t.triple: t.components for t in config.targets if t.info.bare_metal}
    assert bare == {
        "thumbv7em-none-eabihf": ["beacon-fw"],
        "riscv32imac-unknown-none-elf": ["beacon-fw"],
    }
