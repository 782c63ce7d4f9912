"""Issue 22, conventions: primary output on stdout and diagnostics on
stderr, plain unfolded lines on a pipe, and `size` failing over a budget.
Colour on a terminal: tests/integration/test_conventions.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from relbuild.release.dist import load_manifest, write_manifest
from relbuild.verify.inventory import generate, write_inventory
from tests.conftest import CliResult
from tests.unit.test_size_file import dist as size_dist
from tests.unit.test_size_file import split_of

LONG = "a-file-name-long-enough-to-be-folded-" * 6


@pytest.fixture
def loose(tmp_path: Path) -> Path:
    """A folder of files with no manifest yet, one with a very long name."""
    folder = tmp_path / "loose"
    folder.mkdir()
    for name in ("one.txt", LONG):
        (folder / name).write_text(name)
    return folder


def test_an_inventory_is_on_stdout(loose: Path, relbuild: Callable[..., CliResult]) -> None:
    code, out, err = relbuild("manifest", loose)
    assert code == 0, err
    assert "wrote " in out and "  one.txt: file" in out and err == ""


def test_with_json_stdout_holds_the_json_alone(
    loose: Path, relbuild: Callable[..., CliResult]
) -> None:
    code, out, err = relbuild("manifest", loose, "--json")
    assert code == 0, err
    assert json.loads(out)["project"]["name"] == "loose"
    assert "one.txt: file" in err


def test_a_pipe_gets_a_table_row_on_one_line(
    loose: Path, relbuild: Callable[..., CliResult]
) -> None:
    write_inventory(loose, generate(loose, name="p", version="1", targets={}))
    (loose / LONG).write_text("changed")
    code, _, err = relbuild("verify", loose)
    assert code == 1
    (row,) = [line for line in err.splitlines() if "changed" in line or LONG[:20] in line]
    assert LONG in row, err


def test_size_is_on_stdout_and_exits_1_over_a_budget(
    tmp_path: Path, relbuild: Callable[..., CliResult]
) -> None:
    folder = size_dist(tmp_path / "d", split_of())
    code, out, err = relbuild("size", folder)
    assert code == 0, err
    assert "flash budget -" in out and "deepest stack path" in out

    manifest = load_manifest(folder / "manifest.json")
    fw = manifest.artifacts[0]
    assert fw.footprint is not None
    over = fw.footprint.model_copy(update={"flash_budget": fw.footprint.flash - 1})
    arts = [fw.model_copy(update={"footprint": over}), *manifest.artifacts[1:]]
    write_manifest(folder, manifest.model_copy(update={"artifacts": arts}))
    code, out, err = relbuild("size", folder, "--json")
    assert code == 1
    assert json.loads(out)["over_budget"] == [f"{fw.path}: flash"]
    assert "over budget" in err


def test_a_plan_is_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    from relbuild.cli.render import render_plan
    from tests.unit.test_plan import make_plan

    plan = make_plan()
    render_plan(plan)
    out, err = capsys.readouterr()
    assert err == ""
    assert sum(line.startswith("  argv: ") for line in out.splitlines()) == len(plan.steps)
