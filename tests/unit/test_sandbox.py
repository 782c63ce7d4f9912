"""The sandbox's layout: host paths to canonical ones and back, and the
bubblewrap command that mounts them."""

from __future__ import annotations

from pathlib import Path

from relbuild.system.sandbox import HOST, Layout, canonical_layout, step_view, wrap


def layout() -> Layout:
    return canonical_layout(
        src=Path("/home/alice/work/app"),
        cache=Path("/home/alice/work/app/.relbuild"),
        cargo_home="/home/alice/.cargo",
        gomodcache="/home/alice/go/pkg/mod",
        toolchains={"zig": "/opt/venv/lib/python3.11/site-packages/ziglang", "rust": "/usr"},
    )


def test_paths_map_to_canonical_ones_longest_mount_first() -> None:
    lay = layout()
    assert lay.inside("/home/alice/work/app/cmd/x") == "/relbuild/src/cmd/x"
    # The cache lives inside the source folder: the longer mount wins.
    assert lay.inside("/home/alice/work/app/.relbuild/go-build") == "/relbuild/cache/go-build"
    assert lay.inside("/usr/bin/rustc") == "/relbuild/toolchains/rust/bin/rustc"
    assert lay.inside("/home/alice/work/apple") == "/home/alice/work/apple"
    assert lay.outside("/relbuild/cache/cargo/t/release/libx.a") == (
        "/home/alice/work/app/.relbuild/cargo/t/release/libx.a"
    )
    assert lay.outside("/relbuild/src") == "/home/alice/work/app"


def test_host_layout_changes_nothing() -> None:
    assert not HOST.sandboxed
    assert HOST.inside("/a/b") == "/a/b"
    assert HOST.outside("/relbuild/src/x") == "/relbuild/src/x"


def test_wrap_mounts_each_folder_once_and_runs_in_cwd() -> None:
    lay = canonical_layout(
        src=Path("/p"), cache=Path("/c"), cargo_home=None, gomodcache=None, toolchains={}
    )
    cmd = wrap(["go", "build"], cwd="/relbuild/src/cmd", layout=lay, bwrap="/usr/bin/bwrap")
    assert cmd[0] == "/usr/bin/bwrap"
    joined = " ".join(cmd)
    assert "--ro-bind /p /relbuild/src" in joined
    assert "--bind /c /relbuild/cache" in joined
    assert "--hostname relbuild" in joined
    assert "--tmpfs /tmp" in joined
    assert "--unshare-net" not in cmd
    assert cmd[-5:] == ["--chdir", "/relbuild/src/cmd", "--", "go", "build"]
    offline = wrap(["x"], cwd="/", layout=lay, bwrap="bwrap", network=False)
    assert "--unshare-net" in offline


def test_rewrite_reaches_paths_inside_flags_and_lists() -> None:
    lay = layout()
    rustflags = "--remap-path-prefix=/home/alice/work/app/beacon=/build/beacon\x1f-Cx"
    assert lay.rewrite(rustflags) == "--remap-path-prefix=/relbuild/src/beacon=/build/beacon\x1f-Cx"
    assert lay.rewrite("-I/home/alice/work/app/.relbuild/cgo/inc -O2") == (
        "-I/relbuild/cache/cgo/inc -O2"
    )
    assert (
        lay.rewrite("/usr/bin:/home/alice/bin") == "/relbuild/toolchains/rust/bin:/home/alice/bin"
    )
    assert lay.rewrite("/home/alice/work/apple") == "/home/alice/work/apple"


def test_step_view_gives_the_step_its_own_home_and_temp() -> None:
    argv, env, cwd = step_view(
        ["/usr/bin/cargo", "build"],
        {"HOME": "/home/alice", "TMPDIR": "/var/tmp/x", "CARGO_HOME": "/home/alice/.cargo"},
        "/home/alice/work/app/beacon",
        layout(),
    )
    assert argv == ["/relbuild/toolchains/rust/bin/cargo", "build"]
    assert env == {"HOME": "/relbuild/home", "CARGO_HOME": "/relbuild/cargo-home"}
    assert cwd == "/relbuild/src/beacon"
    assert step_view(["x"], {"HOME": "/h"}, "/c", HOST) == (["x"], {"HOME": "/h"}, "/c")
