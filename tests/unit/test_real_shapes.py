"""Pure logic of building repositories as they are written (issue 21): cgo
directives matched to staticlibs, files shown inside the read-only source,
the order the links graph gives, committed archives compared member by
member, and the config's checks of Go archives and links."""

from __future__ import annotations

import io
import tomllib
from pathlib import Path
from typing import Any

import pytest

from relbuild.backends import cargo_lock
from relbuild.backends.cgo_links import lib_name, match_library, placements
from relbuild.backends.go_module import older
from relbuild.backends.gomod_text import wanted_release
from relbuild.binaries.prebuilt import differing_members
from relbuild.config.models import Config, links_cycle
from relbuild.errors import ConfigError
from relbuild.pipeline.plan import link_order
from relbuild.release.deps import LockRecord
from relbuild.system.sandbox import Layout, Mount, placement_args


def test_library_names_match_exactly_or_by_a_platform_suffix() -> None:
    libs = {"hello": "hello", "tally": "tally", "tally_x": "tally_x"}
    assert lib_name("libhello.a") == "hello"
    assert lib_name("hello.a") is None
    assert match_library("hello", libs) == "hello"
    assert match_library("tally_linux_amd64", libs) == "tally"
    # The longest library name that prefixes it wins.
    assert match_library("tally_x_linux_arm64", libs) == "tally_x"
    assert match_library("tallyho", libs) is None
    assert match_library("dl", libs) is None


def write_go(folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)


def test_directives_by_path_by_srcdir_and_by_search_folder(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write_go(root, "main_static.go", "package main\n/*\n#cgo LDFLAGS: ./lib/libhello.a -ldl\n*/\n")
    write_go(
        root / "mod", "t_linux_amd64.go", "/*\n#cgo LDFLAGS: ${SRCDIR}/libtally_linux_amd64.a\n*/"
    )
    packages: list[dict[str, Any]] = [
        {
            "Dir": str(root),
            "CgoFiles": ["main_static.go"],
            "CgoLDFLAGS": ["./lib/libhello.a", "-ldl"],
        },
        {
            "Dir": str(root / "mod"),
            "CgoFiles": ["t_linux_amd64.go"],
            # go list expands ${SRCDIR}.
            "CgoLDFLAGS": [f"{root}/mod/libtally_linux_amd64.a", "-lm"],
        },
        {"Dir": str(root), "CgoFiles": ["x.go"], "CgoLDFLAGS": ["-L./lib", "-lhello", "-lpthread"]},
        # A package of the module cache and one of the standard library.
        {"Dir": "/elsewhere/mod", "CgoFiles": ["y.go"], "CgoLDFLAGS": ["/elsewhere/libz.a"]},
        {"Dir": "/goroot/src/net", "Standard": True, "CgoLDFLAGS": ["./libq.a"]},
    ]
    found = placements(packages, root, {"hello": "hello", "tally": "tally"})
    assert [(p.at, p.component, p.where) for p in found] == [
        ("lib/libhello.a", "hello", "main_static.go:3"),
        ("mod/libtally_linux_amd64.a", "tally", "mod/t_linux_amd64.go:2"),
    ]


def test_a_directive_naming_an_archive_nothing_builds_names_the_file_and_line(
    tmp_path: Path,
) -> None:
    root = tmp_path / "proj"
    write_go(root, "main.go", "package main\n\n/*\n#cgo LDFLAGS: ./vendor/libfoo.a\n*/\n")
    packages = [{"Dir": str(root), "CgoFiles": ["main.go"], "CgoLDFLAGS": ["./vendor/libfoo.a"]}]
    with pytest.raises(ConfigError) as err:
        placements(packages, root, {"hello": "hello"})
    assert err.value.message.startswith("main.go:4: `#cgo LDFLAGS: ./vendor/libfoo.a` names")
    assert "vendor/libfoo.a" in err.value.message


def test_a_file_is_shown_over_a_committed_one_and_in_a_folder_that_lacks_it(
    tmp_path: Path,
) -> None:
    src = tmp_path / "src"
    (src / "lib" / "sub").mkdir(parents=True)
    (src / "lib" / "hello.h").write_text("h")
    (src / "lib" / "link.h").symlink_to("hello.h")
    (src / "gotally").mkdir()
    (src / "gotally" / "libtally.a").write_text("old")
    layout = Layout(mounts=(Mount(host=str(src), inside="/relbuild/src"),))
    args = placement_args(
        {
            "/relbuild/src/lib/libhello.a": "/cache/libhello.a",
            "/relbuild/src/gotally/libtally.a": "/cache/libtally.a",
            "/relbuild/src/lib/new/deep/libx.a": "/cache/libx.a",
        },
        layout,
    )
    assert args == [
        # An existing file: bound over.
        "--ro-bind", "/cache/libtally.a", "/relbuild/src/gotally/libtally.a",
        # A folder that lacks it: an empty tmpfs, each entry bound again.
        "--tmpfs", "/relbuild/src/lib",
        "--ro-bind", f"{src}/lib/hello.h", "/relbuild/src/lib/hello.h",
        "--symlink", "hello.h", "/relbuild/src/lib/link.h",
        "--ro-bind", f"{src}/lib/sub", "/relbuild/src/lib/sub",
        "--dir", "/relbuild/src/lib",
        "--ro-bind", "/cache/libhello.a", "/relbuild/src/lib/libhello.a",
        "--dir", "/relbuild/src/lib/new/deep", "--ro-bind", "/cache/libx.a",
        "/relbuild/src/lib/new/deep/libx.a",
        "--remount-ro", "/relbuild/src/lib",
    ]  # fmt: skip
    assert placement_args({}, layout) == []


def test_components_come_after_what_they_link_whichever_way() -> None:
    graph = {"exe": ["golib"], "golib": [], "goprog": ["lib"], "lib": []}
    # Rust first by default; a Rust program that links a Go archive moves after it.
    assert link_order(["exe", "lib", "golib", "goprog"], graph) == ["golib", "exe", "lib", "goprog"]
    assert links_cycle(graph) == []
    assert links_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]


def config(extra: str) -> Config:
    base = """
schema-version = 1
[project]
name = "p"
[toolchains.rust]
release = "1.96.0"
[toolchains.go]
release = "1.26.8"
"""
    return Config.model_validate(tomllib.loads(base + extra))


def test_a_rust_program_links_only_go_archives() -> None:
    good = config(
        """
[rust.app]
kind = "executable"
links = ["golib"]
[go.golib]
path = "goproj"
package = "./golib.go"
buildmode = "c-archive"
in-tree = "goproj/libgolib.a"
[[targets]]
triple = "x86_64-unknown-linux-gnu"
components = ["app", "golib"]
"""
    )
    assert good.cross_check() == []
    assert good.go["golib"].uses_cgo and good.go["golib"].by_file
    bad = config(
        """
[rust.app]
kind = "executable"
links = ["prog", "nope"]
[go.prog]
package = "."
[[targets]]
triple = "x86_64-unknown-linux-gnu"
components = ["app"]
"""
    )
    assert bad.cross_check() == [
        ("rust.app.links[0]", "'prog' is not a buildmode = 'c-archive'"),
        ("rust.app.links[1]", "unknown Go component 'nope'"),
        (
            "targets[0].components",
            "'app' links 'prog', so 'prog' must be built for x86_64-unknown-linux-gnu too",
        ),
        (
            "targets[0].components",
            "'app' links 'nope', so 'nope' must be built for x86_64-unknown-linux-gnu too",
        ),
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('buildmode = "c-archive"\nin-tree = "goproj/golib.a"', "must name a lib<name>.a"),
        ('in-tree = "goproj/libgolib.a"', "only applies to buildmode = 'c-archive'"),
        ('buildmode = "c-archive"\nin-tree = "../out/libgolib.a"', "a path inside the project"),
        ('buildmode = "c-archive"\nin-tree = "/etc/libgolib.a"', "a path inside the project"),
        ('buildmode = "c-archive"\ncgo = false', "needs cgo"),
        ('buildmode = "c-archive"\ntest = { expect = "x" }', "cannot be run"),
    ],
)
def test_go_archive_keys_are_checked(extra: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        config(f'[go.golib]\n{extra}\n[[targets]]\ntriple = "x86_64-unknown-linux-gnu"\n'
               'components = ["golib"]\n')  # fmt: skip


def test_the_go_release_a_go_mod_asks_for(tmp_path: Path) -> None:
    gomod = tmp_path / "go.mod"
    gomod.write_text("module example.com/x\n\ngo 1.22.3\n\ntoolchain go1.23.0\n")
    assert wanted_release(gomod) == "1.22.3"
    assert not older("1.26.8", "1.22.3")
    assert older("1.22", "1.22.3") and older("1.21.9", "1.22")
    assert not older("1.22.0", "1.22")
    assert wanted_release(tmp_path / "missing") is None


def ar(*members: tuple[str, bytes]) -> bytes:
    out = io.BytesIO()
    out.write(b"!<arch>\n")
    for name, data in members:
        out.write(f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{644:<8}{len(data):<10}`\n".encode())
        out.write(data + (b"\n" if len(data) % 2 else b""))
    return out.getvalue()


def test_a_committed_archive_is_compared_member_by_member() -> None:
    built = ar(("lib.o", b"new code"), ("std.o", b"std"))
    assert differing_members(ar(("lib.o", b"old code"), ("std.o", b"std")), built) == [
        "lib.o: differs"
    ]
    assert differing_members(ar(("lib.o", b"new code"), ("gone.o", b"x")), built) == [
        "gone.o: only in the committed file",
        "std.o: only in the one built from source",
    ]
    assert differing_members(b"not an archive", built) == ["not both ar archives: the files differ"]


def test_a_generated_lock_lives_in_the_cache_and_a_rebuild_is_seeded(tmp_path: Path) -> None:
    root, cache = tmp_path / "p", tmp_path / "cache"
    (root / "lib" / "hello").mkdir(parents=True)
    lock = cargo_lock.lock_file(root, "lib/hello", cache)
    assert lock == cache / "locks" / "lib--hello" / "Cargo.lock"
    # A workspace path a (hostile) manifest records stays inside locks/.
    for rel in (".", "..", "", "/"):
        assert cargo_lock.generated_path(cache, rel).parent.parent == cache / "locks"
    assert cargo_lock.lock_env(root, "lib/hello", cache)["CARGO_RESOLVER_LOCKFILE_PATH"] == str(
        lock
    )
    cargo_lock.seed(cache, {"lib/hello": LockRecord(sha256="0" * 64, text="version = 4\n")})
    assert lock.read_text() == "version = 4\n"
    # A committed Cargo.lock is always the one used.
    (root / "lib" / "hello" / "Cargo.lock").write_text("version = 4\n")
    assert cargo_lock.lock_file(root, "lib/hello", cache) == root / "lib" / "hello" / "Cargo.lock"
    assert cargo_lock.lock_env(root, "lib/hello", cache) == {}
