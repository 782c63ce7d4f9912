"""`relbuild init` on hostile project folders: the gallery's nested project
with files mutated, replaced by FIFOs, devices and links out of the tree,
folders nested past the depth cap, Go lines that make backtracking patterns
slow. Init reads the tree and gives its components, or a ConfigError (exit
2) naming the project; never another exception, never a hang, never a read
of a file outside the tree, in time linear in what it reads.

Pinning runs the toolchains, so it is left out: this is everything init does
before and around it (the walk, the reads, the Go scan, the rust-toolchain
notes, the .gitignore)."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from relbuild.backends import gomod_text
from relbuild.errors import ConfigError
from relbuild.project import buildrs, firmware, goscan, treescan
from relbuild.project.goinit import go_components
from relbuild.project.init import _workspace_roots, ignore_outputs, read_tree
from tests.conftest import REPO
from tests.fuzz.conftest import examples

SEED = REPO / "examples" / "gallery" / "nested"
SEED_FILES = {
    p.relative_to(SEED).as_posix(): p.read_bytes()
    for p in sorted(SEED.rglob("*"))
    if p.is_file() and p.suffix in (".go", ".mod", ".toml", ".h") and "target" not in p.parts
}
SECRET = b"outside the project\n"

# Lines that reach the corners of the Go scan.
NASTY_LINES = [
    "import (", "import (\n" * 500, "#cgo " * 2000, "// #cgo \n" * 500, 'import "C"',
    "// #cgo LDFLAGS: -lgauge -lledger", "#cgo linux LDFLAGS:-lx", 'import "' + "a" * 5000,
    'import "example.com/meterd/../../../etc"', 'import "example.com/meterd/"',
    'import "example.com/meterd//x"', "package main", "package", "module", "module \"\"",
    "use ./go/meterd", "use (", "use ../..", "replace example.com/x => ../../..", "replace (",
    "//export F", "func main() {}", "//go:build ignore", "#cgo LDFLAGS: ${SRCDIR}/libgauge_x.a",
    ")" * 300, '"' * 301, "\x00\xff", "\u202e", "\r\n" * 10, "import ( \"a\"; \"b\" )",
]  # fmt: skip

KINDS = ["mutate", "mutate", "fifo", "dev-zero", "outside", "loop", "folder", "huge", "drop"]


@st.composite
def hostile_tree(draw: st.DrawFn) -> tuple[dict[str, bytes], list[tuple[str, str]], int]:
    """(files, changes: (path, kind), extra depth)."""
    files = dict(SEED_FILES)
    names = [*sorted(files), "go/meterd/go.mod", "Cargo.toml", ".gitignore", "rust-toolchain"]
    names += ["go.work", "go/go.work"]
    changes: list[tuple[str, str]] = []
    for _ in range(draw(st.integers(1, 5))):
        rel = draw(st.sampled_from(names))
        kind = draw(st.sampled_from(KINDS))
        if kind == "mutate":
            lines = files.get(rel, b"").decode(errors="replace").splitlines()
            for _ in range(draw(st.integers(1, 4))):
                at = draw(st.integers(0, len(lines)))
                line = draw(st.sampled_from(NASTY_LINES) | st.text(max_size=40))
                lines.insert(at, line * draw(st.sampled_from([1, 1, 50, 1000])))
            files[rel] = "\n".join(lines).encode("utf-8", errors="surrogatepass")
        else:
            changes.append((rel, kind))
    return files, changes, draw(st.sampled_from([0, 0, 5, treescan.MAX_DEPTH + 5]))


def build(root: Path, tree: tuple[dict[str, bytes], list[tuple[str, str]], int]) -> Path:
    files, changes, depth = tree
    (root / "secret").write_bytes(SECRET)
    project = root / "p"
    for rel, data in files.items():
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / rel).write_bytes(data)
    for rel, kind in changes:
        path = project / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir() or path.exists():
            continue
        if kind == "fifo":
            os.mkfifo(path)
        elif kind == "dev-zero":
            path.symlink_to("/dev/zero")
        elif kind == "outside":
            path.symlink_to(root / "secret")
        elif kind == "loop":
            path.symlink_to(project)
        elif kind == "folder":
            path.mkdir()
        elif kind == "huge":
            path.write_bytes(b"package main\n" + b"// x\n" * (treescan.SOURCE_LIMIT // 5 + 1))
    deep = project / "go" / "meterd"
    for _ in range(depth):
        deep = deep / "d"
        deep.mkdir(parents=True, exist_ok=True)
    if depth:
        (deep / "main.go").write_bytes(b"package main\nfunc main() {}\n")
    return project


def check(tree: tuple[dict[str, bytes], list[tuple[str, str]], int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = build(Path(tmp), tree)
        start = time.monotonic()
        notes: list[str] = []
        try:
            scanned = read_tree(project, notes)
            _workspace_roots(scanned)
            go = go_components(scanned, {}, {"gauge": "gauge", "ledger": "ledger"}, [], notes)
            treescan.rust_toolchain_requests(scanned, {"release": "1.95.0"})
        except ConfigError as exc:
            assert str(project) in str(exc)
        else:
            for comp in go.values():
                assert not comp["package"].startswith("./..")
                assert not comp.get("path", ".").startswith(("..", "/"))
        ignore_outputs(project, notes)
        assert time.monotonic() - start < 20
        assert (Path(tmp) / "secret").read_bytes() == SECRET


@pytest.fixture(autouse=True)
def _small_caps(monkeypatch: pytest.MonkeyPatch) -> None:
    # The caps' logic, at sizes a fuzz example can afford.
    monkeypatch.setattr(treescan, "SOURCE_LIMIT", 64 << 10)


def test_seed_gives_its_programs() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = build(Path(tmp), (dict(SEED_FILES), [], 0))
        notes: list[str] = []
        go = go_components(read_tree(project, notes), {}, {"gauge": "g", "ledger": "l"}, [], notes)
        assert go["meterd"]["links"] == ["g", "l"] and "links" not in go["meterctl"]
        assert notes == []


@settings(max_examples=examples(40))
@given(hostile_tree())
@example((dict(SEED_FILES), [("go/meterd/go.mod", "fifo")], 0))
@example((dict(SEED_FILES), [("go/meterd/cmd/meterd/main.go", "dev-zero")], 0))
@example((dict(SEED_FILES), [(".gitignore", "outside")], treescan.MAX_DEPTH + 5))
def test_init_reads_hostile_trees(
    tree: tuple[dict[str, bytes], list[tuple[str, str]], int],
) -> None:
    check(tree)


@settings(max_examples=examples(200))
@given(st.lists(st.sampled_from(NASTY_LINES) | st.text(max_size=60), max_size=30))
def test_go_scan_of_any_text(lines: list[str]) -> None:
    text = "\n".join(lines)
    facts = goscan.go_facts(text)
    assert facts.cgo == ("C" in facts.imports)
    goscan.go_module_path(text)


BUILD_RS_PARTS = [
    'println!("cargo:rustc-link-search=native={}", "./goproj");', "println!(", '"', "'", "r#\"",
    "/*", "//", "\\", "{}", "{{", 'println!("cargo:rustc-link-lib=static=golib");', ")", "(",
    "'\\u{10FFFF}'", "'a", "\n",
]  # fmt: skip


@settings(max_examples=examples(200))
@given(st.lists(st.sampled_from(BUILD_RS_PARTS) | st.text(max_size=30), max_size=60))
def test_build_rs_and_go_work_scans_of_any_text(parts: list[str]) -> None:
    text = "".join(parts)
    start = time.monotonic()
    links = buildrs.build_script_links(text * 50)
    assert time.monotonic() - start < 5
    assert all(line >= 1 for line, _ in links.search + links.static)
    buildrs.uses_bindgen(text)
    goscan.go_work_uses(text)
    goscan.go_mod_replaces(text)
    assert all(isinstance(m, str) for m in gomod_text.go_mod_requires(text))
    buildrs.passes_linker_script(text)
    firmware.no_std(text * 50)
