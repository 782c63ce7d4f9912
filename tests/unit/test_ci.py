"""plan --matrix and the generated CI workflows, from the repository's config
(nothing runs; actionlint is in tests/integration/test_ci.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from relbuild.ci.matrix import entries
from relbuild.ci.workflows import ACTIONS, github, gitlab
from relbuild.config import load_config
from relbuild.errors import UsageError
from tests.conftest import CONFIG, CliResult

ALL = [t.triple for t in load_config(CONFIG).config.targets]
BARE = ["thumbv7m-none-eabi", "thumbv7em-none-eabihf", "riscv32imac-unknown-none-elf"]


def test_one_entry_per_target_in_config_order() -> None:
    found = entries(load_config(CONFIG))
    assert [e.targets for e in found] == ALL
    assert [e.name for e in found] == ALL
    assert found[0].target_args == f"--target {ALL[0]}"
    assert {e.kind for e in found} == {"hosted", "bare-metal"}


def test_per_runner_keeps_order() -> None:
    found = entries(load_config(CONFIG), per_runner=3)
    assert [e.targets.split() for e in found] == [ALL[0:3], ALL[3:6], ALL[6:]]
    assert " ".join(e.targets for e in found).split() == ALL


def test_group_by_kind_never_mixes() -> None:
    found = entries(load_config(CONFIG), group_by="kind")
    assert [(e.kind, e.targets.split()) for e in found] == [
        ("hosted", [t for t in ALL if t not in BARE]),
        ("bare-metal", [t for t in ALL if t in BARE]),
    ]
    split = entries(load_config(CONFIG), group_by="kind", per_runner=2)
    assert all(e.kind != "mixed" for e in split)
    assert " ".join(e.targets for e in split).split() == [t for t in ALL if t not in BARE] + [
        t for t in ALL if t in BARE
    ]


def test_per_runner_zero_refused() -> None:
    with pytest.raises(UsageError, match="--per-runner 0"):
        entries(load_config(CONFIG), per_runner=0)


def test_plan_matrix_is_one_line_of_json(relbuild: Callable[..., CliResult]) -> None:
    code, out, err = relbuild("--config", CONFIG, "plan", "--matrix")
    assert code == 0, err
    assert out.count("\n") == 1  # fits in $GITHUB_OUTPUT as name=value
    matrix = json.loads(out)
    assert [e["targets"] for e in matrix["include"]] == ALL
    code, out, err = relbuild("--config", CONFIG, "plan", "--matrix", "gitlab", "--per-runner", "4")
    assert code == 0, err
    assert [e["TARGETS"].split() for e in json.loads(out)] == [ALL[:4], ALL[4:]]


def _load(text: str) -> dict[str, Any]:
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def test_github_workflow_shape() -> None:
    flow = _load(github(load_config(CONFIG)))
    assert list(flow["jobs"]) == ["plan", "build", "merge"]
    build, merge = flow["jobs"]["build"], flow["jobs"]["merge"]
    assert build["needs"] == "plan" and merge["needs"] == "build"
    assert build["strategy"]["matrix"] == "${{ fromJSON(needs.plan.outputs.matrix) }}"
    uses = [s["uses"] for job in flow["jobs"].values() for s in job["steps"] if "uses" in s]
    assert uses and all(u in ACTIONS.values() for u in uses)
    assert all(u.split("@")[1].count(".") == 2 for u in uses)  # exact releases
    runs = "\n".join(s.get("run", "") for s in merge["steps"])
    assert "relbuild merge parts/part-*/ --out dist" in runs
    assert "relbuild verify dist" in runs
    keys = [s["with"]["key"] for s in build["steps"] if s.get("uses") == ACTIONS["cache"]]
    assert len(keys) == 2 and all("rust1.96.0-go1.26.8-zig0.15.2" in k for k in keys)


def test_gitlab_pipeline_shape() -> None:
    pipeline = _load(gitlab(load_config(CONFIG), group_by="kind"))
    assert pipeline["stages"] == ["plan", "build", "merge"]
    build = pipeline["build"]
    assert [m["TARGET_ARGS"] for m in build["parallel"]["matrix"]] == [
        e.target_args for e in entries(load_config(CONFIG), group_by="kind")
    ]
    assert build["needs"] == ["plan"] and pipeline["merge"]["needs"] == ["build"]
    assert any("relbuild merge" in line for line in pipeline["merge"]["script"])
    assert any("--group-by kind" in line for line in pipeline["plan"]["script"])
    assert all("rust1.96.0" in c["key"] for c in build["cache"])


def test_ci_commands_print_the_workflows(relbuild: Callable[..., CliResult]) -> None:
    code, out, err = relbuild("--config", CONFIG, "ci", "github", "--per-runner", "2")
    assert code == 0, err
    assert "--per-runner 2" in out and _load(out)["jobs"]
    code, out, err = relbuild("--config", CONFIG, "ci", "gitlab")
    assert code == 0, err
    assert len(_load(out)["build"]["parallel"]["matrix"]) == len(ALL)
