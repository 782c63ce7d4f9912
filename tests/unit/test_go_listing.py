"""`go list`'s answers are kept under a key of what it reads: the headers of
Go files, the leading comments of other sources, file names, module files.
An edit inside a function keeps the key; anything go/build reads changes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from relbuild.backends.go_listing import header, listed, tree_digest

CGO = b"""//go:build linux

// Package main is a program.
package main

/*
#cgo LDFLAGS: -lbeacon
const char *word = "import";
func_t f(void);
#include "beacon.h"
*/
import "C"

import (
\t"fmt"
\tx "os"; . "strings"
)

const answer = 42

func main() { fmt.Println(x.Args, ToUpper("a"), C.f) }
"""


def test_header_ends_at_the_first_declaration() -> None:
    read = header(CGO)
    assert read is not None
    part, embed = read
    assert part.endswith(b")\n\n") and b"const answer" not in part
    assert b'const char *word = "import";' in part  # C in the preamble is comment
    assert not embed


def test_header_sees_embed_and_odd_spellings() -> None:
    assert header(b'package p; import _ "embed"; var x string')[1] is True  # type: ignore[index]
    assert header(b"package p\nimport `embed`\n")[1] is True  # type: ignore[index]
    assert header(b"package p\n") == (b"package p\n", False)
    # Not Go: the caller hashes the whole file.
    assert header(b"not go at all") is None
    assert header(b"package p\nimport (\n\t42\n)\n") is None


def module(root: Path) -> Path:
    (root / "cmd" / "app").mkdir(parents=True)
    (root / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    (root / "go.sum").write_text("")
    (root / "cmd" / "app" / "main.go").write_bytes(CGO)
    (root / "cmd" / "app" / "shim.c").write_text("//go:build linux\n\nint f(void) { return 1; }\n")
    return root


def test_edit_inside_a_function_keeps_the_key(tmp_path: Path) -> None:
    root = module(tmp_path)
    before = tree_digest(root)
    main = root / "cmd" / "app" / "main.go"
    main.write_bytes(CGO.replace(b'ToUpper("a")', b'ToUpper("b")'))
    (root / "cmd" / "app" / "shim.c").write_text("//go:build linux\n\nint f(void) { return 2; }\n")
    assert tree_digest(root) == before


@pytest.mark.parametrize(
    "change",
    [
        "import",
        "constraint",
        "c-constraint",
        "preamble",
        "new-file",
        "go.sum",
        "replace-dir",
    ],
)
def test_what_go_list_reads_changes_the_key(tmp_path: Path, change: str) -> None:
    root = module(tmp_path / "m")
    other = tmp_path / "lib"
    other.mkdir()
    (other / "go.mod").write_text("module example.com/lib\n")
    (other / "lib.go").write_text('package lib\n\nimport "os"\n')
    (root / "go.mod").write_text("module example.com/m\n\nreplace example.com/lib => ../lib\n")
    before = tree_digest(root)
    main = root / "cmd" / "app" / "main.go"
    match change:
        case "import":
            main.write_bytes(CGO.replace(b'\t"fmt"\n', b'\t"fmt"\n\t"sort"\n'))
        case "constraint":
            main.write_bytes(CGO.replace(b"//go:build linux", b"//go:build darwin"))
        case "c-constraint":
            (root / "cmd" / "app" / "shim.c").write_text("//go:build ignore\n\nint f(void);\n")
        case "preamble":
            main.write_bytes(CGO.replace(b"-lbeacon", b"-lbeacon -lm"))
        case "new-file":
            (root / "cmd" / "app" / "extra_linux.go").write_text("package main\n")
        case "go.sum":
            (root / "go.sum").write_text("example.com/x v1.0.0 h1:abc=\n")
        case "replace-dir":
            (other / "lib.go").write_text('package lib\n\nimport "io"\n')
    assert tree_digest(root) != before


def test_embed_patterns_see_new_files_below(tmp_path: Path) -> None:
    root = module(tmp_path)
    web = root / "web"
    (web / "static").mkdir(parents=True)
    source = 'package web\n\nimport _ "embed"\n\n//go:embed static\nvar s string\n'
    (web / "web.go").write_text(source)
    before = tree_digest(root)
    (web / "static" / "new.css").write_text("body {}\n")
    assert tree_digest(root) != before


def test_hidden_folders_and_caches_are_not_read(tmp_path: Path) -> None:
    root = module(tmp_path)
    before = tree_digest(root)
    (root / ".git").mkdir()
    (root / ".git" / "x.go").write_text("package x\n")
    (root / "target" / "debug").mkdir(parents=True)
    (root / "target" / "CACHEDIR.TAG").write_text("Signature: 8a477f597d28d172789f06886806bc55\n")
    (root / "target" / "debug" / "y.go").write_text("package y\n")
    assert tree_digest(root) == before


def test_listed_runs_once_per_key(tmp_path: Path) -> None:
    root = module(tmp_path / "m")
    memo = tmp_path / "memo"
    runs: list[int] = []

    def run() -> Any:
        runs.append(1)
        yield {"ImportPath": "fmt", "Standard": True, "Doc": "dropped"}
        yield {"ImportPath": "example.com/m/cmd/app", "Dir": str(root), "CgoFiles": ["main.go"]}

    env = {"GOOS": "linux", "GOARCH": "arm64", "GOWORK": "off"}
    cwd = root / "cmd" / "app"
    first = listed(memo, ["go", "./cmd/app"], env, cwd, run)
    assert first[0] == {"ImportPath": "fmt", "Standard": True}
    assert listed(memo, ["go", "./cmd/app"], env, cwd, run) == first
    assert len(runs) == 1
    # Another target, another key.
    listed(memo, ["go", "./cmd/app"], {**env, "GOARCH": "riscv64"}, cwd, run)
    assert len(runs) == 2
    # A damaged answer is asked again, not trusted.
    for n, damage in enumerate(['{"not": "a list"', '[{"Dir": "/x"}]', '[{"ImportPath": "a"}]']):
        for kept in memo.glob("*.json"):
            kept.write_text(damage)
        assert listed(memo, ["go", "./cmd/app"], env, cwd, run) == first
        assert len(runs) == 3 + n
    # Without a memo folder, always run.
    listed(None, ["go", "./cmd/app"], env, cwd, run)
    assert len(runs) == 6


def test_linked_folders_are_read_once(tmp_path: Path) -> None:
    root = module(tmp_path / "m")
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "s.go").write_text('package shared\n\nimport "os"\n')
    (root / "shared").symlink_to(shared)
    (shared / "loop").symlink_to(shared)  # a cycle ends, not loops
    before = tree_digest(root)
    (shared / "s.go").write_text('package shared\n\nimport "io"\n')
    assert tree_digest(root) != before
