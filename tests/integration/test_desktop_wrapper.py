"""The zig wrapper's argument filter for Windows and macOS links, run as the
shell script it is (so not a unit test: it starts /bin/sh), with a stand-in
for zig that prints what it was given."""

from __future__ import annotations

import subprocess
from pathlib import Path

from relbuild.backends.base import MACOS_STUBS, CcWrapper, tbd


def _run(tmp_path: Path, target: str, *args: str) -> list[str]:
    fake = tmp_path / "zig"
    fake.write_text('#!/bin/sh\nfor a do printf "%s\\n" "$a"; done\n')
    fake.chmod(0o755)
    cc = CcWrapper(
        path=str(tmp_path / "cc"), zig=str(fake), zig_target=target, link_cwd=str(tmp_path)
    )
    script = tmp_path / "cc"
    script.write_text(cc.script())
    script.chmod(0o755)
    out = subprocess.run([str(script), *args], capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


def test_windows_link_drops_mingw_gcc_libraries(tmp_path: Path) -> None:
    got = _run(
        tmp_path,
        "x86_64-windows-gnu",
        "-o",
        "/x/a.exe",
        "-lgcc_eh",
        "-l:libpthread.a",
        "-lmsvcrt",
        "-lkernel32",
        "-lgcc",
        "-Wl,--disable-auto-image-base",
    )
    assert got[:3] == ["cc", "-target", "x86_64-windows-gnu"]
    assert got[3:] == ["-o", "/x/a.exe", "-lunwind", "-lkernel32", "-lunwind"]


def test_windows_compile_is_left_alone(tmp_path: Path) -> None:
    got = _run(tmp_path, "x86_64-windows-gnu", "-c", "-o", "/x/a.o", "/x/a.c")
    assert got[3:] == ["-c", "-o", "/x/a.o", "/x/a.c"]


def test_macos_drops_arch_and_version_and_searches_stubs(tmp_path: Path) -> None:
    got = _run(
        tmp_path,
        "aarch64-macos.11.0",
        "-arch",
        "arm64",
        "-mmacosx-version-min=11.0",
        "-o",
        "/x/a",
        "-framework",
        "CoreFoundation",
    )
    stubs = f"{tmp_path}/cc-stubs"
    assert got[3:] == [
        "-o",
        "/x/a",
        "-framework",
        "CoreFoundation",
        f"-F{stubs}",
        f"-L{stubs}",
        "-Wl,-S",
    ]
    compiled = _run(tmp_path, "aarch64-macos.11.0", "-arch", "arm64", "-c", "/x/a.c")
    assert compiled[3:] == ["-c", "/x/a.c"]


def test_linux_wrapper_has_no_filter(tmp_path: Path) -> None:
    got = _run(tmp_path, "x86_64-linux-gnu.2.28", "-c", "-lgcc_eh", "-arch", "x")
    assert got[3:] == ["-c", "-lgcc_eh", "-arch", "x"]


def test_tbd_stub_names_library_and_symbols() -> None:
    install, symbols = MACOS_STUBS["libresolv.tbd"]
    text = tbd(install, symbols)
    assert text.startswith("--- !tapi-tbd\n") and text.endswith("...\n")
    assert "install-name:    '/usr/lib/libresolv.9.dylib'" in text
    assert "_res_9_nsearch" in text
    assert "exports" not in tbd("/x", [])
