"""Planning is pure: from a config, resolved toolchains and the facts the
backends read, the exact argv and environment of every kind of step."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from relbuild.backends.base import BuildPaths, ResolvedTool, ResolvedToolchains
from relbuild.backends.cargo_meta import Crate, CrateTarget, Workspace
from relbuild.backends.go import GoFacts
from relbuild.backends.rust import RustFacts
from relbuild.config import LoadedConfig
from relbuild.config.models import Config
from relbuild.errors import ConfigError
from relbuild.pipeline.model import Plan
from relbuild.pipeline.plan import PlanInputs, plan
from relbuild.release.deps import CrateDep, GoModuleDep
from relbuild.system.sourceinfo import SourceInfo

ROOT = "/w/beacon"
CACHE = "/w/.relbuild"
CONFIG = """
schema-version = 1
[project]
name = "beacon"
root = "beacon"
license-files = ["LICENSE"]

[toolchains.rust]
release = "1.96.0"
[toolchains.go]
release = "1.26.8"
[toolchains.zig]
release = "0.15.2"

[rust.beacon-ffi]
kind = "staticlib"
header = "include/beacon.h"

[rust.beacon-fw]
kind = "firmware"
budget = { flash = 16384 }
stack-unbounded = "dyn Write"

[go.beacon]
package = "./cmd/beacon"
links = ["beacon-ffi"]
ldflags-x = { "main.version" = "{version}" }

[go.plain]
package = "./cmd/plain"
tags = ["netgo"]

[[targets]]
triple = "aarch64-unknown-linux-gnu"
components = ["beacon-ffi", "beacon", "plain"]

[[targets]]
triple = "thumbv7m-none-eabi"
components = ["beacon-fw"]
linker = "ld.lld-19"
budget = { flash = 262144, ram = 65536 }
"""
USER_ENV = {"HOME": "/home/u", "PATH": "/home/u/bin:/usr/bin", "GOPROXY": "direct", "X": "no"}
BASE_ENV = {"HOME": "/home/u", "GOPROXY": "direct", "LANG": "C", "LC_ALL": "C", "TZ": "UTC"}


def tool(name: str, release: str, executable: str, **paths: str) -> ResolvedTool:
    return ResolvedTool(
        name=name, release=release, found_via="test", executable=executable, paths=paths
    )


TOOLS = ResolvedToolchains(
    rust=tool(
        "rust",
        "1.96.0",
        "/opt/rust/bin/rustc",
        rustc="/opt/rust/bin/rustc",
        rustdoc="/opt/rust/bin/rustdoc",
        cargo="/opt/rust/bin/cargo",
        sysroot="/opt/rust",
    ),
    go=tool("go", "1.26.8", "/opt/go/bin/go"),
    zig=tool("zig", "0.15.2", "/opt/zig/zig"),
)


def crate(name: str, *targets: tuple[str, str]) -> Crate:
    return Crate(
        name=name,
        version="0.3.1",
        manifest_path=f"{ROOT}/crates/{name}/Cargo.toml",
        targets=tuple(CrateTarget(n, (kind,)) for n, kind in targets),
    )


FACTS = {
    "rust": RustFacts(
        workspaces={
            ".": Workspace(
                members={
                    "beacon-ffi": crate("beacon-ffi", ("beacon", "staticlib")),
                    "beacon-fw": crate("beacon-fw", ("beacon-fw", "bin")),
                },
                dependencies=[CrateDep(name="crc", version="3.4.0", source="registry")],
            )
        },
        std_prebuilt={"aarch64-unknown-linux-gnu": True, "thumbv7m-none-eabi": False},
        linkers={"ld.lld-19": "/usr/bin/ld.lld-19"},
        linker_tools={
            "ld.lld-19": ResolvedTool(
                name="ld.lld-19",
                release="19.1.7",
                found_via="/usr/bin/ld.lld-19",
                executable="/usr/bin/ld.lld-19",
                digest="ab" * 32,
            )
        },
    ),
    "go": GoFacts(modules={".": [GoModuleDep(path="github.com/spf13/pflag", version="v1.0.6")]}),
}


def make_plan(**selection: list[str]) -> Plan:
    return plan_with(TOOLS, **selection)


def plan_with(tools: ResolvedToolchains, /, **selection: list[str]) -> Plan:
    loaded = LoadedConfig(
        path=Path("/w/toolchains.toml"), config=Config.model_validate(tomllib.loads(CONFIG))
    )
    inputs = PlanInputs(
        loaded=loaded,
        tools=tools,
        source=SourceInfo(vcs="git", revision="a" * 40, dirty=False, source_date_epoch=1700000000),
        paths=BuildPaths(root=Path(ROOT), cache=Path(CACHE)),
        user_env=USER_ENV,
        facts=FACTS,
    )
    return plan(inputs, selection.get("targets", ()), selection.get("components", ()))


def steps_by_component() -> dict[str, dict[str, object]]:
    return {s.component: s.model_dump() for s in make_plan().steps}


def test_steps_come_in_target_order_rust_first() -> None:
    the_plan = make_plan()
    assert [(s.target, s.component, s.tool) for s in the_plan.steps] == [
        ("aarch64-unknown-linux-gnu", "beacon-ffi", "cargo"),
        ("aarch64-unknown-linux-gnu", "beacon", "go"),
        ("aarch64-unknown-linux-gnu", "plain", "go"),
        ("thumbv7m-none-eabi", "beacon-fw", "cargo"),
    ]
    assert the_plan.version == "0.3.1"
    # Then the linker the firmware target names (`linker`), recorded too.
    assert list(the_plan.toolchains) == ["rust", "go", "zig", "ld.lld-19"]
    assert [d.name for d in the_plan.dependencies.rust] == ["crc"]
    assert [m.path for m in the_plan.dependencies.go] == ["github.com/spf13/pflag"]
    assert the_plan.license_files == [f"{ROOT}/LICENSE"]


def cargo_env(triple: str, target_dir: str) -> dict[str, str]:
    hosted = "-linux-" in triple
    prefix_map = f"-ffile-prefix-map={ROOT}=/build/beacon -ffile-prefix-map=/home/u/.cargo=/cargo"
    return {
        **BASE_ENV,
        "PATH": "/opt/rust/bin:/usr/local/bin:/usr/bin:/bin",
        "SOURCE_DATE_EPOCH": "1700000000",
        "RUSTC": "/opt/rust/bin/rustc",
        "RUSTDOC": "/opt/rust/bin/rustdoc",
        "CARGO_HOME": "/home/u/.cargo",
        "CARGO_TARGET_DIR": target_dir,
        "CARGO_ENCODED_RUSTFLAGS": "\x1f".join(
            [
                f"--remap-path-prefix={ROOT}=/build/beacon",
                "--remap-path-prefix=/home/u/.cargo=/cargo",
                "--remap-path-prefix=/opt/rust/lib/rustlib/src/rust=/rustc/1.96.0",
                f"--remap-path-prefix={target_dir}=/target",
                # What a staticlib needs of the C library, for the cgo link.
                *(["--print=native-static-libs"] if hosted else []),
            ]
        ),
        "CARGO_INCREMENTAL": "0",
        "CARGO_PROFILE_RELEASE_CODEGEN_UNITS": "1",
        "CARGO_TERM_COLOR": "never",
        "CARGO_TERM_PROGRESS_WHEN": "never",
        "CFLAGS": prefix_map,
        "CXXFLAGS": prefix_map,
    }


# The pinned zig links Rust programs for hosted Linux, against the glibc floor.
ZIG_LINKER = {
    "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER": f"{CACHE}/tools/ld-aarch64-linux-gnu.2.28",
    "ZIG_GLOBAL_CACHE_DIR": f"{CACHE}/zig-global",
    "ZIG_LOCAL_CACHE_DIR": f"{CACHE}/zig-local",
}


def test_cargo_staticlib_step() -> None:
    step = steps_by_component()["beacon-ffi"]
    target_dir = f"{CACHE}/cargo/aarch64-unknown-linux-gnu"
    assert step["argv"] == [
        "/opt/rust/bin/cargo",
        "build",
        "--locked",
        "--message-format=json-render-diagnostics",
        "--target",
        "aarch64-unknown-linux-gnu",
        "-p",
        "beacon-ffi",
        "--lib",
        "--release",
        # The ABI check reads parameter types from the crate's DWARF (docs/abi.md).
        "--config",
        "profile.release.package.beacon-ffi.debug=2",
    ]
    assert step["env"] == {**cargo_env("aarch64-unknown-linux-gnu", target_dir), **ZIG_LINKER}
    assert step["cwd"] == ROOT
    assert step["log"] == f"{CACHE}/logs/aarch64-unknown-linux-gnu/beacon-ffi.log"
    assert (step["package"], step["artifact_name"]) == ("beacon-ffi", "beacon")
    assert step["header"] == f"{ROOT}/include/beacon.h"
    assert step["handoff"] == f"{CACHE}/cgo/aarch64-unknown-linux-gnu/beacon-ffi"
    # Set on every Rust step of the target (cargo's fingerprints agree), so
    # a staticlib step carries it too, though no link happens there.
    assert step["cc"] == {
        "path": f"{CACHE}/tools/ld-aarch64-linux-gnu.2.28",
        "zig": "/opt/zig/zig",
        "zig_target": "aarch64-linux-gnu.2.28",
        "link_cwd": f"{CACHE}/zig-link",
        "native_libs": [],
    }
    assert step["toolchains"] == ["rust", "zig"] and step["budget"] is None


def test_cargo_firmware_step_with_build_std() -> None:
    step = steps_by_component()["beacon-fw"]
    target_dir = f"{CACHE}/cargo/thumbv7m-none-eabi"
    assert step["argv"] == [
        "/opt/rust/bin/cargo",
        "build",
        "--locked",
        "--message-format=json-render-diagnostics",
        "--target",
        "thumbv7m-none-eabi",
        "-p",
        "beacon-fw",
        "--bin",
        "beacon-fw",
        "--release",
        "-Zbuild-std=core",
        "-Zbuild-std-features=compiler-builtins-mem",
    ]
    env = cargo_env("thumbv7m-none-eabi", target_dir)
    # Firmware: every function's frame size, for the worst-case stack.
    env["CARGO_ENCODED_RUSTFLAGS"] += "\x1f-Zemit-stack-sizes"
    assert step["env"] == {
        **env,
        "RUSTC_BOOTSTRAP": "1",
        "CARGO_TARGET_THUMBV7M_NONE_EABI_LINKER": "/usr/bin/ld.lld-19",
    }
    assert step["kind"] == "firmware" and step["artifact_name"] == "beacon-fw"
    # The smallest of the component's and the target's budgets.
    assert step["budget"] == {"flash": 16384, "ram": 65536}
    assert step["handoff"] is None


def go_env(cgo: bool) -> dict[str, str]:
    return {
        **BASE_ENV,
        "PATH": "/opt/go/bin:/usr/local/bin:/usr/bin:/bin",
        "SOURCE_DATE_EPOCH": "1700000000",
        "GOTOOLCHAIN": "local",
        "GOENV": "off",
        "GOWORK": "off",
        "GOFLAGS": "",
        "GOCACHE": f"{CACHE}/go-build",
        "GOMODCACHE": "/home/u/go/pkg/mod",
        "GOOS": "linux",
        "GOARCH": "arm64",
        "CGO_ENABLED": "1" if cgo else "0",
    }


def test_go_pure_step() -> None:
    step = steps_by_component()["plain"]
    out = f"{CACHE}/go-out/aarch64-unknown-linux-gnu/plain"
    assert step["argv"] == [
        "/opt/go/bin/go",
        "build",
        "-trimpath",
        "-buildvcs=false",
        "-mod=readonly",
        "-tags",
        "netgo",
        "-ldflags=-buildid=",
        "-o",
        out,
        "./cmd/plain",
    ]
    assert step["env"] == go_env(cgo=False)
    assert step["output"] == out and step["tags"] == ["netgo"]
    assert step["cc"] is None and step["inputs"] == [] and step["toolchains"] == ["go"]


def test_go_cgo_step() -> None:
    step = steps_by_component()["beacon"]
    out = f"{CACHE}/go-out/aarch64-unknown-linux-gnu/beacon"
    cgo = f"{CACHE}/cgo/aarch64-unknown-linux-gnu/beacon-ffi"
    assert step["argv"] == [
        "/opt/go/bin/go",
        "build",
        "-trimpath",
        "-buildvcs=false",
        "-mod=readonly",
        # -gnu: dynamic, against glibc 2.28 (the default floor); -musl is static.
        "-ldflags=-buildid= -X main.version=0.3.1 -linkmode=external",
        "-o",
        out,
        "./cmd/beacon",
    ]
    assert step["env"] == {
        **go_env(cgo=True),
        "CC": f"{CACHE}/tools/cc-aarch64-linux-gnu.2.28-beacon",
        "CGO_CFLAGS": f"-O2 -g0 -ffile-prefix-map={ROOT}=/build/beacon -I{cgo}/include",
        "CGO_LDFLAGS": f"-L{cgo}/lib",
        # relbuild's own zig cache, never the user's: zig writes the folder
        # a library was first built from into the library's DWARF.
        "ZIG_GLOBAL_CACHE_DIR": f"{CACHE}/zig-global",
        "ZIG_LOCAL_CACHE_DIR": f"{CACHE}/zig-local",
    }
    assert step["cc"] == {
        "path": f"{CACHE}/tools/cc-aarch64-linux-gnu.2.28-beacon",
        "zig": "/opt/zig/zig",
        "zig_target": "aarch64-linux-gnu.2.28",
        "link_cwd": f"{CACHE}/zig-link",
        # rustc's native-static-libs of each linked staticlib, appended to links.
        "native_libs": [f"{cgo}/lib"],
    }
    assert step["inputs"] == [cgo] and step["toolchains"] == ["go", "zig"]


def test_offline_steps_stay_off_the_network() -> None:
    loaded = LoadedConfig(
        path=Path("/w/toolchains.toml"), config=Config.model_validate(tomllib.loads(CONFIG))
    )
    inputs = PlanInputs(
        loaded=loaded,
        tools=TOOLS,
        source=SourceInfo(vcs=None, revision=None, dirty=False, source_date_epoch=1),
        paths=BuildPaths(root=Path(ROOT), cache=Path(CACHE)),
        user_env=USER_ENV,
        facts=FACTS,
        offline=True,
    )
    steps = {s.component: s for s in plan(inputs, ["aarch64-unknown-linux-gnu"]).steps}
    assert steps["beacon-ffi"].argv[-1] == "--offline"
    assert steps["beacon"].env["GOPROXY"] == "off"


def test_a_go_component_brings_the_staticlibs_it_links() -> None:
    the_plan = make_plan(components=["beacon"])
    assert [s.component for s in the_plan.steps] == ["beacon-ffi", "beacon"]
    assert the_plan.targets == ["aarch64-unknown-linux-gnu", "thumbv7m-none-eabi"]


@pytest.mark.parametrize(
    ("selection", "message"),
    [
        ({"targets": ["mips-unknown-linux-gnu"]}, "--target mips-unknown-linux-gnu: not a target"),
        ({"components": ["nope"]}, "--component nope: not a component"),
        ({"targets": ["thumbv7m-none-eabi"], "components": ["plain"]}, "nothing to build"),
    ],
)
def test_selection_mistakes_are_config_errors(
    selection: dict[str, list[str]], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        make_plan(**selection)


def test_sandbox_mounts_what_the_steps_use_at_canonical_paths() -> None:
    the_plan = make_plan()
    mounts = {m.inside: (m.host, m.writable) for m in the_plan.layout.mounts}
    assert mounts == {
        "/relbuild/src": ("/w", False),
        "/relbuild/cache": (CACHE, True),
        "/relbuild/cargo-home": ("/home/u/.cargo", True),
        "/relbuild/gomodcache": ("/home/u/go/pkg/mod", True),
        "/relbuild/toolchains/rust": ("/opt/rust", False),
        "/relbuild/toolchains/zig": ("/opt/zig", False),
    }
    # Only what a selection uses is mounted: firmware needs no Go or zig.
    firmware = make_plan(targets=["thumbv7m-none-eabi"])
    assert "/relbuild/toolchains/zig" not in {m.inside for m in firmware.layout.mounts}


def test_sandbox_none_builds_at_host_paths() -> None:
    loaded = LoadedConfig(
        path=Path("/w/toolchains.toml"),
        config=Config.model_validate(
            tomllib.loads(CONFIG.replace('root = "beacon"', 'root = "beacon"\nsandbox = "none"'))
        ),
    )
    inputs = PlanInputs(
        loaded=loaded,
        tools=TOOLS,
        source=SourceInfo(vcs="git", revision="a" * 40, dirty=False, source_date_epoch=1700000000),
        paths=BuildPaths(root=Path(ROOT), cache=Path(CACHE)),
        user_env=USER_ENV,
        facts=FACTS,
    )
    assert not plan(inputs).layout.sandboxed


def test_cgo_compiler_links_in_a_fixed_folder() -> None:
    [step] = [s for s in make_plan().steps if s.component == "beacon"]
    assert step.cc is not None
    script = step.cc.script()
    assert script.startswith("#!/bin/sh\n")
    assert f"cd {CACHE}/zig-link || exit 1" in script
    assert '*" -c "* | *" -E "* | *" -S "*) ;;' in script
    assert script.endswith('exec /opt/zig/zig cc -target aarch64-linux-gnu.2.28 "$@"\n')
    cgo = f"{CACHE}/cgo/aarch64-unknown-linux-gnu/beacon-ffi/lib"
    assert (
        f'for f in {cgo}/*.native-libs; do [ -f "$f" ] && set -- "$@" $(cat "$f"); done' in script
    )


def test_first_errors_pick_the_cause_out_of_a_long_log() -> None:
    from relbuild.pipeline.run import first_errors

    log = "\n".join(
        [
            "   Compiling core v0.0.0",
            '{"reason":"compiler-message","message":"error[E0463]"}',
            "error[E0463]: can't find crate for `std`",
            "  = note: the `aarch64-unknown-linux-gnu` target may not be installed",
            *[f"   noise {i}" for i in range(200)],
            "ld.lld: error: undefined symbol: gnu_get_libc_version",
            "ld.lld: error: undefined symbol: gnu_get_libc_version",
            "error: could not compile `x` (lib) due to 1 previous error",
        ]
    )
    assert first_errors(log) == [
        "error[E0463]: can't find crate for `std`",
        "ld.lld: error: undefined symbol: gnu_get_libc_version",
        "error: could not compile `x` (lib) due to 1 previous error",
    ]


def test_manifest_says_partial_and_a_merge_of_parts_records_what_one_build_does() -> None:
    """Real planning, per target and for both: the manifests of the parts,
    merged, are the manifest of the plan of both (steps, toolchains,
    dependencies, targets), which is what makes a merged dist byte-identical."""
    from relbuild.ci.merge import check_parts, merged_manifest
    from relbuild.pipeline.record import manifest
    from relbuild.release.dist import Manifest

    def made(**selection: list[str]) -> Manifest:
        # The config here is made in memory, so it has no file to digest.
        return manifest(make_plan(**selection), []).model_copy(update={"config_digest": "c" * 64})

    full = made()
    assert full.partial is False and full.components_selected == []
    # A firmware's stack waiver, in the manifest like the other waivers.
    assert [(w.component, w.check, w.reason) for w in full.waivers] == [
        ("beacon-fw", "stack-unbounded", "dyn Write")
    ]
    assert full.targets_of_config == ["aarch64-unknown-linux-gnu", "thumbv7m-none-eabi"]
    parts = [(Path(f"/parts/{t}"), made(targets=[t])) for t in reversed(full.targets_of_config)]
    assert all(m.partial for _, m in parts)
    assert parts[0][1].toolchains.keys() != parts[1][1].toolchains.keys()  # fw needs no go
    check_parts(parts)
    merged, missing = merged_manifest(parts)
    assert missing == []
    assert merged.to_bytes() == full.to_bytes()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fn main() {}", (True, True)),
        ("#![no_std]\npub fn f() {}", (False, False)),
        ("#![cfg_attr(not(test), no_std)]\nextern crate alloc;", (False, True)),
    ],
)
def test_std_use_is_read_from_the_crate_root(
    tmp_path: Path, text: str, expected: tuple[bool, bool]
) -> None:
    from relbuild.backends.cargo_meta import std_use

    root = tmp_path / "lib.rs"
    root.write_text(text)
    assert std_use(str(root)) == expected
    assert std_use(str(tmp_path / "missing.rs")) == (True, False)


@pytest.mark.parametrize(
    ("triple", "std", "alloc", "crates"),
    [
        ("aarch64-unknown-linux-gnu", True, True, ["std", "panic_abort"]),
        ("aarch64-unknown-linux-gnu", False, False, ["core"]),
        ("riscv64gc-unknown-linux-gnu", False, True, ["core", "alloc"]),
        ("thumbv7m-none-eabi", True, False, ["core"]),
    ],
)
def test_build_std_follows_what_the_crates_use(
    triple: str, std: bool, alloc: bool, crates: list[str]
) -> None:
    from relbuild.backends.rustc import build_std_crates
    from relbuild.config.models import TargetConfig

    target = TargetConfig(triple=triple, components=["x"])
    assert build_std_crates(target, False, std, alloc) == crates
    assert build_std_crates(target, True, std, alloc) == []
    override = TargetConfig.model_validate(
        {"triple": triple, "components": ["x"], "build-std": ["core"]}
    )
    assert build_std_crates(override, False, std, alloc) == ["core"]


def test_glibc_floor_and_zig_targets() -> None:
    from pydantic import ValidationError

    from relbuild.config.models import TargetConfig

    gnu = TargetConfig(triple="armv7-unknown-linux-gnueabihf", components=["x"], glibc="2.31")
    assert gnu.zig_target == "arm-linux-gnueabihf.2.31" and gnu.glibc_floor == "2.31"
    assert TargetConfig(triple="x86_64-unknown-linux-gnu", components=["x"]).zig_target == (
        "x86_64-linux-gnu.2.28"
    )
    musl = TargetConfig(triple="aarch64-unknown-linux-musl", components=["x"])
    assert musl.zig_target == "aarch64-linux-musl" and musl.glibc_floor is None
    with pytest.raises(ValidationError, match="-gnu triples only"):
        TargetConfig(triple="aarch64-unknown-linux-musl", components=["x"], glibc="2.28")
    with pytest.raises(ValidationError):
        TargetConfig(triple="x86_64-unknown-linux-gnu", components=["x"], glibc="2.28.1")


def test_native_static_libs_are_handed_to_the_cgo_link() -> None:
    from relbuild.backends.go import GoBackend
    from relbuild.backends.rust import RustBackend

    steps = {s.component: s for s in make_plan().steps}
    out = "   Compiling beacon-ffi\nnote: native-static-libs: -lgcc_s -lutil -lc\n\n"
    assert RustBackend().handoff_notes(steps["beacon-ffi"], out) == {
        "libbeacon.native-libs": "-lgcc_s -lutil -lc\n"
    }
    # Nothing compiled, no note: the file of the build that compiled it stays.
    assert RustBackend().handoff_notes(steps["beacon-ffi"], "   Fresh beacon-ffi\n") == {}
    assert GoBackend().handoff_notes(steps["beacon"], out) == {}


def test_zig_links_the_hosts_build_scripts_and_proc_macros_when_cross_compiling() -> None:
    """cargo builds build scripts and proc macros for the host; with zig
    pinned, the host triple's linker is zig too (no host C compiler needed),
    on every Rust step for another triple, firmware included."""
    rust = TOOLS.rust
    assert rust is not None
    host_tools = TOOLS.model_copy(
        update={"rust": rust.model_copy(update={"details": {"host": "x86_64-unknown-linux-gnu"}})}
    )
    rust_steps = [s for s in plan_with(host_tools).steps if s.tool == "cargo"]
    assert {s.target for s in rust_steps} == {"aarch64-unknown-linux-gnu", "thumbv7m-none-eabi"}
    host_linker = f"{CACHE}/tools/ld-x86_64-linux-gnu.2.28"
    for step in rust_steps:
        assert step.env["CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER"] == host_linker
        assert step.host_cc is not None and step.host_cc.path == host_linker
        assert step.host_cc.zig_target == "x86_64-linux-gnu.2.28"
        assert "zig" in step.toolchains
    # The target's own linker is unchanged: rust-lld's ld.lld-19 for firmware.
    fw = next(s for s in rust_steps if s.component == "beacon-fw")
    assert fw.env["CARGO_TARGET_THUMBV7M_NONE_EABI_LINKER"] == "/usr/bin/ld.lld-19"


def test_a_linker_the_target_names_is_recorded_with_the_toolchains() -> None:
    """`linker = "ld.lld-19"` changes the bytes of what it links: the
    manifest records its release and digest beside the pins, and the steps
    that link with it name it."""
    the_plan = make_plan()
    fw = next(s for s in the_plan.steps if s.component == "beacon-fw")
    assert fw.toolchains == ["rust", "ld.lld-19"]
    lld = the_plan.toolchains["ld.lld-19"]
    assert (lld.release, lld.sha256) == ("19.1.7", "ab" * 32)
    # A target with no program to link does not record it.
    staticlib_only = make_plan(components=["beacon-ffi"])
    assert "ld.lld-19" not in staticlib_only.toolchains


def test_a_toolchain_executable_is_hashed_once_per_file_identity(tmp_path: Path) -> None:
    import hashlib

    from relbuild.backends.toolchains import _digest

    exe = tmp_path / "zig"
    exe.write_bytes(b"\x7fELF zig")
    found = _digest(str(exe), {})
    assert found is not None
    identity, digest = found
    assert digest == hashlib.sha256(b"\x7fELF zig").hexdigest()
    # Known by identity: taken as remembered, not read again.
    assert _digest(str(exe), {identity: "remembered"}) == (identity, "remembered")
    exe.write_bytes(b"\x7fELF zig, another release")
    again = _digest(str(exe), {identity: "remembered"})
    assert again is not None and again[1] == hashlib.sha256(exe.read_bytes()).hexdigest()
    assert _digest(str(tmp_path / "missing"), {}) is None
