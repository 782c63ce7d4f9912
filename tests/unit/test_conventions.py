"""Issue 22, conventions: primary output on stdout and diagnostics on
stderr, plain unfolded lines on a pipe, and `size` failing over a budget.
Colour on a terminal: tests/integration/test_conventions.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from relbuild.cli.render import render_plan
from relbuild.release.dist import load_manifest, write_manifest
from relbuild.series.db import connect
from relbuild.system import proc  # noqa: F401 - imported before the no-process guard
from relbuild.verify.inventory import generate, write_inventory
from tests.conftest import REPO, CliResult
from tests.unit.test_plan import make_plan
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
    plan = make_plan()
    render_plan(plan)
    out, err = capsys.readouterr()
    assert err == ""
    assert sum(line.startswith("  argv: ") for line in out.splitlines()) == len(plan.steps)


# --- one meaning per option ----------------------------------------------------------


def _leaves() -> list[tuple[str, ...]]:
    import click

    from relbuild.cli import cli

    def walk(cmd: click.Command, path: tuple[str, ...]) -> list[tuple[str, ...]]:
        if isinstance(cmd, click.Group):
            return [p for n, c in sorted(cmd.commands.items()) for p in walk(c, (*path, n))]
        return [path]

    return walk(cli, ())


def test_config_is_accepted_after_the_command(
    tmp_path: Path, relbuild: Callable[..., CliResult]
) -> None:
    missing = tmp_path / "none.toml"
    for args in (("--config", missing, "doctor"), ("doctor", "--config", missing)):
        code, _, err = relbuild(*args)
        assert code == 2 and "none.toml" in err, err
    code, _, err = relbuild("history", "list", "-c", missing)
    assert code == 2 and "none.toml" in err, err
    code, _, err = relbuild("--config", tmp_path / "a.toml", "doctor", "--config", missing)
    assert code == 2 and "given twice" in err, err


@pytest.mark.parametrize("path", _leaves(), ids=" ".join)
def test_every_help_states_exit_codes_and_the_config_option(
    path: tuple[str, ...], relbuild: Callable[..., CliResult]
) -> None:
    code, out, _ = relbuild(*path, "--help")
    assert code == 0
    text = " ".join(out.split())
    assert "Exit 0" in text, text
    assert "-c, --config" in text
    assert "--output" not in text  # the old spelling is a hidden alias


def test_out_is_the_path_written_and_output_its_hidden_alias(
    tmp_path: Path, relbuild: Callable[..., CliResult]
) -> None:
    for flag in ("-o", "--out", "--output"):
        target = tmp_path / f"schema{flag}.json"
        code, _, err = relbuild("schema", "manifest", flag, target)
        assert code == 0 and json.loads(target.read_text())["title"], err


def test_release_version_is_the_release_and_version_says_so(
    loose: Path, relbuild: Callable[..., CliResult]
) -> None:
    code, _, err = relbuild("manifest", loose, "--release-version", "1.2.3")
    assert code == 0, err
    assert load_manifest(loose / "manifest.json").project.version == "1.2.3"
    for args in (("build", "--version"), ("build", "--version", "1.0.0")):
        code, _, err = relbuild(*args)
        assert code == 2 and "--release-version" in err, err


# --- JSON reports ----------------------------------------------------------------------

NO_JSON = {
    ("schema",): "its output is a JSON Schema already",
    ("completion",): "its output is a shell script",
}


@pytest.mark.parametrize("path", _leaves(), ids=" ".join)
def test_every_command_takes_json(
    path: tuple[str, ...], relbuild: Callable[..., CliResult]
) -> None:
    code, out, _ = relbuild(*path, "--help")
    assert code == 0
    has = any(line.lstrip().startswith("--json") for line in out.splitlines())
    assert has is (path not in NO_JSON), out


def _valid(name: str, out: str, relbuild: Callable[..., CliResult]) -> dict[str, object]:
    import jsonschema

    code, schema_text, err = relbuild("schema", name)
    assert code == 0, err
    report: dict[str, object] = json.loads(out)
    assert report["schema_version"] == 1
    jsonschema.validate(report, json.loads(schema_text))
    return report


def test_every_report_has_a_schema_with_schema_version(
    relbuild: Callable[..., CliResult],
) -> None:
    from relbuild.cli.reports import REPORTS

    for name in REPORTS:
        code, text, err = relbuild("schema", name)
        assert code == 0, (name, err)
        found = json.loads(text)
        assert "schema_version" in found["required"] and found["properties"]["schema_version"]


def test_reports_carry_schema_version_and_match_their_schema(
    tmp_path: Path, loose: Path, relbuild: Callable[..., CliResult]
) -> None:
    write_inventory(loose, generate(loose, name="p", version="1", targets={}))
    code, out, err = relbuild("verify", loose, "--json")
    assert code == 0, err
    _valid("verify", out, relbuild)
    code, out, err = relbuild("diff", loose, loose, "--json")
    assert code == 0, err
    _valid("diff", out, relbuild)

    folder = size_dist(tmp_path / "d", split_of())
    code, out, err = relbuild("size", folder, "--json")
    assert code == 0, err
    _valid("size", out, relbuild)

    code, out, err = relbuild("keygen", "--type", "ed25519", "-o", tmp_path / "k", "--json")
    assert code == 0, err
    assert _valid("keygen", out, relbuild)["public"] == f"{tmp_path / 'k'}.pub"

    db = tmp_path / "h.sqlite"
    connect(db, create=True).close()
    code, out, err = relbuild("history", "list", "--db", db, "--json")
    assert code == 0, err
    assert _valid("history-list", out, relbuild)["releases"] == []


@pytest.mark.parametrize("shell", ["zsh", "fish"])  # bash: a real bash in tests/integration
def test_completion_prints_the_shells_script(
    shell: str, relbuild: Callable[..., CliResult]
) -> None:
    code, out, err = relbuild("completion", shell)
    assert code == 0, err
    assert f"_RELBUILD_COMPLETE={shell}_complete" in out.replace('"', "").replace("'", "")


def test_completion_answers_with_the_commands(
    relbuild: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"COMP_WORDS": "relbuild hist", "COMP_CWORD": "1", "_RELBUILD_COMPLETE": "bash_complete"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    code, out, _ = relbuild()
    assert code == 0 and out.split() == ["plain,history"]


# --- docs that cannot drift ------------------------------------------------------------


def test_the_variations_in_the_readme_and_help_are_the_codes(
    relbuild: Callable[..., CliResult],
) -> None:
    import re

    from relbuild.proofs.repro import VARIATIONS

    names = ", ".join(VARIATIONS)
    readme = (REPO / "README.md").read_text()
    found = re.search(
        r"under (\d+) variations \(<!-- variations -->(.*?)<!-- /variations -->", readme
    )
    assert found is not None
    assert (int(found[1]), found[2]) == (len(VARIATIONS), names), f"README.md: put {names}"
    table = (REPO / "docs" / "reproducibility.md").read_text()
    rows = re.findall(r"^\| `([a-z-]+)` \|", table, flags=re.MULTILINE)
    assert rows == list(VARIATIONS)
    code, out, _ = relbuild("repro", "--help")
    assert code == 0 and f"({len(VARIATIONS)}: {names})" in " ".join(out.split())
    code, out, _ = relbuild("repro", "--list", "--json")
    assert code == 0 and json.loads(out)["variations"] == VARIATIONS


def test_the_workflows_in_docs_ci_are_what_relbuild_ci_prints() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("ci_docs", REPO / "scripts" / "ci_docs.py")
    assert spec is not None and spec.loader is not None
    ci_docs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ci_docs)
    text = ci_docs.DOC.read_text()
    assert len(ci_docs.BLOCK.findall(text)) == 2
    assert ci_docs.generated(text) == text, "docs/ci.md drifted: run scripts/ci_docs.py"
    # And the check sees a drift: an edited example is not what the generator prints.
    edited = text.replace("lld-19 bubblewrap qemu-user", "lld qemu-user", 1)
    assert ci_docs.generated(edited) != edited


# --- verify: progress on long runs, and what it checked -----------------------------------


def test_verify_reports_its_progress(loose: Path) -> None:
    from relbuild.verify.folder import verify

    write_inventory(loose, generate(loose, name="p", version="1", targets={}))
    heard: list[tuple[str, int, int]] = []
    report = verify(loose, leaks=True, jobs=1, progress=lambda *a: heard.append(a))
    assert report.ok
    hashing = [h for h in heard if h[0] == "hashing"]
    assert hashing and hashing[-1][1] == hashing[-1][2] == report.bytes_hashed
    scans = [h for h in heard if h[0] != "hashing"]
    assert scans[-1][1:] == (report.artifacts, report.artifacts)


def test_a_meter_is_quiet_on_a_short_run_and_says_little_in_a_log(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from relbuild.system.progress import Meter

    now = [0.0]
    meter = Meter("verify", after=1.0, every=5.0, clock=lambda: now[0], live=False)
    meter("hashing", 1 << 20, 10 << 20)  # under a second: nothing
    for t in (1.5, 2.0, 3.0, 7.0):
        now[0] = t
        meter("hashing", int(t) << 20, 10 << 20)
    now[0] = 7.5
    meter("hashing", 10 << 20, 10 << 20)
    meter.close()
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "verify: hashing 10% (1.0 of 10.0 MiB)",
        "verify: hashing 70% (7.0 of 10.0 MiB)",
        "verify: hashing 100% (10.0 of 10.0 MiB)",
    ]


def test_verify_says_what_it_checked(loose: Path, relbuild: Callable[..., CliResult]) -> None:
    write_inventory(loose, generate(loose, name="p", version="1", targets={}))
    _, _, plain = relbuild("verify", loose)
    code, _, leaks = relbuild("verify", loose, "--leaks")
    assert code == 0
    assert "no leaked path" in leaks and "no leaked path" not in plain
