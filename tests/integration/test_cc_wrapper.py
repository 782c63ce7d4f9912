"""The script relbuild writes as the C compiler and linker (a zig wrapper):
compiles stay where they are called, links run in the fixed folder and get
the staticlibs' native-static-libs appended. A shell script, so it is run."""

from __future__ import annotations

import subprocess
from pathlib import Path

from relbuild.backends.base import CcWrapper


def test_the_cgo_wrapper_appends_native_libs_to_links_only(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "libx.native-libs").write_text("-lgcc_s -lc\n")
    fake = tmp_path / "zig"
    fake.write_text('#!/bin/sh\necho "$PWD|$*"\n')
    fake.chmod(0o755)
    link = tmp_path / "link"
    link.mkdir()
    wrapper = CcWrapper(
        path=str(tmp_path / "cc"),
        zig=str(fake),
        zig_target="x86_64-linux-gnu.2.28",
        link_cwd=str(link),
        native_libs=[str(lib)],
    )
    script = tmp_path / "cc"
    script.write_text(wrapper.script())
    script.chmod(0o755)

    def run(*args: str) -> str:
        res = subprocess.run(
            [str(script), *args], cwd=tmp_path, check=False, capture_output=True, text=True
        )
        return res.stdout

    zig = "cc -target x86_64-linux-gnu.2.28"
    assert run("-c", "a.c", "-o", "a.o") == f"{tmp_path}|{zig} -c a.c -o a.o\n"
    assert run("a.o", "-o", "prog") == f"{link}|{zig} a.o -o prog -lgcc_s -lc\n"


def test_a_target_linker_is_recorded_by_the_release_it_prints() -> None:
    """The linker a firmware target names (Debian's ld.lld-19 here), as the
    manifest records it: the release it prints and the executable's digest."""
    import shutil

    from relbuild.backends.rust_link import linker_tool

    found = shutil.which("ld.lld-19")
    assert found, "ld.lld-19 (Debian lld-19) is installed by scripts/setup.sh"
    tool = linker_tool("ld.lld-19", found, {"PATH": "/usr/bin:/bin"})
    assert tool is not None and tool.release.startswith("19.") and tool.digest
    assert linker_tool("ld.none", "/nonexistent/ld.none", {"PATH": "/usr/bin"}) is None


def test_steps_of_several_targets_write_one_wrapper_at_once(tmp_path: Path) -> None:
    """The host's linker wrapper is shared by the Rust steps of every cross
    target, which run side by side: concurrent writes must all succeed."""
    from concurrent.futures import ThreadPoolExecutor

    from relbuild.backends.zig import write_cc_wrapper

    wrappers = [
        CcWrapper(
            path=str(tmp_path / "tools" / "ld-x86_64-linux-gnu.2.28"),
            zig=f"/opt/zig{i % 2}/zig",  # two contents, so some writes replace
            zig_target="x86_64-linux-gnu.2.28",
            link_cwd=str(tmp_path / "zig-link"),
        )
        for i in range(64)
    ]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write_cc_wrapper, wrappers))
    assert [p.name for p in (tmp_path / "tools").iterdir()] == ["ld-x86_64-linux-gnu.2.28"]
