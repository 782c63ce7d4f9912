"""The pinned Rust toolchain: find rustc and cargo, and say what a triple
needs from them (std or its source for -Zbuild-std, a linker)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from relbuild.backends.base import Check, ResolvedTool, need
from relbuild.config.models import RustPin, TargetConfig
from relbuild.errors import ToolchainError
from relbuild.system import environ, proc


@dataclass(frozen=True)
class RustcInfo:
    release: str
    commit: str | None
    host: str
    llvm: str | None
    raw: str


def parse_rustc_vv(text: str) -> RustcInfo:
    """Parse ``rustc -vV``; raises ValueError when it is not rustc's output."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    if "release" not in fields or "host" not in fields:
        raise ValueError("no `release:` or `host:` line")
    commit = fields.get("commit-hash")
    return RustcInfo(
        release=fields["release"],
        commit=None if commit in (None, "unknown") else commit,
        host=fields["host"],
        llvm=fields.get("LLVM version"),
        raw=text,
    )


def _candidates(pin: RustPin, env: Mapping[str, str]) -> list[tuple[Path, str]]:
    if pin.path:
        p = Path(pin.path).expanduser()
        rustc = p if p.is_file() else p / "rustc"
        return [(rustc, f"path {pin.path}")]
    if pin.rustup_toolchain:
        rustup = proc.which("rustup", env)
        if rustup is None:
            raise ToolchainError(
                f"toolchains.rust.rustup-toolchain is '{pin.rustup_toolchain}', "
                "but rustup is not on PATH",
                hint="Install rustup, or set toolchains.rust.path to the folder with rustc.",
            )
        res = proc.run(
            [rustup, "which", "--toolchain", pin.rustup_toolchain, "rustc"], env=env, check=False
        )
        if res.returncode != 0:
            raise ToolchainError(
                f"rustup has no toolchain '{pin.rustup_toolchain}'",
                hint=f"Fix: rustup toolchain install {pin.rustup_toolchain}",
            )
        return [(Path(res.stdout.strip()), f"rustup toolchain {pin.rustup_toolchain}")]
    seen: set[str] = set()
    found: list[tuple[Path, str]] = []
    for folder in env.get("PATH", "").split(os.pathsep):
        rustc = Path(folder or ".") / "rustc"
        if rustc.is_file() and os.access(rustc, os.X_OK):
            key = os.path.realpath(rustc)
            if key not in seen:
                seen.add(key)
                found.append((rustc.absolute(), "PATH"))
    return found


def resolve(pin: RustPin, env: Mapping[str, str]) -> ResolvedTool:
    """The rustc and cargo that match the pin, or a ToolchainError saying
    what was found instead and how to fix it."""
    tried: list[str] = []
    first_found: str | None = None
    for rustc, via in _candidates(pin, env):
        if not rustc.is_file():
            tried.append(f"{rustc} does not exist ({via})")
            continue
        res = proc.run([rustc, "-vV"], env=env, check=False)
        try:
            info = parse_rustc_vv(res.stdout)
        except ValueError:
            tried.append(f"{rustc} did not answer `rustc -vV` ({via})")
            continue
        if info.release != pin.release or (
            pin.commit and not (info.commit or "").startswith(pin.commit)
        ):
            commit = f" ({info.commit[:9]})" if info.commit else ""
            first_found = first_found or info.release + commit
            tried.append(f"rustc {info.release}{commit} at {rustc} ({via})")
            continue
        return _complete(rustc, info, via, env)
    wanted = pin.release + (f" (commit {pin.commit[:9]})" if pin.commit else "")
    found = "\n".join(f"  - {t}" for t in tried) or "  - no rustc at all"
    raise ToolchainError(
        f"Rust {wanted} is pinned in toolchains.rust, but it was not found:\n{found}",
        hint=(
            f"Fix: install Rust {pin.release} (`rustup toolchain install {pin.release}`, or "
            "Debian's rustc-web/cargo-web) and point toolchains.rust.path or "
            "toolchains.rust.rustup-toolchain at it; or, to build with what is installed, "
            "change toolchains.rust.release to the version listed above."
        ),
        found=first_found,
    )


def _complete(rustc: Path, info: RustcInfo, via: str, env: Mapping[str, str]) -> ResolvedTool:
    sysroot = Path(proc.run([rustc, "--print", "sysroot"], env=env).stdout.strip())
    # A rustup proxy resolves to the real compiler; use that by absolute path
    # so that no later RUSTUP_TOOLCHAIN or override file can swap it.
    real_rustc = sysroot / "bin" / "rustc"
    if not real_rustc.is_file():
        real_rustc = rustc
    cargo = real_rustc.parent / "cargo"
    if not cargo.is_file():
        raise ToolchainError(
            f"rustc {info.release} at {real_rustc} has no cargo beside it",
            hint="Fix: install the matching cargo (Debian: cargo-web; rustup: it comes along).",
        )
    out = proc.run([cargo, "-V"], env={**env, "RUSTC": str(real_rustc)}, check=False).stdout
    cargo_release = out.split()[1] if out.startswith("cargo ") else "unknown"
    if cargo_release.split("-")[0] != info.release.split("-")[0]:
        raise ToolchainError(
            f"cargo at {cargo} is {cargo_release}, but rustc beside it is {info.release}",
            hint="Fix: install the cargo that belongs to this rustc.",
        )
    return ResolvedTool(
        name="rust",
        release=info.release,
        commit=info.commit,
        found_via=via,
        executable=str(real_rustc),
        paths={
            "rustc": str(real_rustc),
            "rustdoc": str(real_rustc.parent / "rustdoc"),
            "cargo": str(cargo),
            "sysroot": str(sysroot),
        },
        details={"host": info.host, "llvm": info.llvm or "", "cargo": out.strip()},
        placeholders={
            "RUSTC": str(real_rustc),
            "RUSTDOC": str(real_rustc.parent / "rustdoc"),
            "CARGO": str(cargo),
            "RUST_SRC": str(_std_source(sysroot).parent),
            # A folder of its own (rustup's), not the system's /usr/bin.
            **(
                {"RUST_BIN": str(real_rustc.parent)}
                if str(real_rustc.parent) not in environ.SYSTEM_PATH
                else {}
            ),
        },
    )


def cargo_env(tool: ResolvedTool) -> dict[str, str]:
    """Variables that make cargo use this toolchain's compilers and nothing
    found on PATH (a rustup proxy there would pick another release)."""
    return {"RUSTC": tool.paths["rustc"], "RUSTDOC": tool.paths["rustdoc"]}


def std_installed(tool: ResolvedTool, triple: str) -> bool:
    lib = Path(tool.paths["sysroot"]) / "lib" / "rustlib" / triple / "lib"
    return lib.is_dir() and any(lib.glob("libcore-*.rlib"))


def std_source(tool: ResolvedTool) -> Path:
    return _std_source(Path(tool.paths["sysroot"]))


def _std_source(sysroot: Path) -> Path:
    return sysroot / "lib" / "rustlib" / "src" / "rust" / "library"


def build_std_crates(
    target: TargetConfig, std_prebuilt: bool, uses_std: bool = False, uses_alloc: bool = False
) -> list[str]:
    """The crates to build with -Zbuild-std where the toolchain has no std
    for the triple: the config's if set, else what the target's crates use:
    ``std,panic_abort`` for a crate with std, ``core`` (and ``alloc``) for a
    ``no_std`` one. Bare metal has no std to build."""
    if target.build_std is not None:
        return list(target.build_std)
    if std_prebuilt:
        return []
    if uses_std and not target.info.bare_metal:
        return ["std", "panic_abort"]
    return ["core", "alloc"] if uses_alloc else ["core"]


def needs_bootstrap(tool: ResolvedTool) -> bool:
    """-Zbuild-std on a stable or beta release needs RUSTC_BOOTSTRAP=1."""
    return not tool.release.endswith("-nightly")


def default_linker_ok(tool: ResolvedTool) -> Path | None:
    """rust-lld, which bare-metal triples use unless a linker is set."""
    host = tool.details.get("host", "")
    for candidate in (
        Path(tool.paths["sysroot"]) / "lib" / "rustlib" / host / "bin" / "rust-lld",
        Path(tool.paths["rustc"]).parent / "rust-lld",
    ):
        if candidate.exists():  # exists() is False for a dangling link
            return candidate
    return None


def target_checks(
    target: TargetConfig,
    tool: ResolvedTool,
    env: Mapping[str, str],
    links: bool = True,
    std_use: tuple[bool, bool] = (False, False),
    zig: ResolvedTool | None = None,
) -> list[Check]:
    """What a target needs of Rust: std (or its source, for the crates the
    target's components use: ``std_use`` is (std, alloc)), and a linker only
    where something links (a staticlib is an archive: no link happens)."""
    triple = target.triple
    checks: list[Check] = []
    crates = build_std_crates(target, std_installed(tool, target.triple), *std_use)
    if not crates:
        checks.append(Check(subject=triple, need="rust std", ok=True, detail="prebuilt"))
    else:
        src = std_source(tool)
        detail = f"-Zbuild-std={','.join(crates)} from {src}"
        fix = (
            f"no std for {triple} and no std source at {src}. Install the source of "
            f"Rust {tool.release} (`rustup component add rust-src`, or Debian's "
            "rust-web-src for rustc-web)"
        )
        ok = (src / "Cargo.lock").is_file()
        checks.append(need(triple, "rust std source (build-std)", ok, detail, fix))
    if not links:
        return checks
    if target.linker:
        found = proc.which(target.linker, env)
        fix = (
            f"install `{target.linker}` (Debian: lld-19 gives ld.lld-19) or change "
            "the target's `linker`"
        )
        detail = found or f"{target.linker} not found"
        checks.append(need(triple, "linker", found is not None, detail, fix))
    elif target.info.bare_metal:
        lld = default_linker_ok(tool)
        detail = str(lld) if lld else "rust-lld is missing or a dangling link"
        fix = 'set `linker = "ld.lld-19"` on this target (Debian package lld-19)'
        checks.append(need(triple, "linker", lld is not None, detail, fix))
    elif zig is not None:
        checks.append(need(triple, "linker", True, f"zig cc -target {target.zig_target}", ""))
    elif triple == tool.details.get("host"):
        found = proc.which("cc", env)
        detail = f"{found} (the host's; pin zig so every machine links alike)" if found else ""
        fix = "pin zig in toolchains.zig (the linker of hosted targets), or install cc"
        checks.append(need(triple, "linker", found is not None, detail or "cc not found", fix))
    else:
        fix = "pin zig in toolchains.zig: it links Rust programs for hosted cross targets"
        checks.append(need(triple, "linker", False, "no linker for a cross target", fix))
    return checks


def cargo_debug_args(profile: str, package: str) -> list[str]:
    """Full debug info for the staticlib's own crate, so its DWARF carries
    the exported functions' parameter types. It changes no machine code;
    dependencies (and std) keep the profile's setting. See docs/abi.md."""
    return ["--config", f"profile.{profile}.package.{package}.debug=2"]
