"""Issue 22: a Go module whose go.mod requires modules from outside the
project but has no go.sum cannot build (Go stops at "missing go.sum
entry"); doctor, plan and check refuse it. Requirements met inside the
project (a local replace, a module of the go.work) need no sum."""

from __future__ import annotations

from pathlib import Path

import pytest

from relbuild.backends.gomod_text import go_mod_requires, needs_go_sum
from tests.unit.test_init_shapes import write

XXHASH = "require github.com/cespare/xxhash/v2 v2.3.0\n"


def test_requirements_are_read_in_both_forms() -> None:
    text = (
        "module m\n\nrequire (\n\tgolang.org/x/sys v0.1.0 // indirect\n\n\ta.b/c v1\n)\n" + XXHASH
    )
    assert go_mod_requires(text) == ["golang.org/x/sys", "a.b/c", "github.com/cespare/xxhash/v2"]


def test_a_module_requiring_others_with_no_go_sum_is_found(tmp_path: Path) -> None:
    root = write(tmp_path, {"go.mod": "module m\n\ngo 1.22\n\n" + XXHASH, "cmd/x/main.go": ""})
    assert needs_go_sum(root, root / "cmd" / "x") == root / "go.mod"
    (root / "go.sum").write_text("")
    assert needs_go_sum(root, root / "cmd" / "x") is None


@pytest.mark.parametrize(
    "files",
    [
        {"go.mod": "module m\n\ngo 1.22\n"},  # requires nothing
        {  # a local replace
            "go.mod": "module m\n\nrequire example.com/lib v0.0.0\n\n"
            "replace example.com/lib => ./lib\n",
            "lib/go.mod": "module example.com/lib\n",
        },
    ],
)
def test_a_module_that_needs_no_sums_is_not_refused(tmp_path: Path, files: dict[str, str]) -> None:
    root = write(tmp_path, files)
    assert needs_go_sum(root, root) is None


def test_a_workspace_module_meets_a_requirement_but_an_outside_one_does_not(
    tmp_path: Path,
) -> None:
    root = write(
        tmp_path,
        {  # the gallery's workspace shape
            "go.work": "go 1.24\n\nuse (\n\t./app\n\t./gotally\n)\n",
            "app/go.mod": "module example.com/app\n\nrequire example.com/gotally v0.0.0\n",
            "gotally/go.mod": "module example.com/gotally\n",
        },
    )
    assert needs_go_sum(root, root / "app") is None
    (root / "app" / "go.mod").write_text(
        "module example.com/app\n\nrequire example.com/gotally v0.0.0\n" + XXHASH
    )
    assert needs_go_sum(root, root / "app") == root / "app" / "go.mod"
    (root / "go.work.sum").write_text("")
    assert needs_go_sum(root, root / "app") is None
