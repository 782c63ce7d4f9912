"""Issue 21: what init reads from sources as text, never running them: the
libraries a ``#cgo LDFLAGS`` line names (with their lines), mains, exports
and ignored files of a Go file, a go.work's and a go.mod's local modules,
the link directives a build.rs prints, and the rule that matches a library
name to the Rust staticlib that builds it."""

from __future__ import annotations

import pytest

from relbuild.project import buildrs, goscan
from relbuild.project.goinit import library_component
from relbuild.project.goscan import CgoLib

LIBS = {"hello": "hello", "examplerustlib": "examplerustlib", "foo": "foo", "foo_bar": "foo-bar"}


@pytest.mark.parametrize(
    ("name", "component"),
    [
        ("hello", "hello"),
        ("examplerustlib_linux_amd64", "examplerustlib"),
        ("examplerustlib-darwin", "examplerustlib"),
        ("hello.1", "hello"),
        ("hellox", None),  # a prefix only before _, - or .
        ("hell", None),
        ("foo_bar_linux", "foo-bar"),  # the longest library name that fits
        ("foo_baz", "foo"),
        ("dl", None),
    ],
)
def test_a_library_name_matches_the_staticlib_that_builds_it(
    name: str, component: str | None
) -> None:
    assert library_component(name, LIBS) == component


def test_ldflags_give_libraries_and_archive_paths_with_their_lines() -> None:
    text = (
        "package x\n\n/*\n"
        "#cgo LDFLAGS: ./lib/libhello.a -ldl\n"
        "#cgo linux,amd64 LDFLAGS: ${SRCDIR}/libx_linux_amd64.a -L${SRCDIR} -lstdc++\n"
        "#cgo CFLAGS: -I./lib -lnotalib\n"
        '#cgo LDFLAGS: "-L./lib" -lhello lib.a ./libs/notes.txt\n'
        '*/\nimport "C"\n'
    )
    facts = goscan.go_facts(text)
    assert facts.libs == (
        CgoLib("hello", 4, "./lib/libhello.a"),
        CgoLib("dl", 4),
        CgoLib("x_linux_amd64", 5, "${SRCDIR}/libx_linux_amd64.a"),
        CgoLib("stdc++", 5),
        CgoLib("hello", 7),
    )
    assert facts.lib_names == ("hello", "dl", "x_linux_amd64", "stdc++")
    assert facts.cgo and not facts.has_main and not facts.exports


def test_main_exports_and_ignored_files_are_told_apart() -> None:
    facts = goscan.go_facts('package main\n\nimport "C"\n\n//export Add\nfunc Add() {}\n')
    assert facts.exports and not facts.has_main and not facts.ignored
    facts = goscan.go_facts("package main\n\nfunc main () {}\n")
    assert facts.has_main and not facts.exports
    assert not goscan.go_facts("package main\n\nfunc (s S) main() {}\n").has_main
    assert goscan.go_facts("//go:build ignore\n\npackage main\n").ignored
    assert goscan.go_facts("// +build ignore\n\npackage main\n").ignored
    assert not goscan.go_facts("//go:build !ignore\n\npackage main\n").ignored
    assert not goscan.go_facts("package main\n//go:build ignore\n").ignored


def test_go_work_and_go_mod_name_their_local_modules() -> None:
    work = 'go 1.22\n\nuse ./one\nuse (\n\t./two // comment\n\t"./three"\n)\n'
    assert goscan.go_work_uses(work) == ["./one", "./two", "./three"]
    mod = (
        "module example.com/app\n\nreplace example.com/a => ../a\n"
        "replace example.com/b v1.0.0 => ./vendor/b\n"
        "replace (\n\texample.com/c => example.com/fork v1.2.0\n\texample.com/d => ../d\n)\n"
    )
    assert goscan.go_mod_replaces(mod) == {
        "example.com/a": "../a",
        "example.com/b": "./vendor/b",
        "example.com/d": "../d",
    }
    assert goscan.inside("app", "../gorust") == "gorust"
    assert goscan.inside("app", "../../elsewhere") is None
    assert goscan.inside(".", "/abs") is None


BUILD_RS = r"""
fn main() {
    // println!("cargo:rustc-link-search=native=/commented/out");
    /* println!("cargo:rustc-link-lib=static=blocked"); */
    println!("cargo:rustc-link-search=native={}", "./goproj");
    println!(
        "cargo:rustc-link-search={}/{}",
        "../go", "archives"
    );
    println!("cargo::rustc-link-lib=static:+whole-archive=golib");
    println!(r#"cargo:rustc-link-lib=plain"#);
    println!("cargo:rustc-link-lib=dylib=ssl");
    println!("cargo:rustc-link-search=native={}", out_dir);
    println!("cargo:rustc-link-lib=static={name}");
    let c = '"'; let s = "println!(\"cargo:rustc-link-lib=static=inastring\")";
    println!("cargo:rustc-link-lib=static={}:renamed", "gen");
    println!("cargo:rustc-link-lib=static=../../etc/x");
}
"""


def test_build_rs_link_directives_are_read_from_literal_strings() -> None:
    links = buildrs.build_script_links(BUILD_RS)
    assert links.search == ((5, "./goproj"), (6, "../go/archives"))
    assert links.static == ((10, "golib"), (11, "plain"), (16, "gen"))


@pytest.mark.parametrize(
    ("manifest", "bindgen"),
    [
        ('[package]\nname = "a"\n[build-dependencies]\nbindgen = "0.69"\n', True),
        ('[package]\nname = "a"\n[build-dependencies.bg]\npackage = "bindgen"\n', True),
        ("[target.'cfg(unix)'.build-dependencies]\nbindgen = { version = \"0.69\" }\n", True),
        ('[package]\nname = "a"\n[dependencies]\nbindgen = "0.69"\n', False),
        ("[package\n", False),
    ],
)
def test_bindgen_among_build_dependencies(manifest: str, bindgen: bool) -> None:
    assert buildrs.uses_bindgen(manifest) is bindgen
