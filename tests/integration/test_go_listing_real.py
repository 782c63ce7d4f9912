"""The kept answers of `go list` (backends.go_listing) against the real Go:
after every kind of edit, the answer relbuild uses is the one `go list`
gives on the tree as it now is."""

from __future__ import annotations

from pathlib import Path

import pytest

from relbuild.backends.base import ResolvedToolchains
from relbuild.backends.go_module import list_deps
from relbuild.errors import CommandError
from relbuild.system import environ

MAIN = """package main

/*
#include <stdlib.h>
int twice(int x) { return 2 * x; }
*/
import "C"

import "fmt"

func main() { fmt.Println(C.twice(%d)) }
"""


def test_kept_answer_is_go_lists_answer_after_each_edit(
    tmp_path: Path, tools: ResolvedToolchains
) -> None:
    go = tools.require("go").executable
    root = tmp_path / "m"
    (root / "cmd" / "app").mkdir(parents=True)
    (root / "lib").mkdir()
    (root / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    main = root / "cmd" / "app" / "main.go"
    main.write_text(MAIN % 1)
    lib = root / "lib" / "lib.go"
    lib.write_text('package lib\n\nimport "strings"\n\nvar X = strings.ToUpper\n')
    memo = tmp_path / "memo"
    env = {
        **environ.probe_env(),
        "GOOS": "linux",
        "GOARCH": "amd64",
        "CGO_ENABLED": "1",
        "GOWORK": "off",
        "GOTOOLCHAIN": "local",
        "GOFLAGS": "",
        "GOCACHE": str(tmp_path / "gocache"),
    }

    def both() -> tuple[list[str], list[str]]:
        kept = list_deps(go, "./cmd/app", env, root, (), memo)
        fresh = list_deps(go, "./cmd/app", env, root, ())
        return [p["ImportPath"] for p in kept], [p["ImportPath"] for p in fresh]

    kept, fresh = both()
    assert kept == fresh and "example.com/m/lib" not in kept
    answers = len(list(memo.iterdir()))
    main.write_text(MAIN % 2)  # inside a function: the kept answer serves
    assert both()[0] == fresh
    assert len(list(memo.iterdir())) == answers
    uses_lib = 'import (\n\t"fmt"\n\t_ "example.com/m/lib"\n)'
    main.write_text((MAIN % 2).replace('import "fmt"', uses_lib))
    kept, fresh = both()
    assert kept == fresh and "example.com/m/lib" in kept
    lib.write_text('package lib\n\nimport "sort"\n\nvar X = sort.Ints\n')
    kept, fresh = both()
    assert kept == fresh and "sort" in kept and "strings" not in kept
    # cgo off for the same tree: another key, so go's own refusal (a main
    # of cgo files only), not the answer kept for cgo on.
    env["CGO_ENABLED"] = "0"
    with pytest.raises(CommandError):
        both()
