"""Issue 22: doctor and plan refuse a Go module whose go.mod requires
modules but has no go.sum (exit 2, naming the go.mod), as they refuse a
broken config, and take it once go.sum is back. The gallery's pure-go
project (one module from the proxy), with the machine's pinned Go."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from relbuild.backends.base import ResolvedToolchains
from tests.conftest import CliResult

PURE_GO = Path(__file__).resolve().parents[2] / "examples" / "gallery" / "pure-go"


def test_doctor_and_plan_refuse_a_module_with_no_go_sum(
    tmp_path: Path, tools: ResolvedToolchains, relbuild: Callable[..., CliResult]
) -> None:
    project = tmp_path / "pure-go"
    shutil.copytree(PURE_GO, project)
    config = project / "toolchains.toml"
    config.write_text(
        'schema-version = 1\n[project]\nname = "puredigest"\nversion = "1.0.0"\nsandbox = "none"\n'
        f'[toolchains.go]\nrelease = "{tools.require("go").release}"\n'
        '[go.digest]\npackage = "./cmd/digest"\n'
        '[[targets]]\ntriple = "x86_64-unknown-linux-gnu"\ncomponents = ["digest"]\n'
    )
    go_sum = (project / "go.sum").read_bytes()
    (project / "go.sum").unlink()
    commands = (["doctor"], ["plan", "--source-date-epoch", "0"])
    for command in commands:
        code, _, err = relbuild("--config", config, *command)
        assert code == 2, (command, err)
        assert f"{project / 'go.mod'} requires modules but has no go.sum" in err, err
        assert "go mod tidy" in err
    (project / "go.sum").write_bytes(go_sum)
    for command in commands:
        code, _, err = relbuild("--config", config, *command)
        assert code == 0, (command, err)
