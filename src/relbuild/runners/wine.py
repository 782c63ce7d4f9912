"""Windows programs under Debian's wine64, in a Wine prefix relbuild owns.

The prefix lives in relbuild's tools folder (``$RELBUILD_TOOLS/wine``, else
``~/.cache/relbuild/tools/wine``), one per Wine release and shim: its name
holds the Wine version and a digest of both, so a new Wine or a new shim
gets a new prefix and an old one is never changed under a running test. It
is made once (``wineboot -i``, about 6 s and 700 MB: Wine copies its DLLs
into it), in a temp folder renamed into place when complete, under a lock so
that two processes that need it at once make it once.

Programs run with ``WINEDEBUG=-all`` (no Wine diagnostics),
``WINEDLLOVERRIDES=mscoree,mshtml=`` (no Mono or Gecko installers) and no
display: they are command-line programs.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from relbuild.backends import zig as zig_backend
from relbuild.config.models import ZigPin
from relbuild.errors import ToolchainError
from relbuild.runners import shim
from relbuild.system import environ, proc

# Debian's wine64 package; the `wine` wrapper on PATH comes only with the
# `wine` package, which pulls in the 32-bit half too.
WINE64 = "/usr/lib/wine/wine64"
PACKAGE = "wine64"
INSTALL_HINT = "install Debian's wine64 (apt-get install --no-install-recommends wine64)"
OVERRIDES = "mscoree,mshtml="
# What a prefix records about itself; written last, so a prefix without it
# is not one relbuild finished.
READY = "relbuild-prefix.json"
# Variables that would let a program reach a display.
_DISPLAY = ("DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY")


@dataclass(frozen=True)
class WineRunner:
    """How to start a Windows program here: ``argv`` before the program, and
    the environment to run it with."""

    wine64: str
    prefix: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def argv(self) -> list[str]:
        return [self.wine64]

    def command(self, exe: Path | str, args: Sequence[str] = ()) -> list[str]:
        return [*self.argv, str(exe), *args]


def find_wine64(env: Mapping[str, str] | None = None) -> str | None:
    """Debian's wine64, or a `wine64` on PATH."""
    return proc.which(WINE64, env) or proc.which("wine64", env)


def require_wine64(env: Mapping[str, str]) -> str:
    found = find_wine64(env)
    if found is None:
        raise ToolchainError(
            f"wine64 is needed to run Windows programs ({WINE64})", hint=INSTALL_HINT
        )
    return found


def wine_env(prefix: Path, base: Mapping[str, str]) -> dict[str, str]:
    """``base`` with the prefix, Wine's diagnostics off, no Mono or Gecko,
    and no display."""
    env = {k: v for k, v in base.items() if k not in _DISPLAY}
    env.update(WINEPREFIX=str(prefix), WINEDEBUG="-all", WINEDLLOVERRIDES=OVERRIDES)
    return env


def wine_version(wine64: str, env: Mapping[str, str]) -> str:
    """``wine-8.0 (Debian 8.0~repack-4)``."""
    res = proc.run([wine64, "--version"], env=env, check=False, timeout=60)
    version = res.stdout.strip()
    if res.returncode != 0 or not version.startswith("wine-"):
        raise ToolchainError(f"{wine64} --version did not name a Wine release", hint=INSTALL_HINT)
    return version.splitlines()[0]


def prefix_name(version: str, shim_key: str) -> str:
    """``wine-8.0-<digest>``: the release for people, a digest of the full
    version and the shim's key for uniqueness."""
    release = re.sub(r"[^A-Za-z0-9.]+", "-", version.split(maxsplit=1)[0]).strip("-.") or "wine"
    digest = hashlib.sha256(f"{version}\n{shim_key}".encode()).hexdigest()[:16]
    return f"{release}-{digest}"


def prefix_root(env: Mapping[str, str]) -> Path:
    return Path(environ.tools_home(env)) / "wine"


def shim_zig(pin: ZigPin | None, env: Mapping[str, str]) -> tuple[str, str]:
    """(executable, release) of the zig that builds the shim: the pinned one,
    else the `ziglang` package beside relbuild (a project of pure Go needs
    no zig pin)."""
    if pin is not None:
        tool = zig_backend.resolve(pin, env)
        return tool.executable, tool.release
    zig, release = zig_backend.package_zig()
    if zig is None or release is None or not zig.is_file():
        raise ToolchainError(
            "zig builds the ProcessPrng shim Windows programs need under Wine, and there "
            "is no [toolchains.zig] pin nor `ziglang` package beside relbuild",
            hint="pin zig under [toolchains.zig] and run `relbuild doctor --fix`",
        )
    return str(zig), release


def runner(pin: ZigPin | None, env: Mapping[str, str], root: Path | None = None) -> WineRunner:
    """The runner for x86_64 Windows programs, its prefix made if missing."""
    wine64 = require_wine64(env)
    zig, release = shim_zig(pin, env)
    prefix = ensure_prefix(wine64, zig, release, env, root)
    return WineRunner(wine64=wine64, prefix=prefix, env=wine_env(prefix, env))


def ensure_prefix(
    wine64: str, zig: str, zig_release: str, env: Mapping[str, str], root: Path | None = None
) -> Path:
    """The prefix for this Wine and shim, made once (see the module's doc)."""
    root = root or prefix_root(env)
    version = wine_version(wine64, env)
    name = prefix_name(version, shim.key(zig_release))
    final = root / name
    if (final / READY).is_file():
        return final
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root / f".{name}.lock"):
        if (final / READY).is_file():  # made by another process meanwhile
            return final
        # Whoever held the lock before and left a temp folder was killed.
        for stale in [*root.glob(f".{name}.*.tmp"), *root.glob(f".{name}.*.shim")]:
            shutil.rmtree(stale, ignore_errors=True)
        tmp = root / f".{name}.{os.getpid()}.tmp"
        try:
            _make(tmp, wine64, version, zig, zig_release, env, root / "zig-cache")
            if final.exists():  # a folder without READY: not ours to trust
                shutil.rmtree(final)
            tmp.rename(final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def _make(
    tmp: Path,
    wine64: str,
    version: str,
    zig: str,
    zig_release: str,
    env: Mapping[str, str],
    zig_cache: Path,
) -> None:
    dll = shim.build(zig, tmp.with_suffix(".shim"), env, zig_cache)
    try:
        wenv = wine_env(tmp, env)
        proc.run([wine64, "wineboot", "-i"], env=wenv, timeout=600)
        # wineboot returns before the server has written the registry; the
        # prefix is renamed only once the server has exited.
        proc.run([_wineserver(wine64, env), "-w"], env=wenv, timeout=600)
        system32 = tmp / "drive_c" / "windows" / "system32"
        if not system32.is_dir():
            raise ToolchainError(f"`{wine64} wineboot -i` made no {system32}", hint=INSTALL_HINT)
        shutil.copyfile(dll, system32 / shim.NAME)
        record = {
            "wine": version,
            "shim": {
                "sha256": hashlib.sha256(dll.read_bytes()).hexdigest(),
                "zig": zig_release,
                "key": shim.key(zig_release),
            },
        }
        (tmp / READY).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    finally:
        shutil.rmtree(dll.parent, ignore_errors=True)


def _wineserver(wine64: str, env: Mapping[str, str]) -> str:
    """The wineserver beside wine64 (Debian: /usr/lib/wine/wineserver)."""
    here = Path(wine64).with_name("wineserver")
    found = proc.which(str(here), env) or proc.which("wineserver", env)
    if found is None:
        raise ToolchainError(f"no wineserver beside {wine64}", hint=INSTALL_HINT)
    return found


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
