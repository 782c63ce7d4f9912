"""The PE and Mach-O readers on real programs: C linked by the pinned zig
and pure Go, built once per session, each twice in different folders (and
working directories). Normalized PE files are byte-identical and read back
by LLVM's tools; the header checks pass on them and catch a patched
machine, a missing signature and a debug map."""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import lief
import pytest

from relbuild.binaries import formats, macho, pe
from relbuild.binaries.leaks import Scanner, path_needle
from relbuild.config.triples import TRIPLES

WIN = TRIPLES["x86_64-pc-windows-gnu"]
WIN_ARM = TRIPLES["aarch64-pc-windows-gnullvm"]
MAC_ARM = TRIPLES["aarch64-apple-darwin"]
MAC_X86 = TRIPLES["x86_64-apple-darwin"]
OBJDUMP = "/usr/bin/llvm-objdump-19"
READOBJ = "/usr/bin/llvm-readobj-19"
GO = shutil.which("go") or "/usr/local/go/bin/go"
HELLO_C = '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n'
HELLO_GO = 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello") }\n'

# What is built, per name: zig's target and flags, or Go's GOOS/GOARCH.
ZIG = {
    "win.exe": ("x86_64-windows-gnu", []),
    "mac-arm": ("aarch64-macos.11.0", ["-Wl,-S"]),  # no debug map (see macho.normalize)
    "mac-arm-g": ("aarch64-macos.11.0", []),  # zig cc's default: stabs
    "mac-x86": ("x86_64-macos.10.12", ["-Wl,-S"]),
}
GOS = {"go.exe": ("windows", "amd64"), "go-mac": ("darwin", "arm64")}


def _run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    res = subprocess.run(
        argv,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-3000:]


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[bytes, bytes]]:
    """Each program built twice: in folders "one" and "elsewhere/two", from
    there, into an output folder of another name."""
    root = tmp_path_factory.mktemp("formats")
    out: dict[str, list[bytes]] = {}
    for where, dest in (("one", "out"), ("elsewhere/two", "bin/x")):
        src = root / where
        (src / dest).mkdir(parents=True)
        (src / "hello.c").write_text(HELLO_C)
        (src / "main.go").write_text(HELLO_GO)
        (src / "go.mod").write_text("module example.com/hello\n\ngo 1.22\n")
        # zig's global cache (its libc) is shared, each build's own objects not.
        local = {"ZIG_LOCAL_CACHE_DIR": str(src / "zig-cache")}
        for name, (target, flags) in ZIG.items():
            argv = [sys.executable, "-m", "ziglang", "cc", "-target", target, *flags]
            _run([*argv, "hello.c", "-o", str(src / dest / name)], src, local)
        for name, (goos, goarch) in GOS.items():
            env = {"GOOS": goos, "GOARCH": goarch, "CGO_ENABLED": "0"}
            argv = [GO, "build", "-trimpath", "-ldflags=-buildid=", "-o", f"{dest}/{name}", "."]
            _run(argv, src, env)
        for name in [*ZIG, *GOS]:
            out.setdefault(name, []).append((src / dest / name).read_bytes())
    return {name: (a, b) for name, (a, b) in out.items()}


def test_normalize_makes_two_zig_pe_builds_identical(
    built: dict[str, tuple[bytes, bytes]], tmp_path: Path
) -> None:
    a, b = built["win.exe"]
    assert a != b  # lld stamps a time and a GUID
    na, nb = formats.normalize(a, WIN), formats.normalize(b, WIN)
    assert na == nb
    assert pe.normalize(na) == na
    # LLVM's reader parses it, and shows the stamps zeroed.
    path = tmp_path / "win.exe"
    path.write_bytes(na)
    headers = subprocess.run(
        [OBJDUMP, "-p", str(path)], capture_output=True, text=True, check=True
    ).stdout
    assert "Time/Date               Thu Jan  1 00:00:00 1970" in headers
    assert "DLL Name: KERNEL32.dll" in headers
    debug = subprocess.run(
        [READOBJ, "--coff-debug-directory", str(path)], capture_output=True, text=True, check=True
    ).stdout
    assert "TimeDateStamp: 1970-01-01 00:00:00 (0x0)" in debug
    assert "PDBAge: 1" in debug and "PDBFileName: win.pdb" in debug


def test_pe_checks_on_real_programs(built: dict[str, tuple[bytes, bytes]], tmp_path: Path) -> None:
    zig, go = built["win.exe"][0], built["go.exe"][0]
    assert formats.normalize(go, WIN) == go  # Go's linker stamps nothing
    for data in (zig, go):
        assert formats.check_stream(io.BytesIO(data), WIN, "app.exe") == []
    assert pe.facts(go).dlls == ("kernel32.dll",)
    assert "api-ms-win-crt-runtime-l1-1-0.dll" in pe.facts(zig).dlls
    # An amd64 program checked as arm64 ...
    (problem,) = formats.check_stream(io.BytesIO(zig), WIN_ARM, "app.exe")
    assert "machine is IMAGE_FILE_MACHINE_AMD64" in problem
    # ... and one whose header was patched to say ARM64, checked as amd64.
    patched = bytearray(zig)
    (lfanew,) = struct.unpack_from("<I", patched, 0x3C)
    struct.pack_into("<H", patched, lfanew + 4, 0xAA64)
    path = tmp_path / "app.exe"
    path.write_bytes(bytes(patched))
    (problem,) = formats.check_file(path, WIN)
    assert problem == (
        "app.exe: machine is IMAGE_FILE_MACHINE_ARM64, x86_64-pc-windows-gnu needs "
        "IMAGE_FILE_MACHINE_AMD64"
    )


def test_macho_builds_identical_and_checked(
    built: dict[str, tuple[bytes, bytes]], tmp_path: Path
) -> None:
    for name, triple in (("mac-arm", MAC_ARM), ("mac-x86", MAC_X86), ("go-mac", MAC_ARM)):
        a, b = built[name]
        assert a == b, name  # nothing varies: normalize is the identity
        assert formats.normalize(a, triple) == a
        assert formats.check_stream(io.BytesIO(a), triple, name) == [], name
    (go,) = macho.facts(built["go-mac"][0])
    assert (go.minos, go.signed) == ("12.0", True)  # Go 1.26's floor, not rustc's 11.0
    (arm,) = macho.facts(built["mac-arm"][0])
    assert (arm.cpu, arm.minos, arm.signed) == ("ARM64", "11.0", True)
    (x86,) = macho.facts(built["mac-x86"][0])
    assert (x86.cpu, x86.minos, x86.signed) == ("X86_64", "10.12", False)
    path = tmp_path / "mac-arm"
    path.write_bytes(built["mac-arm"][0])
    listing = subprocess.run(
        [OBJDUMP, "--macho", "-p", str(path)], capture_output=True, text=True, check=True
    ).stdout
    assert "LC_BUILD_VERSION" in listing and "minos 11.0" in listing
    assert "LC_CODE_SIGNATURE" in listing


def test_macho_without_signature_is_caught(
    built: dict[str, tuple[bytes, bytes]], tmp_path: Path
) -> None:
    parsed = lief.MachO.parse(io.BytesIO(built["mac-arm"][0]))
    assert parsed is not None
    binary = parsed.at(0)
    assert binary is not None
    assert binary.remove_signature()
    path = tmp_path / "unsigned"
    binary.write(str(path))
    assert formats.check_file(path, MAC_ARM) == [
        "unsigned: no code signature; macOS on arm64 runs no unsigned program"
    ]


def test_macho_debug_map_varies_and_is_named(built: dict[str, tuple[bytes, bytes]]) -> None:
    """zig cc's default keeps stabs naming the build folder: the two builds
    differ, the check says why, and the leak scanner finds the folder."""
    a, b = built["mac-arm-g"]
    assert a != b
    (problem,) = formats.check_stream(io.BytesIO(a), MAC_ARM, "mac-arm-g")
    assert "debug map names build paths" in problem
    (folder,) = [s for s in macho.facts(a)[0].stabs if s.endswith("/one")]
    needle = path_needle("build folder", folder)
    assert needle is not None
    leaks = Scanner([needle]).scan_bytes(a, "mac-arm-g")
    assert [x.where for x in leaks] == ["section symbol strings"]
