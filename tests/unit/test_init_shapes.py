"""Issue 21, `init` on trees shaped as public Go+Rust repositories are:
Go mains given as files (with no go.mod, or several in one folder), a go.work
workspace whose library module links a Rust staticlib through per-platform
``${SRCDIR}`` archives, and a Go C archive linked into a Rust program by its
build.rs. The trees are written here (pure logic: Go files are read, not
built); cargo metadata and the toolchain pins are replaced by fakes, and the
config init writes is loaded by the real loader (schema and paths)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from relbuild.backends.cargo_meta import Crate, CrateTarget
from relbuild.config.loader import load_config
from relbuild.project import init as init_mod
from relbuild.project.init import init, scaffold
from relbuild.system import proc

CGO_MAIN = """package main

/*
#cgo LDFLAGS: {flags}
#include "./lib/hello.h"
*/
import "C"

func main() {{
	C.hello(C.CString("world"))
}}
"""
PLAIN_MAIN = 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hi") }\n'


def fake_packages(folder: Path, tools: object) -> list[Crate]:
    """What `cargo metadata --no-deps` says of a lone package: its lib
    (with its crate types), its binary and its build script."""
    data = tomllib.loads((folder / "Cargo.toml").read_text())
    name = data["package"]["name"]
    targets: list[CrateTarget] = []
    if "lib" in data:
        kinds = tuple(data["lib"].get("crate-type", ["lib"]))
        targets.append(CrateTarget(name.replace("-", "_"), kinds, str(folder / "src/lib.rs")))
    if (folder / "src" / "main.rs").exists():
        targets.append(CrateTarget(name, ("bin",), str(folder / "src/main.rs")))
    if (folder / "build.rs").exists():
        targets.append(
            CrateTarget("build-script-build", ("custom-build",), str(folder / "build.rs"))
        )
    return [Crate(name, "0.1.0", str(folder / "Cargo.toml"), tuple(targets))]


@pytest.fixture(autouse=True)
def _fakes(monkeypatch: pytest.MonkeyPatch) -> None:
    tools = init_mod.RustTools("/x/rustc", "/x/cargo", {})
    pin = {"release": "1.95.0", "rustup-toolchain": "stable-x86_64-unknown-linux-gnu"}
    monkeypatch.setattr(init_mod, "_pin_rust", lambda env: (pin, "x86_64-unknown-linux-gnu", tools))
    monkeypatch.setattr(init_mod, "_cargo_packages", fake_packages)
    monkeypatch.setattr(init_mod, "_pin_go", lambda env: {"release": "1.22.0"})
    monkeypatch.setattr(init_mod, "_pin_zig", lambda env: {"release": "0.15.2"})


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def staticlib(name: str, lock: bool = True) -> dict[str, str]:
    files = {
        f"{name}/Cargo.toml": f'[package]\nname = "{name}"\nversion = "0.1.0"\n\n'
        '[lib]\ncrate-type = ["cdylib", "staticlib"]\n',
        f"{name}/src/lib.rs": '#[no_mangle]\npub extern "C" fn hello() {}\n',
    }
    if lock:
        files[f"{name}/Cargo.lock"] = "version = 3\n"
    return files


def init_and_load(project: Path) -> tuple[dict[str, Any], list[str]]:
    """The config init writes for ``project`` (loaded back by the real
    loader, which checks its schema, its links and its paths), and the notes."""
    done = init(project, project / "toolchains.toml", {}, force=False)
    load_config(project / "toolchains.toml")
    return tomllib.loads(done.text), done.notes


# --- 1. mains as files, no go.mod (mediremi/rust-plus-golang) ---------------------


def test_mains_as_files_with_no_go_mod_link_the_crate_their_directives_name(
    tmp_path: Path,
) -> None:
    project = write(
        tmp_path / "rust-plus-golang",
        {
            "main_static.go": CGO_MAIN.format(flags="./lib/libhello.a -ldl"),
            "main_dynamic.go": CGO_MAIN.format(flags="-L./lib -lhello"),
            "lib/hello.h": "void hello(char *name);\n",
            **{f"lib/{k}": v for k, v in staticlib("hello", lock=False).items()},
        },
    )
    config, notes = init_and_load(project)
    assert config["go"] == {
        "main_dynamic": {"package": "./main_dynamic.go", "links": ["hello"]},
        "main_static": {"package": "./main_static.go", "links": ["hello"]},
    }
    assert config["rust"] == {"hello": {"kind": "staticlib", "path": "lib/hello"}}
    assert set(config["targets"][0]["components"]) == {"hello", "main_static", "main_dynamic"}
    assert any(n.startswith("lib/hello/Cargo.lock is missing (hello)") for n in notes), notes
    assert not any("libhello.a" in n for n in notes), notes  # it is matched, not said


def test_an_archive_no_crate_builds_is_said_with_its_file_and_line(tmp_path: Path) -> None:
    project = write(
        tmp_path / "p",
        {
            "main.go": CGO_MAIN.format(flags="${SRCDIR}/prebuilt/libcrypto_x.a -lhello"),
            **staticlib("hello"),
        },
    )
    config, notes = init_and_load(project)
    assert config["go"]["main"] == {"package": "./main.go", "links": ["hello"]}
    said = [n for n in notes if "libcrypto_x.a" in n]
    assert said == [
        "main.go:4: #cgo LDFLAGS names '${SRCDIR}/prebuilt/libcrypto_x.a', which no Rust "
        "staticlib of the project builds (as lib<name>.a)"
    ], notes


def test_a_go_file_of_a_generator_is_not_a_program(tmp_path: Path) -> None:
    project = write(
        tmp_path / "p",
        {
            "go.mod": "module example.com/p\n",
            "main.go": PLAIN_MAIN,
            "gen/gen.go": "//go:build ignore\n\n" + PLAIN_MAIN,
        },
    )
    assert list(scaffold(project, {})["go"]) == ["p"]


# --- 2. several mains in one folder of a module --------------------------------


def test_several_mains_in_one_folder_of_a_module_are_built_by_file(tmp_path: Path) -> None:
    project = write(
        tmp_path / "p",
        {
            "go.mod": "module example.com/p\n\ngo 1.22\n",
            "cmd/tools/fmtcheck.go": PLAIN_MAIN,
            "cmd/tools/lint.go": PLAIN_MAIN,
            "cmd/tools/lint_test.go": "package main\n\nfunc main() {}\n",
            "cmd/server/main.go": PLAIN_MAIN,
            "cmd/server/routes.go": "package main\n",
            "other/lint/main.go": PLAIN_MAIN,
        },
    )
    config, _ = init_and_load(project)
    assert config["go"] == {
        "server": {"package": "./cmd/server"},
        "fmtcheck": {"package": "./cmd/tools/fmtcheck.go"},
        "lint": {"package": "./cmd/tools/lint.go"},
        "other-lint": {"package": "./other/lint"},
    }


# --- 3. a go.work workspace: a program and the library module it imports ----------

WORKSPACE = {
    "go.work": "go 1.22\n\nuse (\n\t./gorustmodule\n\t./app // the program\n)\n",
    "gorustmodule/go.mod": "module github.com/someone/gorustmodule\n\ngo 1.22\n",
    "gorustmodule/lib.go": 'package gorustmodule\n\nimport "C"\n\nfunc Hello() { C.hello() }\n',
    "gorustmodule/rust_linux_amd64.go": "//go:build linux && amd64\n\npackage gorustmodule\n\n"
    '/*\n#cgo LDFLAGS: ${SRCDIR}/libexamplerustlib_linux_amd64.a -ldl -lm\n*/\nimport "C"\n',
    "gorustmodule/rust_darwin_arm64.go": "//go:build darwin && arm64\n\npackage gorustmodule\n\n"
    "/*\n#cgo LDFLAGS: ${SRCDIR}/libexamplerustlib_darwin_arm64.a -framework Security\n*/\n"
    'import "C"\n',
    "gorustmodule/libexamplerustlib_linux_amd64.a": "!<arch>\n",
    "app/go.mod": "module example.com/app\n\ngo 1.22\n\n"
    "require github.com/someone/gorustmodule v0.0.0\n",
    "app/main.go": 'package main\n\nimport grm "github.com/someone/gorustmodule"\n\n'
    "func main() { grm.Hello() }\n",
    **staticlib("examplerustlib"),
}


def test_a_program_links_the_crate_of_a_workspace_module_it_imports(tmp_path: Path) -> None:
    project = write(tmp_path / "p", WORKSPACE)
    config, notes = init_and_load(project)
    assert config["go"] == {"app": {"package": ".", "path": "app", "links": ["examplerustlib"]}}
    assert not any("Cargo.lock" in n or ".a'" in n for n in notes), notes


def test_without_the_go_work_the_other_module_is_not_followed(tmp_path: Path) -> None:
    project = write(tmp_path / "p", WORKSPACE)
    (project / "go.work").unlink()
    assert scaffold(project, {})["go"]["app"] == {"package": ".", "path": "app"}


def test_a_local_replace_is_followed_as_the_workspace_is(tmp_path: Path) -> None:
    project = write(tmp_path / "p", WORKSPACE)
    (project / "go.work").unlink()
    go_mod = project / "app" / "go.mod"
    go_mod.write_text(
        go_mod.read_text()
        + "\nreplace (\n\tgithub.com/someone/gorustmodule => ../gorustmodule\n)\n"
    )
    assert scaffold(project, {})["go"]["app"]["links"] == ["examplerustlib"]


# --- 4. a Go C archive linked into a Rust program (imWildCat/go-and-rust-example) --

BUILD_RS = """extern crate bindgen;

fn main() {
    // Tell cargo where the Go archive is.
    println!("cargo:rustc-link-search=native={}", "./goproj");

    // println!("cargo:rustc-link-search=/Users/someone/elsewhere/goproj");
    println!("cargo:rustc-link-lib=static=golib");
    println!("cargo:rerun-if-changed=goproj/golib.go");
    let bindings = bindgen::Builder::default().header("wrapper.h").generate().unwrap();
    let _ = bindings;
}
"""
GOLIB = """package main

import "C"

//export GoFunction
func GoFunction(x int32) int64 {
	return int64(x * 2)
}

func main() {}
"""
RUST_CALLS_GO = {
    "Cargo.toml": '[package]\nname = "go-and-rust-example"\nversion = "0.1.0"\nedition = "2021"\n\n'
    '[build-dependencies]\nbindgen = "0.53.1"\n',
    "Cargo.lock": "version = 3\n",
    "build.rs": BUILD_RS,
    "src/main.rs": "fn main() {}\n",
    "wrapper.h": '#include "goproj/libgolib.h"\n',
    "goproj/go.mod": "module golib\n\ngo 1.17\n",
    "goproj/golib.go": GOLIB,
    "goproj/libgolib.h": "extern long long GoFunction(int x);\n",
}


def test_a_go_c_archive_that_build_rs_links_is_found_with_its_in_tree_path(
    tmp_path: Path,
) -> None:
    project = write(tmp_path / "go-and-rust-example", RUST_CALLS_GO)
    config, notes = init_and_load(project)
    assert config["go"] == {
        "golib": {
            "package": "./golib.go",
            "path": "goproj",
            "buildmode": "c-archive",
            "in-tree": "goproj/libgolib.a",
        }
    }
    assert config["rust"] == {"go-and-rust-example": {"kind": "executable", "links": ["golib"]}}
    assert set(config["targets"][0]["components"]) == {"golib", "go-and-rust-example"}
    assert "zig" in config["toolchains"]
    assert any(n.startswith("build.rs: go-and-rust-example runs bindgen") for n in notes), notes
    assert any("needs libclang" in n for n in notes), notes


def test_a_crate_in_a_subfolder_searches_relative_to_itself(tmp_path: Path) -> None:
    files = {f"rust/{k}": v for k, v in RUST_CALLS_GO.items() if not k.startswith("goproj")}
    files["rust/build.rs"] = files["rust/build.rs"].replace('"./goproj"', '"../go/archive"')
    files.update({"go/archive/go.mod": "module x\n", "go/archive/golib.go": GOLIB})
    files["go/archive/util.go"] = "package main\n"  # two files: built as the folder
    project = write(tmp_path / "p", files)
    config, _ = init_and_load(project)
    assert config["go"]["golib"] == {
        "package": ".",
        "path": "go/archive",
        "buildmode": "c-archive",
        "in-tree": "go/archive/libgolib.a",
    }


def test_export_without_a_linking_crate_stays_a_program_and_is_said(tmp_path: Path) -> None:
    project = write(tmp_path / "p", {"goproj/go.mod": "module golib\n", "goproj/golib.go": GOLIB})
    notes: list[str] = []
    assert scaffold(project, {}, notes)["go"] == {"goproj": {"package": ".", "path": "goproj"}}
    assert any('set buildmode = "c-archive"' in n for n in notes), notes


def test_a_static_library_build_rs_finds_no_go_for_is_said(tmp_path: Path) -> None:
    files = dict(RUST_CALLS_GO)
    files["goproj/golib.go"] = PLAIN_MAIN  # no //export
    project = write(tmp_path / "p", files)
    notes: list[str] = []
    data = scaffold(project, {}, notes)
    assert "links" not in data["rust"]["go-and-rust-example"]
    assert any(n.startswith("build.rs:8: links the static library 'golib'") for n in notes), notes


# --- 5. the Rust pin is the exact release, not a channel -------------------------


def test_the_rust_pin_is_the_exact_release(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()  # the real _pin_rust, with its probes faked
    vv = "rustc 1.95.0 (59807616e 2026-04-14)\nbinary: rustc\ncommit-hash: 59807616e1fa\n"
    vv += "host: x86_64-unknown-linux-gnu\nrelease: 1.95.0\n"
    sysroot = "/home/u/.rustup/toolchains/stable-x86_64-unknown-linux-gnu\n"
    monkeypatch.setattr(init_mod, "_probe", lambda argv, env: vv if "-vV" in argv else sysroot)
    monkeypatch.setattr(proc, "which", lambda name, env=None: f"/usr/bin/{name}")
    pin, host, _ = init_mod._pin_rust({})
    assert pin["release"] == "1.95.0" and pin["commit"] == "59807616e1fa"
    assert host == "x86_64-unknown-linux-gnu"
