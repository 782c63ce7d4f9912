"""Go: find the pinned release through GOTOOLCHAIN and check it."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

from relbuild import proc
from relbuild.backends import ResolvedTool
from relbuild.config.models import GoPin
from relbuild.errors import ToolchainError

_GO_VERSION = re.compile(r"^go version go(\S+) (\S+)/(\S+)")


def parse_go_version(text: str) -> tuple[str, str]:
    """'go version go1.26.8 linux/amd64' -> ('1.26.8', 'linux/amd64')."""
    m = _GO_VERSION.match(text.strip())
    if m is None:
        raise ValueError(f"not `go version` output: {text.strip()!r}")
    return m.group(1), f"{m.group(2)}/{m.group(3)}"


def resolve(pin: GoPin, env: Mapping[str, str]) -> ResolvedTool:
    """Ask any Go >= 1.21 for the pinned release with GOTOOLCHAIN=go<pin>.

    Go fetches that exact toolchain through the module proxy (checked
    against the checksum database) when the local one differs; relbuild then
    calls the fetched toolchain's own binary by absolute path with
    GOTOOLCHAIN=local, so nothing can switch it later.
    """
    start = pin.path or "go"
    go = proc.which(start, env)
    if go is None:
        raise ToolchainError(
            f"Go {pin.release} is pinned in toolchains.go, but no `{start}` was found on PATH",
            hint="Fix: install any Go >= 1.21 (it fetches the pinned release itself), "
            "or set toolchains.go.path.",
        )
    want = f"go{pin.release}"
    res = proc.run(
        [go, "env", "-json", "GOVERSION", "GOROOT"],
        env={**env, "GOTOOLCHAIN": want},
        check=False,
    )
    try:
        data = json.loads(res.stdout)
        found, goroot = data["GOVERSION"], data["GOROOT"]
    except (ValueError, KeyError, TypeError):
        detail = proc.tail(res.output, 6)
        raise ToolchainError(
            f"Go {pin.release} is pinned, but `{go} env` with GOTOOLCHAIN={want} failed:\n{detail}",
            hint="Fix: Go older than 1.21 cannot fetch toolchains; install Go >= 1.21, and "
            "make sure the Go module proxy is reachable (or run once online to cache it).",
        ) from None
    if found != want:
        raise ToolchainError(
            f"Go {pin.release} is pinned in toolchains.go, but {go} reports {found} "
            f"even with GOTOOLCHAIN={want}",
            hint="Fix: that Go is too old to switch toolchains (needs >= 1.21); install a newer "
            f"one, or change toolchains.go.release to {found.removeprefix('go')}.",
            found=found.removeprefix("go"),
        )
    real_go = Path(goroot) / "bin" / "go"
    version = proc.run([real_go, "version"], env={**env, "GOTOOLCHAIN": "local"}).stdout
    release, platform = parse_go_version(version)
    if release != pin.release:
        raise ToolchainError(
            f"{real_go} reports go{release}, but the pin is go{pin.release}",
            hint="Fix: remove the broken toolchain from the module cache and run again.",
        )
    via = (
        "local go"
        if Path(goroot).resolve() == Path(go).resolve().parent.parent
        else (f"GOTOOLCHAIN={want} via module proxy")
    )
    return ResolvedTool(
        name="go",
        release=release,
        found_via=via,
        executable=str(real_go),
        paths={"go": str(real_go), "goroot": goroot, "started_from": go},
        details={"host": platform},
    )
