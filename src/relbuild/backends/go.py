"""Go: find the pinned release through GOTOOLCHAIN and check it."""

from __future__ import annotations

import hashlib
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


def input_digest(
    go: str,
    package: str,
    tags: list[str],
    env: Mapping[str, str],
    cwd: str,
    extra: list[str],
) -> str:
    """A digest of everything a `go build` of ``package`` reads.

    `go list -deps -json` names every package and file the build uses with
    this env (GOOS, GOARCH, CGO_ENABLED, tags). Standard-library packages are
    covered by the Go release and module-cache packages by their version
    (their content is pinned by go.sum); the main module's files and any
    locally replaced module's are hashed by content. ``extra`` adds the
    caller's other inputs (argv, env, cgo libraries).
    """
    argv = [go, "list", "-deps", "-json", "-mod=readonly"]
    if tags:
        argv += ["-tags", ",".join(tags)]
    res = proc.run([*argv, package], env=env, cwd=cwd)
    h = hashlib.sha256()
    for line in extra:
        h.update(line.encode() + b"\n")
    decoder = json.JSONDecoder()
    text, pos = res.stdout, 0
    while pos < len(text):
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        pkg, pos = decoder.raw_decode(text, pos)
        h.update(f"pkg {pkg['ImportPath']}\n".encode())
        if pkg.get("Standard"):
            continue
        module = pkg.get("Module") or {}
        if module.get("Version") and not module.get("Replace"):
            h.update(f"mod {module['Path']}@{module['Version']}\n".encode())
            continue
        folder = Path(pkg["Dir"])
        if module.get("GoMod"):
            gomod = Path(module["GoMod"])
            h.update(gomod.read_bytes())
            gosum = gomod.with_name("go.sum")
            if gosum.is_file():
                h.update(gosum.read_bytes())
        for key in sorted(k for k in pkg if k.endswith("Files")):
            for name in pkg[key]:
                h.update(f"file {key} {name}\n".encode())
                h.update(hashlib.sha256((folder / name).read_bytes()).digest())
    return h.hexdigest()
