"""Issue 22: `relbuild check` validates the config and the project's locks
without touching a toolchain (this suite refuses any child process): a
go.mod that requires modules with no go.sum is an error (exit 2), a Cargo
workspace with no Cargo.lock a warning (exit 0), a broken config exit 2."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import CliResult
from tests.unit.test_init_shapes import write

GO_CONFIG = """schema-version = 1
[project]
name = "tool"
sandbox = "none"
[toolchains.go]
release = "1.26.8"
[go.tool]
package = "./cmd/tool"
[[targets]]
triple = "x86_64-unknown-linux-gnu"
components = ["tool"]
"""
RUST_CONFIG = """schema-version = 1
[project]
name = "app"
[toolchains.rust]
release = "1.96.0"
[rust.app]
kind = "executable"
path = "app"
[[targets]]
triple = "aarch64-unknown-linux-gnu"
components = ["app"]
"""


def go_project(root: Path) -> Path:
    return write(
        root,
        {
            "toolchains.toml": GO_CONFIG,
            "go.mod": "module example.com/tool\n\ngo 1.24\n\n"
            "require github.com/cespare/xxhash/v2 v2.3.0\n",
            "cmd/tool/main.go": "package main\n\nfunc main() {}\n",
        },
    )


def test_a_go_mod_requiring_modules_with_no_go_sum_is_an_error(
    tmp_path: Path, relbuild: Callable[..., CliResult]
) -> None:
    project = go_project(tmp_path)
    code, out, _ = relbuild("--config", project / "toolchains.toml", "check")
    assert code == 2
    assert out.splitlines()[0].startswith(
        f"error: tool: {project / 'go.mod'} requires modules but has no go.sum"
    )
    assert "check: not ready" in out.splitlines()[-1]
    code, out, _ = relbuild("--config", project / "toolchains.toml", "check", "--json")
    report = json.loads(out)
    assert code == 2 and report["ok"] is False and report["schema_version"] == 1
    (project / "go.sum").write_text("")
    code, out, _ = relbuild("--config", project / "toolchains.toml", "check")
    assert (code, out.startswith("check: ok:")) == (0, True), out


def test_a_missing_cargo_lock_is_a_warning(
    tmp_path: Path, relbuild: Callable[..., CliResult]
) -> None:
    project = write(
        tmp_path,
        {
            "toolchains.toml": RUST_CONFIG,
            "app/Cargo.toml": '[package]\nname = "app"\nversion = "0.1.0"\n',
            "app/src/main.rs": "fn main() {}\n",
        },
    )
    code, out, _ = relbuild("--config", project / "toolchains.toml", "check")
    assert code == 0, out
    assert out.startswith(f"warning: app: {project / 'app' / 'Cargo.lock'} is missing")
    assert "0 error(s), 1 warning(s)" in out


def test_a_broken_config_is_exit_2_naming_the_key(
    tmp_path: Path, relbuild: Callable[..., CliResult]
) -> None:
    project = go_project(tmp_path)
    config = project / "toolchains.toml"
    config.write_text(GO_CONFIG.replace('package = "./cmd/tool"', 'package = "./cmd/tol"'))
    code, _, err = relbuild("--config", config, "check")
    assert code == 2 and "go.tool.package" in err
