"""`relbuild doctor --fix`: install what needs no root, pinned and checked,
and name the Debian packages of the rest in one `apt-get install` line.

- zig: the `ziglang` wheel of the pinned release, installed with pip into a
  folder of its own under relbuild's tools folder (where the zig resolver
  looks when the package beside relbuild is missing or another release);
  the zig executable's SHA-256, the one the manifest records under
  `toolchains.zig`, must be the one the wheel's RECORD lists.
- Go: any Go >= 1.21 fetches the pinned release through the module proxy
  (checked against the checksum database) when asked with GOTOOLCHAIN.
- Rust: `rustup toolchain install` with the std source, where rustup is
  present and the pin does not name a folder.

What is there already is left alone: a second run changes nothing.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, computed_field

from relbuild.backends import zig as zig_backend
from relbuild.backends.base import Check
from relbuild.config import LoadedConfig
from relbuild.config.models import GoPin, RustPin, ZigPin
from relbuild.errors import ToolchainError
from relbuild.project.doctor import DoctorReport, ToolRow, doctor
from relbuild.release.dist import hash_file
from relbuild.system import proc


class FixAction(BaseModel):
    subject: str
    status: Literal["installed", "failed", "manual"]
    detail: str


class FixReport(BaseModel):
    actions: list[FixAction]
    # Debian packages that need root: printed as one command, never run.
    apt: list[str]
    doctor: DoctorReport

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return self.doctor.ok

    @computed_field  # type: ignore[prop-decorator]
    @property
    def apt_command(self) -> str | None:
        if not self.apt:
            return None
        return "sudo apt-get install --no-install-recommends " + " ".join(self.apt)


def fix(loaded: LoadedConfig, env: Mapping[str, str], python: str = sys.executable) -> FixReport:
    """Doctor, fix what can be fixed without root, doctor again."""
    before = doctor(loaded, env)
    pins = loaded.config.toolchains
    actions: list[FixAction] = []
    apt: list[str] = []
    for row in before.tools:
        if row.status in {"ok", "unpinned"}:
            continue
        if row.tool == "zig" and pins.zig is not None:
            actions.append(install_zig(pins.zig, env, python))
        elif row.tool == "go" and pins.go is not None:
            actions.append(fetch_go(pins.go, env))
        elif row.tool == "rust" and pins.rust is not None:
            action, packages = install_rust(pins.rust, env)
            actions.append(action)
            apt += packages
    rust_row = next((r for r in before.tools if r.tool == "rust"), None)
    for check in before.checks:
        if check.ok or check.skipped:
            continue
        packages = debian_packages(check, rust_row)
        if packages:
            apt += packages
        else:
            what = f"{check.subject}: {check.need}"
            actions.append(FixAction(subject=what, status="manual", detail=check.fix or ""))
    after = doctor(loaded, env) if any(a.status == "installed" for a in actions) else before
    return FixReport(actions=actions, apt=sorted(set(apt)), doctor=after)


# --- zig ---------------------------------------------------------------------------


def install_zig(pin: ZigPin, env: Mapping[str, str], python: str) -> FixAction:
    if pin.path:
        return FixAction(
            subject="zig",
            status="manual",
            detail=f"toolchains.zig.path is {pin.path}: install zig {pin.release} there, "
            "or remove `path` and run `relbuild doctor --fix` again",
        )
    dest = zig_backend.tools_zig(pin.release, env).parent.parent
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{pin.release}-", dir=dest.parent))
    try:
        res = proc.run(
            [
                python,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--only-binary=:all:",
                "--target",
                tmp,
                f"ziglang=={pin.release}",
            ],
            env=_pip_env(env),
            check=False,
        )
        if res.returncode != 0:
            return FixAction(
                subject="zig",
                status="failed",
                detail=f"pip install ziglang=={pin.release} failed:\n{proc.tail(res.output)}",
            )
        digest = check_record(tmp, pin.release)
        found = proc.run([tmp / "ziglang" / "zig", "version"], env=env, check=False).stdout
        if found.strip() != pin.release:
            return FixAction(
                subject="zig",
                status="failed",
                detail=f"the ziglang=={pin.release} wheel's zig says {found.strip()!r}",
            )
        if dest.exists():  # an earlier install that no longer answers
            shutil.rmtree(dest)
        tmp.chmod(0o755)  # mkdtemp's 0700: other users of the machine may share the folder
        tmp.rename(dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return FixAction(
        subject="zig",
        status="installed",
        detail=f"ziglang=={pin.release} into {dest}; zig's SHA-256 {digest} "
        "(as the manifest records it) is the one the wheel's RECORD lists",
    )


def _pip_env(env: Mapping[str, str]) -> dict[str, str]:
    """The probe environment, and pip's own settings (index, certificates)."""
    return {**env, **{k: v for k, v in os.environ.items() if k.startswith("PIP_")}}


def check_record(folder: Path, release: str) -> str:
    """The SHA-256 of ``folder``/ziglang/zig, which must be the one the
    wheel's RECORD lists for it."""
    record = folder / f"ziglang-{release}.dist-info" / "RECORD"
    try:
        text = record.read_text()
    except OSError as exc:
        raise ToolchainError(f"the ziglang=={release} wheel has no RECORD: {exc}") from None
    listed = None
    for line in text.splitlines():
        name, _, rest = line.partition(",")
        if name == "ziglang/zig":
            listed = rest.split(",")[0]
    digest = hash_file(folder / "ziglang" / "zig")[0]
    want = "sha256=" + base64.urlsafe_b64encode(bytes.fromhex(digest)).rstrip(b"=").decode()
    if listed != want:
        raise ToolchainError(
            f"zig from the ziglang=={release} wheel has SHA-256 {digest}, "
            f"but the wheel's RECORD lists {listed or 'nothing'} for it"
        )
    return digest


# --- Go and Rust -------------------------------------------------------------------


def fetch_go(pin: GoPin, env: Mapping[str, str]) -> FixAction:
    go = proc.which(pin.path or "go", env)
    if go is None:
        return FixAction(
            subject="go",
            status="manual",
            detail="install any Go >= 1.21 on PATH (it fetches the pinned release itself)",
        )
    want = f"go{pin.release}"
    res = proc.run([go, "version"], env={**env, "GOTOOLCHAIN": want}, check=False)
    if res.returncode != 0 or want not in res.stdout:
        return FixAction(
            subject="go",
            status="failed",
            detail=f"`{go} version` with GOTOOLCHAIN={want}:\n{proc.tail(res.output)}",
        )
    return FixAction(subject="go", status="installed", detail=f"{want} via GOTOOLCHAIN")


def install_rust(pin: RustPin, env: Mapping[str, str]) -> tuple[FixAction, list[str]]:
    if pin.path and pin.path.startswith("/usr/"):
        # Debian's Rust with its std source; which release it is, apt decides.
        detail = f"Debian's rustc-web gives the Rust in {pin.path}; it must be {pin.release}"
        action = FixAction(subject="rust", status="manual", detail=detail)
        return action, ["rustc-web", "cargo-web", "rust-web-src"]
    rustup = proc.which("rustup", env)
    if pin.path or rustup is None:
        detail = f"install Rust {pin.release} with its std source (rustup, or your distribution)"
        return FixAction(subject="rust", status="manual", detail=detail), []
    name = pin.rustup_toolchain or pin.release
    argv = [rustup, "toolchain", "install", name, "--profile", "minimal", "-c", "rust-src"]
    res = proc.run(argv, env=env, check=False)
    if res.returncode != 0:
        detail = f"`rustup toolchain install {name}` failed:\n{proc.tail(res.output)}"
        return FixAction(subject="rust", status="failed", detail=detail), []
    detail = f"rustup toolchain {name} with rust-src"
    if not pin.rustup_toolchain:
        detail += f'; set toolchains.rust.rustup-toolchain = "{name}" to use it'
    return FixAction(subject="rust", status="installed", detail=detail), []


# --- what needs root -----------------------------------------------------------------


def debian_packages(check: Check, rust: ToolRow | None) -> list[str]:
    """The Debian packages that meet a target's need, or [] when none does."""
    text = f"{check.detail} {check.fix or ''}"
    if check.need == "sandbox (bubblewrap)":
        return ["bubblewrap"] if "not installed" in text else []
    if check.need == "qemu runner":
        runner = check.detail.split()[0]
        if runner.startswith("qemu-system-arm"):
            return ["qemu-system-arm"]
        return ["qemu-system-misc"] if runner.startswith("qemu-system-") else ["qemu-user"]
    if check.need == "wine runner":
        return ["wine64"]
    if check.need == "glibc for qemu":
        return re.findall(r"libc6-[a-z0-9]+-cross", text)[:1]
    if check.need == "linker":
        return [f"lld-{m}" for m in re.findall(r"\blld-(\d+)", text)[:1]]
    if check.need == "libclang (bindgen)":
        return ["libclang1-19", "libclang-common-19-dev"]
    if (
        check.need == "rust std source (build-std)"
        and rust
        and (rust.path or "").startswith("/usr/")
    ):
        return ["rust-web-src"]
    return []
