"""Build steps see one fixed file system, whatever the machine.

Compilers write the paths they see into their output: the working directory
as DWARF's ``DW_AT_comp_dir``, the toolchain's install folder in the names
of libc and compiler-rt sources, the cache folder a library was built in.
Prefix maps reach the code relbuild compiles, but not what zig compiles for
itself (its libc, compiler-rt and unwinder: ziglang/zig#23821). So every
build step runs in a mount namespace (bubblewrap) where the project, the
caches, ``HOME`` and each toolchain sit at the same canonical paths on every
machine:

==============================  ============================================
``/relbuild/src``               the folder of ``toolchains.toml`` (read-only)
``/relbuild/cache``             relbuild's cache: cargo target dirs, Go and
                                zig caches, cgo inputs (read-write)
``/relbuild/cargo-home``        ``CARGO_HOME``: crates downloaded and checked
                                against ``Cargo.lock``
``/relbuild/gomodcache``        ``GOMODCACHE``: modules checked against ``go.sum``
``/relbuild/toolchains/<name>`` each pinned toolchain's install folder
                                (read-only)
``/relbuild/home``              ``HOME``: empty, private to the step
``/tmp``                        empty, private to the step
==============================  ============================================

plus the host's ``/usr`` and ``/etc`` read-only (system linkers, certificates)
and nothing else of the host: no other home folder, no other checkout.
The host name is fixed too. Without a sandbox (``project.sandbox = "none"``)
the same plan runs at the host's own paths, and only the leak scanner stands
between a path and the artifact.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from relbuild import proc

CANONICAL = PurePosixPath("/relbuild")
SRC = CANONICAL / "src"
CACHE = CANONICAL / "cache"
CARGO_HOME = CANONICAL / "cargo-home"
GOMODCACHE = CANONICAL / "gomodcache"
HOME = CANONICAL / "home"
HOSTNAME = "relbuild"

# The host folders a step may read: the system's tools and libraries (the
# bare-metal linker, the host C compiler build scripts use) and /etc
# (certificates, resolver). The top-level links of a merged /usr are mirrored.
_SYSTEM = ("/usr", "/etc")
_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


def toolchain_dir(name: str) -> PurePosixPath:
    return CANONICAL / "toolchains" / name


@dataclass(frozen=True)
class Mount:
    host: str
    inside: str
    writable: bool = False


@dataclass(frozen=True)
class Layout:
    """Where the files a build uses are, as its steps see them.

    ``mounts`` empty means no sandbox: every path is the host's own.
    """

    mounts: tuple[Mount, ...] = field(default=())

    @property
    def sandboxed(self) -> bool:
        return bool(self.mounts)

    def inside(self, host: str | os.PathLike[str]) -> str:
        """The path a step sees for a host path (longest mount first)."""
        return _translate(os.fspath(host), [(m.host, m.inside) for m in self.mounts])

    def outside(self, inside: str | os.PathLike[str]) -> str:
        """The host path of a path a step saw (cargo's messages, -o)."""
        return _translate(os.fspath(inside), [(m.inside, m.host) for m in self.mounts])


def _translate(path: str, pairs: Sequence[tuple[str, str]]) -> str:
    for src, dst in sorted(pairs, key=lambda p: len(p[0]), reverse=True):
        if path == src:
            return dst
        if path.startswith(src.rstrip("/") + "/"):
            return dst.rstrip("/") + path[len(src.rstrip("/")) :]
    return path


HOST = Layout()


def canonical_layout(
    *,
    src: Path,
    cache: Path,
    cargo_home: str | None,
    gomodcache: str | None,
    toolchains: Mapping[str, str],
) -> Layout:
    """The fixed layout for one build; ``toolchains`` maps a name to the
    toolchain's install folder on this host."""
    mounts = [Mount(str(src), str(SRC)), Mount(str(cache), str(CACHE), writable=True)]
    if cargo_home:
        mounts.append(Mount(cargo_home, str(CARGO_HOME), writable=True))
    if gomodcache:
        mounts.append(Mount(gomodcache, str(GOMODCACHE), writable=True))
    for name, folder in sorted(toolchains.items()):
        mounts.append(Mount(folder, str(toolchain_dir(name))))
    return Layout(tuple(mounts))


def wrap(
    argv: Sequence[str], *, cwd: str, layout: Layout, bwrap: str, network: bool = True
) -> list[str]:
    """The bubblewrap command that runs ``argv`` in ``cwd`` (a path inside)
    with ``layout``'s mounts. The environment passes through as it is given
    to bubblewrap, so the caller sets the step's environment on the process."""
    cmd = [
        bwrap,
        "--die-with-parent",
        "--new-session",
        "--unshare-user",
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--hostname",
        HOSTNAME,
    ]
    if not network:
        cmd.append("--unshare-net")
    for folder in _SYSTEM:
        if os.path.isdir(folder):
            cmd += ["--ro-bind", folder, folder]
    for link in _LINKS:
        if os.path.islink(link):
            cmd += ["--symlink", os.readlink(link), link]
        elif os.path.isdir(link):
            cmd += ["--ro-bind", link, link]
    cmd += [
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--tmpfs",
        "/tmp",  # noqa: S108
        "--dir",
        str(HOME),
    ]
    for m in layout.mounts:
        cmd += ["--bind" if m.writable else "--ro-bind", m.host, m.inside]
    cmd += ["--chdir", cwd, "--", *argv]
    return cmd


def find_bwrap(env: Mapping[str, str] | None = None) -> str | None:
    return proc.which("bwrap", env)


def probe(bwrap: str | None) -> str | None:
    """None when bubblewrap can create the sandbox here; else why not."""
    if bwrap is None:
        return "bubblewrap (`bwrap`) is not installed"
    res = proc.run(
        wrap(["/bin/true"], cwd="/", layout=HOST, bwrap=bwrap),
        env={"PATH": "/usr/bin:/bin"},
        check=False,
        timeout=30,
    )
    if res.returncode == 0:
        return None
    reason = res.output.strip().splitlines()[-1:] or ["no output"]
    return f"bubblewrap cannot create a sandbox here: {reason[0]}"


ENABLE_HINT = (
    "Install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`). It needs unprivileged "
    "user namespaces: `sysctl kernel.unprivileged_userns_clone=1` on older Debian kernels; on "
    "Ubuntu 24.04 the packaged bwrap has an AppArmor profile that allows them (or set "
    "`kernel.apparmor_restrict_unprivileged_userns=0`); in a container, run it with "
    "`--security-opt seccomp=unconfined` or privileges that allow user namespaces. "
    'Or set `sandbox = "none"` under [project] and give up reproducibility across paths.'
)
