"""doctor and pin resolution against the real toolchains of this machine."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from relbuild.backends.base import ResolvedToolchains
from tests.conftest import CONFIG, EXAMPLE, CliResult
from tests.integration.conftest import example_copy


def config_with(tmp_path: Path, old: str, new: str) -> Path:
    text = CONFIG.read_text()
    assert old in text
    text = text.replace(old, new, 1).replace('"examples/beacon', f'"{EXAMPLE}')
    path = tmp_path / "toolchains.toml"
    path.write_text(text)
    return path


def test_doctor_reports_everything_satisfied(relbuild: Callable[..., CliResult]) -> None:
    code, out, err = relbuild("--config", CONFIG, "doctor", "--json")
    report = json.loads(out)
    assert code == 0, err
    assert report["ok"] is True
    assert {t["tool"]: t["status"] for t in report["tools"]} == {
        "rust": "ok",
        "go": "ok",
        "zig": "ok",
    }
    needs = {(c["subject"], c["need"]) for c in report["checks"]}
    assert ("thumbv7m-none-eabi", "rust std source (build-std)") in needs
    assert ("thumbv7m-none-eabi", "linker") in needs
    assert ("aarch64-unknown-linux-gnu", "cgo C compiler") in needs
    assert ("riscv32imac-unknown-none-elf", "qemu runner") in needs
    assert all(c["ok"] for c in report["checks"])
    assert "every pin and target need is satisfied" in err


def test_resolved_tools_are_absolute_and_match_pins(tools: ResolvedToolchains) -> None:
    rust, go, zig = tools.require("rust"), tools.require("go"), tools.require("zig")
    assert rust.release == "1.96.0" and (rust.commit or "").startswith("ac68faa20")
    assert Path(rust.paths["cargo"]).is_absolute() and Path(rust.paths["cargo"]).is_file()
    assert go.release == "1.26.8" and Path(go.executable).is_absolute()
    assert zig.release == "0.15.2" and Path(zig.executable).is_file()


def test_rust_pin_mismatch_is_refused_with_fix(
    tmp_path: Path, relbuild: Callable[..., CliResult]
) -> None:
    path = config_with(tmp_path, 'release = "1.96.0"', 'release = "1.94.0"')
    code, out, _ = relbuild("--config", path, "doctor", "--json")
    assert code == 3
    row = next(t for t in json.loads(out)["tools"] if t["tool"] == "rust")
    assert row["status"] == "mismatch" and row["found"].startswith("1.96.0")
    assert "Rust 1.94.0 (commit ac68faa20) is pinned" in row["fix"]
    assert "rustc 1.96.0 (ac68faa20) at /usr/bin/rustc (path /usr/bin)" in row["fix"]
    assert "rustup toolchain install 1.94.0" in row["fix"]


def test_rust_commit_mismatch_is_refused(tmp_path: Path) -> None:
    from relbuild.backends.toolchains import resolve_all
    from relbuild.config import load_config
    from relbuild.errors import ToolchainError
    from relbuild.system import environ

    path = config_with(tmp_path, 'commit = "ac68faa20', 'commit = "0000faa20')
    try:
        resolve_all(load_config(path).config, environ.probe_env())
    except ToolchainError as exc:
        assert exc.exit_code == 3
        assert "commit 0000faa20" in str(exc)
    else:
        raise AssertionError("a wrong commit pin was accepted")


def test_zig_pin_mismatch(tmp_path: Path, relbuild: Callable[..., CliResult]) -> None:
    path = config_with(tmp_path, 'release = "0.15.2"', 'release = "0.14.1"')
    code, out, _ = relbuild("--config", path, "doctor", "--json")
    assert code == 3
    row = next(t for t in json.loads(out)["tools"] if t["tool"] == "zig")
    assert row["status"] == "mismatch" and row["found"] == "0.15.2"
    assert "pip install ziglang==0.14.1" in row["fix"]


def test_go_pin_that_cannot_be_fetched(tmp_path: Path, relbuild: Callable[..., CliResult]) -> None:
    # go1.0.1 has no toolchain module, so GOTOOLCHAIN cannot fetch it.
    path = config_with(tmp_path, 'release = "1.26.8"', 'release = "1.0.1"')
    code, out, _ = relbuild("--config", path, "doctor", "--json")
    assert code == 3
    row = next(t for t in json.loads(out)["tools"] if t["tool"] == "go")
    assert row["status"] != "ok" and "GOTOOLCHAIN=go1.0.1" in row["fix"]


def test_missing_linker_is_a_target_problem_with_fix(
    tmp_path: Path, relbuild: Callable[..., CliResult]
) -> None:
    path = config_with(tmp_path, 'linker = "ld.lld-19"', 'linker = "ld.lld-99"')
    code, out, err = relbuild("--config", path, "doctor", "--json")
    assert code == 3
    bad = [c for c in json.loads(out)["checks"] if not c["ok"]]
    assert [(c["subject"], c["need"]) for c in bad] == [("thumbv7m-none-eabi", "linker")]
    assert "install `ld.lld-99`" in bad[0]["fix"]
    assert "problem: thumbv7m-none-eabi: linker" in err


def test_plan_with_nothing_to_build_is_a_usage_error(
    relbuild: Callable[..., CliResult],
) -> None:
    code, _, err = relbuild("--config", CONFIG, "plan", "-t", "thumbv7m-none-eabi", "-p", "beacon")
    assert code == 2 and "nothing to build" in err


def test_config_outside_the_project_repository(
    tmp_path: Path, relbuild: Callable[..., CliResult]
) -> None:
    path = config_with(tmp_path, 'name = "beacon"', 'name = "beacon"')
    code, out, err = relbuild("--config", path, "plan", "--json")
    assert code == 0, err
    assert json.loads(out)["steps"]


def test_init_refuses_a_project_with_nothing_to_build(
    tmp_path: Path, relbuild: Callable[..., CliResult]
) -> None:
    (tmp_path / "Cargo.toml").write_text(
        '[package]\nname = "onlylib"\nversion = "0.1.0"\nedition = "2021"\n'
    )
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "lib.rs").write_text("pub fn f() {}\n")
    code, _, err = relbuild("init", tmp_path)
    assert code == 2 and "found no staticlib, binary or Go main package" in err
    assert not (tmp_path / "toolchains.toml").exists()
    (tmp_path / "Cargo.toml").write_text("[package\n")
    code, _, err = relbuild("init", tmp_path)
    assert code == 2 and "cargo cannot read the workspace" in err


def test_offline_plan_keeps_cargo_and_go_off_the_network(
    relbuild: Callable[..., CliResult],
) -> None:
    code, out, err = relbuild(
        "--config", CONFIG, "plan", "--offline", "--json", "-t", "aarch64-unknown-linux-gnu"
    )
    assert code == 0, err
    cargo, go = json.loads(out)["steps"]
    assert "--offline" in cargo["argv"] and "--locked" in cargo["argv"]
    assert go["env"]["GOPROXY"] == "off" and "-mod=readonly" in go["argv"]


def test_no_linker_is_needed_where_nothing_links(
    tmp_path: Path, relbuild: Callable[..., CliResult]
) -> None:
    """A bare-metal target that builds only a staticlib links nothing: doctor
    must not ask for a linker there, and the build works without one."""
    project, config = example_copy(
        tmp_path, '[[targets]]\ntriple = "thumbv7em-none-eabihf"\ncomponents = ["beacon-ffi"]\n'
    )
    code, out, err = relbuild("--config", config, "doctor", "--json")
    assert code == 0, out + err
    needs = [
        c["need"] for c in json.loads(out)["checks"] if c["subject"] == "thumbv7em-none-eabihf"
    ]
    assert "linker" not in needs
    assert "rust std source (build-std)" in needs
    code, _, err = relbuild(
        "--config",
        config,
        "build",
        "--out",
        tmp_path / "dist",
        "--cache-dir",
        tmp_path / "c",
        "--source-date-epoch",
        "1700000000",
    )
    assert code == 0, err
    assert (tmp_path / "dist" / "thumbv7em-none-eabihf").is_dir()
    assert project.is_dir()
