"""`relbuild doctor --fix`: the zig wheel checked against its RECORD, the
tools folder the zig resolver looks in, and the Debian packages of the rest."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from relbuild.backends import zig as zig_backend
from relbuild.backends.base import Check
from relbuild.config.models import ZigPin
from relbuild.errors import ToolchainError
from relbuild.project import fix
from relbuild.project.doctor import ToolRow
from relbuild.system import environ, proc

ZIG = b"#!/bin/sh\necho 0.15.2\n"


def record_line(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"ziglang/zig,sha256={digest},{len(data)}"


def fake_wheel(folder: Path, zig: bytes = ZIG, listed: bytes = ZIG) -> None:
    (folder / "ziglang").mkdir(parents=True)
    (folder / "ziglang" / "zig").write_bytes(zig)
    (folder / "ziglang" / "zig").chmod(0o755)
    info = folder / "ziglang-0.15.2.dist-info"
    info.mkdir()
    (info / "RECORD").write_text(f"ziglang/__init__.py,,\n{record_line(listed)}\n")


class FakeRun:
    """pip writes the wheel into --target; zig answers its version."""

    def __init__(self, zig: bytes = ZIG, listed: bytes = ZIG) -> None:
        self.zig, self.listed = zig, listed
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[Any], **_: Any) -> proc.Result:
        args = [str(a) for a in argv]
        self.calls.append(args)
        if args[1:4] == ["-m", "pip", "install"]:
            fake_wheel(Path(args[args.index("--target") + 1]), self.zig, self.listed)
            return proc.Result(args, 0, "", "")
        if args[-1] == "version":
            return proc.Result(args, 0, "0.15.2\n", "")
        raise AssertionError(args)


def test_zig_is_installed_into_the_tools_folder_and_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = FakeRun()
    monkeypatch.setattr(proc, "run", run)
    env = {"RELBUILD_TOOLS": str(tmp_path / "tools")}
    action = fix.install_zig(ZigPin(release="0.15.2"), env, "/venv/bin/python")
    zig = tmp_path / "tools" / "zig" / "0.15.2" / "ziglang" / "zig"
    assert action.status == "installed", action.detail
    assert zig.read_bytes() == ZIG
    assert hashlib.sha256(ZIG).hexdigest() in action.detail
    assert run.calls[0][:3] == ["/venv/bin/python", "-m", "pip"]
    assert "ziglang==0.15.2" in run.calls[0] and "--no-deps" in run.calls[0]
    assert zig == zig_backend.tools_zig("0.15.2", env)
    assert (zig.parent.parent.stat().st_mode & 0o777) == 0o755
    # Nothing but the release's folder is left behind.
    assert [p.name for p in (tmp_path / "tools" / "zig").iterdir()] == ["0.15.2"]


def test_a_zig_that_is_not_the_wheels_is_refused_and_not_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(proc, "run", FakeRun(zig=ZIG + b"# changed\n"))
    env = {"RELBUILD_TOOLS": str(tmp_path / "tools")}
    with pytest.raises(ToolchainError, match="RECORD lists sha256="):
        fix.install_zig(ZigPin(release="0.15.2"), env, "/venv/bin/python")
    assert list((tmp_path / "tools" / "zig").iterdir()) == []


def test_a_wheel_without_a_record_is_refused(tmp_path: Path) -> None:
    fake_wheel(tmp_path)
    (tmp_path / "ziglang-0.15.2.dist-info" / "RECORD").unlink()
    with pytest.raises(ToolchainError, match="no RECORD"):
        fix.check_record(tmp_path, "0.15.2")


def test_a_zig_path_pin_is_left_to_the_user(tmp_path: Path) -> None:
    action = fix.install_zig(ZigPin(release="0.15.2", path="/opt/zig/zig"), {}, "python")
    assert action.status == "manual" and "/opt/zig/zig" in action.detail


def test_the_resolver_uses_the_installed_zig_when_the_package_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"RELBUILD_TOOLS": str(tmp_path / "tools"), "PATH": "/usr/bin"}
    monkeypatch.setattr(zig_backend, "package_zig", lambda: (None, None))
    with pytest.raises(ToolchainError, match="relbuild doctor --fix"):
        zig_backend.resolve(ZigPin(release="0.15.2"), env)
    fake_wheel(tmp_path / "tools" / "zig" / "0.15.2")
    monkeypatch.setattr(proc, "run", FakeRun())
    tool = zig_backend.resolve(ZigPin(release="0.15.2"), env)
    assert tool.executable == str(zig_backend.tools_zig("0.15.2", env))
    assert str(tmp_path / "tools") in tool.found_via


def test_the_tools_folder_defaults_under_home() -> None:
    assert environ.tools_home({"HOME": "/h"}) == "/h/.cache/relbuild/tools"
    assert environ.tools_home({"HOME": "/h", "RELBUILD_TOOLS": "/t"}) == "/t"
    assert "RELBUILD_TOOLS" in environ.probe_env({"RELBUILD_TOOLS": "/t"})


def check(subject: str, need: str, detail: str, fix_text: str = "") -> Check:
    return Check(subject=subject, need=need, ok=False, detail=detail, fix=fix_text)


@pytest.mark.parametrize(
    ("need", "detail", "fix_text", "packages"),
    [
        ("qemu runner", "qemu-aarch64 not found", "", ["qemu-user"]),
        ("qemu runner", "qemu-system-arm not found", "", ["qemu-system-arm"]),
        ("qemu runner", "qemu-system-riscv32 not found", "", ["qemu-system-misc"]),
        (
            "glibc for qemu",
            "/usr/aarch64-linux-gnu is missing",
            "install libc6-arm64-cross (Debian): -gnu programs are linked dynamically",
            ["libc6-arm64-cross"],
        ),
        ("linker", "ld.lld-19 not found", "install ld.lld-19 (Debian: lld-19)", ["lld-19"]),
        ("sandbox (bubblewrap)", "bubblewrap (`bwrap`) is not installed", "", ["bubblewrap"]),
        # A sandbox that bwrap cannot start is a kernel setting, not a package.
        ("sandbox (bubblewrap)", "bubblewrap cannot create a sandbox here: x", "", []),
        ("imgtool (MCUboot images)", "not found", "pip install imgtool", []),
        ("wine runner", "/usr/lib/wine/wine64 not found", "", ["wine64"]),
    ],
)
def test_the_debian_packages_of_unmet_needs(
    need: str, detail: str, fix_text: str, packages: list[str]
) -> None:
    assert fix.debian_packages(check("t", need, detail, fix_text), None) == packages


def test_the_std_source_of_debians_rust_is_a_package() -> None:
    debian = ToolRow(
        tool="rust", pinned="1.96.0", found="1.96.0", path="/usr/bin/rustc", via="p", status="ok"
    )
    rustup = debian.model_copy(update={"path": "/root/.rustup/toolchains/x/bin/rustc"})
    need = check("thumbv7m-none-eabi", "rust std source (build-std)", "-Zbuild-std=core")
    assert fix.debian_packages(need, debian) == ["rust-web-src"]
    assert fix.debian_packages(need, rustup) == []


def report(zig: str, *checks: Check) -> Any:
    from relbuild.project.doctor import DoctorReport

    row = ToolRow(tool="zig", pinned="0.15.2", found=None, path=None, via=None, status=zig)
    return DoctorReport(config="toolchains.toml", tools=[row], checks=list(checks))


def test_fix_installs_then_asks_doctor_again_and_names_the_packages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    qemu = check("aarch64-unknown-linux-gnu", "qemu runner", "qemu-aarch64 not found")
    reports = [report("missing", qemu), report("ok", qemu)]
    monkeypatch.setattr(fix, "doctor", lambda *_: reports.pop(0))
    installed = fix.FixAction(subject="zig", status="installed", detail="d")
    monkeypatch.setattr(fix, "install_zig", lambda *_: installed)
    pins = SimpleNamespace(zig=ZigPin(release="0.15.2"), go=None, rust=None)
    loaded: Any = SimpleNamespace(config=SimpleNamespace(toolchains=pins))
    done = fix.fix(loaded, {})
    assert done.actions == [installed]
    assert done.doctor.tools[0].status == "ok" and not reports
    assert done.apt_command == "sudo apt-get install --no-install-recommends qemu-user"
    # Once everything is there, nothing is done and doctor runs once.
    reports[:] = [report("ok")]
    again = fix.fix(loaded, {})
    assert again.actions == [] and again.apt == [] and again.ok and not reports
