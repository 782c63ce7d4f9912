"""zig: the pinned C (cross) compiler for cgo, from the `ziglang` package."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from relbuild.backends.base import MACOS_STUBS, CcWrapper, ResolvedTool, tbd
from relbuild.config.models import ZigPin
from relbuild.errors import ToolchainError
from relbuild.system import environ, proc


def tools_zig(release: str, env: Mapping[str, str]) -> Path:
    """Where `relbuild doctor --fix` installs the `ziglang` wheel of a zig
    release: a folder of its own per release under relbuild's tools folder."""
    return Path(environ.tools_home(env)) / "zig" / release / "ziglang" / "zig"


def package_zig() -> tuple[Path | None, str | None]:
    spec = importlib.util.find_spec("ziglang")
    if spec is None or not spec.submodule_search_locations:
        return None, None
    folder = Path(next(iter(spec.submodule_search_locations)))
    try:
        version = importlib.metadata.version("ziglang")
    except importlib.metadata.PackageNotFoundError:
        version = None
    return folder / "zig", version


def resolve(pin: ZigPin, env: Mapping[str, str]) -> ResolvedTool:
    fix_install = (
        f"Fix: relbuild doctor --fix (installs ziglang=={pin.release} into "
        f"{tools_zig(pin.release, env).parent.parent}), or "
        f"{sys.executable} -m pip install ziglang=={pin.release}"
    )
    if pin.path:
        zig: Path | None = Path(pin.path).expanduser()
        via = f"path {pin.path}"
    else:
        zig, pkg_version = package_zig()
        via = f"ziglang {pkg_version} (Python package)"
        installed = tools_zig(pin.release, env)
        if pkg_version != pin.release and installed.is_file():
            # The package beside relbuild is missing or another release:
            # the one `doctor --fix` installed for this pin is used.
            zig, via = installed, f"ziglang {pin.release} ({installed.parent.parent})"
        if zig is None:
            raise ToolchainError(
                f"zig {pin.release} is pinned in toolchains.zig, but the `ziglang` package "
                "is not installed beside relbuild",
                hint=fix_install,
            )
    assert zig is not None
    if not zig.is_file():
        raise ToolchainError(f"zig is pinned, but {zig} does not exist ({via})", hint=fix_install)
    res = proc.run([zig, "version"], env=env, check=False)
    found = res.stdout.strip()
    if res.returncode != 0 or not found:
        raise ToolchainError(f"{zig} did not answer `zig version`", hint=fix_install)
    if found != pin.release:
        raise ToolchainError(
            f"zig {pin.release} is pinned in toolchains.zig, but {zig} is {found} ({via})",
            hint=f"{fix_install}\n(or change toolchains.zig.release to {found})",
            found=found,
        )
    return ResolvedTool(
        name="zig",
        release=found,
        found_via=via,
        executable=str(zig),
        paths={"zig": str(zig)},
        placeholders={"ZIG": str(zig)},
    )


def write_cc_wrapper(cc: CcWrapper, rewrite: Callable[[str], str] = str) -> None:
    """The script a cgo step calls as CC, with the zig path the step sees;
    rewritten only when it changes."""
    Path(cc.link_cwd).mkdir(parents=True, exist_ok=True)
    _write_script(Path(cc.path), rewrite(cc.script()))
    if cc.dlltool is not None:
        _write_script(Path(cc.dlltool), rewrite(cc.dlltool_script()))
    if cc.stubs is not None:
        for rel, (install_name, symbols) in MACOS_STUBS.items():
            _write_script(Path(cc.stubs) / rel, tbd(install_name, symbols), mode=0o644)


def _write_script(path: Path, text: str, mode: int = 0o755) -> None:
    if path.exists() and path.read_text() == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    # Steps of several targets may write one wrapper at once (the host's
    # linker): each writes its own temp file, then renames it over.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text)
    tmp.chmod(mode)
    tmp.replace(path)
