"""What Go itself would find around a component: its module, a go.work
workspace above it, the Go release its go.mod asks for, and the cgo
directives of the packages a program builds for one target.

Go looks for go.mod and go.work in the folder it runs in and the folders
above; relbuild looks the same way, but not above the project root, so a
checkout inside another module or workspace builds as it does alone.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from relbuild.backends import go_listing
from relbuild.config.models import GoComponent
from relbuild.system import proc
from relbuild.system.fsutil import find_up


def workspace(root: Path, comp: GoComponent) -> Path | None:
    """The go.work a `go build` in the component's folder uses, if any."""
    return find_up(root / comp.path, root, "go.work")


def go_mod(root: Path, comp: GoComponent) -> Path | None:
    return find_up(root / comp.path, root, "go.mod")


def _key(release: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", release)[:3])


def older(pinned: str, wanted: str) -> bool:
    """Whether the pinned Go release is older than a go.mod's `go` line."""
    a, b = _key(pinned), _key(wanted)
    return a + (0,) * (3 - len(a)) < b + (0,) * (3 - len(b))


def list_packages(
    go: str, package: str, env: Mapping[str, str], cwd: str | Path, tags: Sequence[str] = ()
) -> Iterator[dict[str, Any]]:
    """The packages `go list -deps -json` names for ``package``: every package
    and file the build reads with this env (GOOS, GOARCH, CGO_ENABLED, tags),
    with their cgo directives (``${SRCDIR}`` expanded)."""
    argv = [go, "list", "-deps", "-json"]
    if tags:
        argv += ["-tags", ",".join(tags)]
    res = proc.run([*argv, package], env=env, cwd=cwd)
    decoder = json.JSONDecoder()
    text, pos = res.stdout, 0
    while pos < len(text):
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        pkg, pos = decoder.raw_decode(text, pos)
        yield pkg


def module_env(root: Path, comp: GoComponent) -> dict[str, str]:
    """The variables that make `go` see the component's module as Go would:
    its go.work, or none (GOWORK=off: no go.work of a folder above the
    project chooses the modules)."""
    work = workspace(root, comp)
    return {"GOWORK": str(work) if work else "off"}


def list_deps(
    go: str,
    package: str,
    env: Mapping[str, str],
    cwd: str | Path,
    tags: Sequence[str] = (),
    memo: Path | None = None,
) -> list[dict[str, Any]]:
    """`go list -deps -json` of ``package`` (go_module.list_packages),
    read-only; from ``memo`` when the files it reads have not changed
    (go_listing)."""
    env = {**env, "GOFLAGS": "-mod=readonly"}
    return go_listing.listed(
        memo,
        [go, package, *tags],
        env,
        Path(cwd),
        lambda: list_packages(go, package, env, cwd, tags),
    )


def input_digest(
    go: str,
    package: str,
    tags: Sequence[str],
    env: Mapping[str, str],
    cwd: str,
    extra: list[str],
    memo: Path | None = None,
) -> str:
    """A digest of everything a `go build` of ``package`` reads.

    `go list -deps -json` names every package and file the build uses with
    this env (GOOS, GOARCH, CGO_ENABLED, tags). Standard-library packages are
    covered by the Go release and module-cache packages by their version
    (their content is pinned by go.sum); the main module's files and any
    locally replaced module's are hashed by content. ``extra`` adds the
    caller's other inputs (argv, env, cgo libraries).
    """
    h = hashlib.sha256()
    for line in extra:
        h.update(line.encode() + b"\n")
    for pkg in list_deps(go, package, env, cwd, tags, memo):
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
