"""The gallery of project shapes (examples/gallery), each built the way a new
user would: a copy of the project as its own git repository, `relbuild init`
writes toolchains.toml, the only hand edits add targets and smoke tests, then
doctor, build, test (natively and under QEMU) and verify.

Each project is built once per session, on the fewest targets that show its
shape: a cross -gnu target is one that has no prebuilt std here, so std is
built from source and zig links against the glibc floor.

- std-cgo: a std staticlib linked into Go through cgo on x86_64 and aarch64
  -gnu (dynamic, glibc 2.28) and x86_64-musl (static, std built from
  source), with rustc's native-static-libs on the link;
- std-exe: a std executable with a build.rs and a proc macro (host builds
  while cross-compiling), for x86_64 and riscv64 -gnu, linked by zig;
- nested: the Cargo workspace in rust/, the Go module in go/meterd/, one Go
  program linking two staticlibs (no_std and std), one pure Go;
- pure-go: cgo off, one module from the proxy, x86_64 and aarch64.

Then a second machine builds each project again from a clone at a deeper
path, with another HOME, zig installed in another folder and cold caches
(only the lock-checked download caches are shared), for the one target that
holds the project's risk; every file of that target must be byte-identical.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.integration.conftest import relbuild_cmd
from tests.integration.machines import digests, free, install_zig_copy, machine_env

GALLERY = REPO / "examples" / "gallery"

# What each project adds to the config `init` wrote: targets, and a smoke
# test per program (component -> expected output).
SHAPES: dict[str, tuple[list[str], dict[str, str]]] = {
    "std-cgo": (
        ["aarch64-unknown-linux-gnu", "x86_64-unknown-linux-musl"],
        {
            "wordstat-go": r"^wordstat: abi=1 words=15 distinct=10 top=the:4,dog:2,fox:2 "
            r"lengths=3:8,4:3,5:3,6:1 \[rust std via cgo\]$"
        },
    ),
    "std-exe": (
        ["riscv64gc-unknown-linux-gnu"],
        {
            "tabulate": r"^tabulate: crc8\(123456789\)=0xf4 fnv1a\(relbuild\)=0x34a344d2db3354c4 "
            r"table-sum=32640 nibbles=uniform fields=sensor,value,tags arch=(x86_64|riscv64)$"
        },
    ),
    "nested": (
        [],
        {
            "meterd": r"^meterd: ledger=cpu=150/3,io=20/2,mem=900/1 cpu-ewma=47 cpu-peak=60 "
            r"abi=1/1 \[rust gauge\+ledger via cgo\]$",
            "meterctl": r"^meterctl: ledger=cpu=150/3,io=20/2,mem=900/1 cpu-ewma=47 "
            r"cpu-peak=60 \[pure go\]$",
        },
    ),
    "pure-go": (
        ["aarch64-unknown-linux-gnu"],
        {"digest": r"^digest: combined=bfbc74e5d1ea194e n=3 \[pure go, linux/(amd64|arm64)\]$"},
    ),
    # Shapes of public repositories, as they are written (issue 21).
    # Its risk is where its directives name the library: the host target
    # shows it (std-cgo and std-exe show cross builds with std from source).
    "file-mains": (
        [],
        {
            "greet_static": r"^main: greet_static\nHello world!\n"
            r"\(greet_static\.go: linked with \./lib/libgreet\.a\)\n2 greetings counted in Rust$",
            "greet_linked": r"^main: greet_linked\nHello gopher!\n"
            r"\(greet_linked\.go: linked with -L\./lib -lgreet\)\n1 greeting counted in Rust$",
        },
    ),
    "workspace": (
        ["aarch64-unknown-linux-gnu"],
        {
            "app": r"^app: tally abi=1 via example\.com/gotally \(go\.work\)\n"
            r"count=5 min=1 max=16 sum=31 mean=6\.20 geomean=4\.00$"
        },
    ),
    # Windows and macOS (issue 25): a pure Go program, a Rust program and a
    # Go program linking a Rust staticlib through cgo; Windows programs run
    # under Wine, macOS ones cannot run here ("not run").
    "desktop": (
        ["x86_64-pc-windows-gnu", "aarch64-apple-darwin"],
        {
            "greet": r"^greet: hello world from (linux|windows|darwin)/(amd64|arm64) "
            r"version=dev token=4$",
            "tally-cli": r"^tally-cli: words=12 letters=44 top=the:3 "
            r"\[rust (linux|windows|macos)/(x86_64|aarch64)\]$",
            "tally-go": r"^tally: abi=1 words=12 letters=44 top=the:3 "
            r"\[rust via cgo, (linux|windows|darwin)/(amd64|arm64)\]$",
        },
    ),
    "go-in-rust": (
        ["aarch64-unknown-linux-gnu"],
        {
            "go-in-rust": r"^go-in-rust: Rust main calling Go from libgosum\.a\n"
            r"GoDigitSum\(2026\) = 10\nGoSumFields = 1\+2\+3\+36=42$"
        },
    ),
}

# What each build printed on stderr (its warnings), by project.
BUILD_LOGS: dict[str, str] = {}


def user_env() -> dict[str, str]:
    """The user's environment, with Debian's Rust (the one with the std
    source) first on PATH, as the README's setup leaves it."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join(["/usr/bin", env.get("PATH", "")])
    return env


GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]


def commit(project: Path, message: str) -> None:
    for argv in (["add", "-A"], ["commit", "-q", "-m", message]):
        subprocess.run([*GIT, *argv], cwd=project, check=True, capture_output=True)


def checkout(root: Path, name: str) -> Path:
    """The gallery project as a repository of its own."""
    project = root / name
    shutil.copytree(GALLERY / name, project)
    subprocess.run([*GIT, "init", "-q"], cwd=project, check=True, capture_output=True)
    commit(project, "import")
    return project


def run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return relbuild_cmd(*args, env=user_env(), cwd=project)


def hand_edit(config: Path, targets: list[str], tests: dict[str, str]) -> None:
    """The edits a user makes to what init wrote: smoke tests, more targets."""
    text = config.read_text()
    for component, expect in tests.items():
        for table in (f"[rust.{component}]\n", f"[go.{component}]\n"):
            if table in text:
                text = text.replace(table, f"{table}test = {{ expect = {json.dumps(expect)} }}\n")
                break
        else:
            raise AssertionError(f"init wrote no component {component}:\n{text}")
    first = text[text.index("[[targets]]") :]
    components = first[first.index("components") :].split("]")[0] + "]"
    for triple in targets:
        linux = "-linux-" in triple
        qemu = "qemu = {}\n" if linux and not triple.startswith("x86_64-") else ""
        text += f'\n[[targets]]\ntriple = "{triple}"\n{components}\n{qemu}'
    config.write_text(text)


# The gallery's fixtures belong to this module alone: built once, and each
# project's .relbuild caches (GBs of compiled output) freed when the module
# ends, as a CI machine may be short of disk; dist/ and the sources stay.
@pytest.fixture(scope="module")
def gallery(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    root = tmp_path_factory.mktemp("gallery")
    built: dict[str, Path] = {}
    for name, (targets, tests) in SHAPES.items():
        project = checkout(root, name)
        res = run(project, "init")
        assert res.returncode == 0, res.stderr[-3000:]
        hand_edit(project / "toolchains.toml", targets, tests)
        if name == "desktop":
            # Archives too: tar.gz, which Windows targets get as zip.
            config = project / "toolchains.toml"
            text = config.read_text().replace("[project]\n", '[project]\narchive = "tar.gz"\n', 1)
            config.write_text(text)
        commit(project, "relbuild init, with targets and smoke tests")
        if name == "pure-go":
            # A Go module has no version of its own: a release is a v* tag.
            subprocess.run([*GIT, "tag", "v1.4.0"], cwd=project, check=True)
        built[name] = project
    yield built
    free(*(project / ".relbuild" for project in built.values()))


@pytest.fixture(scope="module")
def built(gallery: dict[str, Path]) -> dict[str, Path]:
    for name, project in gallery.items():
        doctor = run(project, "doctor")
        assert doctor.returncode == 0, f"{name}: doctor\n{doctor.stderr[-3000:]}"
        res = run(project, "build")
        assert res.returncode == 0, f"{name}: build\n{res.stderr[-4000:]}"
        BUILD_LOGS[name] = res.stderr
    return gallery


@pytest.mark.parametrize("name", list(SHAPES))
def test_init_writes_a_config_that_builds_and_runs(name: str, built: dict[str, Path]) -> None:
    project = built[name]
    res = run(project, "test", "dist")
    assert res.returncode == 0, res.stderr[-3000:]
    verify = run(project, "verify", "dist", "--leaks")
    assert verify.returncode == 0, verify.stderr[-3000:]
    manifest = json.loads((project / "dist" / "manifest.json").read_text())
    assert manifest["source"]["dirty"] is False  # .relbuild/ and dist/ are relbuild's own
    for target in manifest["targets"]:
        gnu = "-linux-gnu" in target["triple"]
        assert target["glibc"] == ("2.28" if gnu else None)


# The target of each project that a second machine builds again: where its
# risk is (zig's musl built from source, a Rust program linked by zig with
# std built from source, build scripts and a proc macro, a proxy module).
SECOND_MACHINE = {
    "std-cgo": "x86_64-unknown-linux-musl",
    "std-exe": "riscv64gc-unknown-linux-gnu",
    "nested": "x86_64-unknown-linux-gnu",
    "pure-go": "aarch64-unknown-linux-gnu",
    # A crate with no Cargo.lock (locked once per machine), committed
    # archives and a go.work, a Go archive linked into Rust by a build.rs
    # running bindgen: risks of the shape, whatever the target, so each on
    # the host's (std built from source is std-cgo's, std-exe's and
    # desktop's risk, proven above on their cross targets).
    "file-mains": "x86_64-unknown-linux-gnu",
    "workspace": "x86_64-unknown-linux-gnu",
    "go-in-rust": "x86_64-unknown-linux-gnu",
    # PE files linked by zig (its timestamp and debug GUID normalized) and
    # by Go, Mach-O files linked by zig (ad-hoc signed) and by Go.
    # Every target it has, so its archives, SUMS and manifest are compared too.
    "desktop": "x86_64-unknown-linux-gnu x86_64-pc-windows-gnu aarch64-apple-darwin",
}


@pytest.fixture(scope="module")
def second_machine(
    built: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("gallery-b")
    env = machine_env(root / "home-b", install_zig_copy(root / "opt" / "another-zig"))
    env.pop("SOURCE_DATE_EPOCH")  # the commit's time, as on the first machine
    env["PATH"] = os.pathsep.join(["/usr/bin", env.get("PATH", "")])
    dists: dict[str, Path] = {}
    for name, triple in SECOND_MACHINE.items():
        clone = root / "second" / "machine" / "deeper" / "checkout" / name
        subprocess.run(
            ["git", "clone", "-q", str(built[name]), str(clone)], check=True, capture_output=True
        )
        out = root / f"dist-{name}"
        chosen = [arg for t in triple.split() for arg in ("--target", t)]
        res = relbuild_cmd(
            "build",
            *chosen,
            "--out",
            out,
            "--cache-dir",
            root / f"cache-{name}",
            env=env,
            cwd=clone,
        )
        assert res.returncode == 0, f"{name}: build\n{res.stderr[-4000:]}"
        free(root / f"cache-{name}")
        dists[name] = out
    free(root / "opt", root / "home-b")
    return dists


@pytest.mark.parametrize("name", list(SECOND_MACHINE))
def test_a_second_machine_gives_the_same_bytes(
    name: str, built: dict[str, Path], second_machine: dict[str, Path]
) -> None:
    for triple in SECOND_MACHINE[name].split():
        a = digests(built[name] / "dist" / triple)
        b = digests(second_machine[name] / triple)
        assert a, f"nothing built for {triple}"
        assert sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k)) == []
    manifest = json.loads((built[name] / "dist" / "manifest.json").read_text())
    if {t["triple"] for t in manifest["targets"]} == set(SECOND_MACHINE[name].split()):
        a, b = digests(built[name] / "dist"), digests(second_machine[name])
        assert sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k)) == []


def test_init_finds_nested_workspaces_and_the_libraries_each_program_links(
    gallery: dict[str, Path],
) -> None:
    import tomllib

    config = tomllib.loads((gallery["nested"] / "toolchains.toml").read_text())
    assert config["project"]["name"] == "nested"
    assert config["rust"]["gauge"]["path"] == "rust"
    assert config["rust"]["ledger"]["header"] == "crates/ledger/include/ledger.h"
    assert config["go"]["meterd"]["links"] == ["gauge", "ledger"]
    assert "links" not in config["go"]["meterctl"]
    assert {".relbuild/", "dist/"} <= set((gallery["nested"] / ".gitignore").read_text().split())


def test_std_staticlib_links_to_the_glibc_floor_or_statically(built: dict[str, Path]) -> None:
    from elftools.elf.elffile import ELFFile

    dist = built["std-cgo"] / "dist"
    musl = dist / "x86_64-unknown-linux-musl" / "wordstat-go-0.1.0-x86_64-unknown-linux-musl"
    with musl.open("rb") as fh:
        elf = ELFFile(fh)  # -musl means static: no interpreter, no dynamic section
        assert elf.get_section_by_name(".interp") is None
        assert elf.get_section_by_name(".dynamic") is None
    for triple in ("x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"):
        exe = dist / triple / f"wordstat-go-0.1.0-{triple}"
        with exe.open("rb") as fh:
            elf = ELFFile(fh)
            assert elf.get_section_by_name(".interp") is not None  # dynamic
            dynstr = elf.get_section_by_name(".dynstr")
            assert dynstr is not None
            versions = set(re.findall(rb"GLIBC_(2\.[0-9]+)", dynstr.data()))
        glibc = sorted(tuple(int(x) for x in v.decode().split(".")) for v in versions)
        assert glibc and glibc[-1] <= (2, 28), versions


def test_doctor_and_build_agree_on_a_missing_linker(
    gallery: dict[str, Path], tmp_path: Path
) -> None:
    """Without zig, nothing links a Rust program for riscv64: doctor says so,
    and the build refuses before it starts, naming the component."""
    project = tmp_path / "no-zig"
    shutil.copytree(gallery["std-exe"], project, ignore=shutil.ignore_patterns(".relbuild", "dist"))
    config = project / "toolchains.toml"
    text = config.read_text()
    start = text.index("[toolchains.zig]")
    end = text.index("\n\n", start)
    config.write_text(text[:start] + text[end + 2 :])
    doctor = run(project, "doctor")
    said = doctor.stdout + doctor.stderr  # the report on stdout, an error on stderr
    assert doctor.returncode == 3, said[-2000:]
    assert "riscv64gc-unknown-linux-gnu" in said and "pin zig" in said
    build = run(project, "build", "--target", "riscv64gc-unknown-linux-gnu")
    assert build.returncode == 2, build.stderr[-2000:]
    assert "rust.tabulate" in build.stderr and "Traceback" not in build.stderr


def test_zig_links_the_build_script_and_proc_macro_of_a_cross_build(
    built: dict[str, Path],
) -> None:
    """Cross-compiling std-exe for riscv64, cargo builds its build script and
    proc macro for the host: the pinned zig links those too, not a host cc."""
    from elftools.elf.elffile import ELFFile

    host_dir = built["std-exe"] / ".relbuild" / "cargo" / "riscv64gc-unknown-linux-gnu" / "release"
    host_built = [
        *host_dir.glob("build/tabulate-*/build-script-build"),
        *host_dir.glob("deps/libtabulate_macros-*.so"),
    ]
    assert len(host_built) >= 2, host_built
    for path in host_built:
        with path.open("rb") as fh:
            elf = ELFFile(fh)
            assert elf["e_machine"] == "EM_X86_64"
            comment = elf.get_section_by_name(".comment")
            assert comment is not None
            assert b"ziglang/zig-bootstrap" in comment.data(), (path, comment.data())


def test_file_mains_build_with_the_library_where_their_directives_name_it(
    built: dict[str, Path],
) -> None:
    """mediremi/rust-plus-golang's shape: no go.mod, two mains built by file,
    `./lib/libgreet.a` and `-L./lib -lgreet`, a crate with no Cargo.lock.
    The tree is never written: the library and the lock are shown inside
    the sandbox only."""
    import tomllib

    project = built["file-mains"]
    config = tomllib.loads((project / "toolchains.toml").read_text())
    assert config["go"]["greet_static"]["package"] == "./greet_static.go"
    assert config["go"]["greet_linked"]["links"] == ["greet"]
    assert not (project / "lib" / "libgreet.a").exists()
    assert not (project / "lib" / "greet" / "Cargo.lock").exists()
    manifest = json.loads((project / "dist" / "manifest.json").read_text())
    lock = manifest["dependencies"]["cargo_locks"]["lib/greet"]
    assert 'name = "itoa"' in lock["text"]
    assert "lib/greet has no Cargo.lock: relbuild locked it once" in BUILD_LOGS["file-mains"]
    steps = {s["component"]: s for s in manifest["steps"]}
    assert steps["greet_static"]["argv"][-1] == "./greet_static.go"


def test_committed_archives_are_checked_against_the_ones_built_from_source(
    built: dict[str, Path],
) -> None:
    """The workspace shape commits one archive per platform: the arm64 one
    is what its source builds, the amd64 one is stale (an older lib.rs).
    The release links the fresh ones either way, and says which matched."""
    manifest = json.loads((built["workspace"] / "dist" / "manifest.json").read_text())
    found = {r["target"]: r for r in manifest["prebuilt"]}
    arm, amd = found["aarch64-unknown-linux-gnu"], found["x86_64-unknown-linux-gnu"]
    assert arm["path"] == "gotally/libtally_linux_arm64.a" and arm["matches"] is True
    assert arm["why"] == "gotally/tally_linux_arm64.go:8" and arm["component"] == "tally"
    assert amd["matches"] is False
    assert any(d.endswith(": differs") and d.startswith("tally-") for d in amd["differences"])
    log = BUILD_LOGS["workspace"]
    assert "gotally/libtally_linux_amd64.a committed to the tree is NOT what its source" in log
    assert "gotally/libtally_linux_arm64.a (aarch64-unknown-linux-gnu) is the same bytes" in log


def test_a_go_archive_is_built_first_and_linked_into_the_rust_program(
    built: dict[str, Path],
) -> None:
    """imWildCat/go-and-rust-example's shape: the Go c-archive is built
    before the Rust program whose build.rs searches ./gosum for it (bindgen
    over its header), and is not an artifact of its own."""
    project = built["go-in-rust"]
    manifest = json.loads((project / "dist" / "manifest.json").read_text())
    for target in manifest["targets"]:
        assert target["components"][:1] == ["gosum"]  # the archive first
    assert {a["component"] for a in manifest["artifacts"] if a.get("component")} == {"go-in-rust"}
    assert not (project / "gosum" / "libgosum.a").exists()
