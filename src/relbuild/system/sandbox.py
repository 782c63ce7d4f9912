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
import re
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict

from relbuild.system import proc

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


class Mount(BaseModel):
    model_config = ConfigDict(frozen=True)

    host: str
    inside: str
    writable: bool = False


class Layout(BaseModel):
    """Where the files a build uses are, as its steps see them.

    ``mounts`` empty means no sandbox: every path is the host's own.
    """

    model_config = ConfigDict(frozen=True)

    mounts: tuple[Mount, ...] = ()

    @property
    def sandboxed(self) -> bool:
        return bool(self.mounts)

    def inside(self, host: str | os.PathLike[str]) -> str:
        """The path a step sees for a host path (longest mount first)."""
        return _translate(os.fspath(host), [(m.host, m.inside) for m in self.mounts])

    def outside(self, inside: str | os.PathLike[str]) -> str:
        """The host path of a path a step saw (cargo's messages, -o)."""
        return _translate(os.fspath(inside), [(m.inside, m.host) for m in self.mounts])

    def rewrite(self, text: str) -> str:
        """``text`` (an argument, a variable, a script) with every host path
        under a mount replaced by the path a step sees, wherever it stands:
        after ``-I``, inside ``-ffile-prefix-map=A=B`` or in ``PATH``."""
        if not self.mounts:
            return text
        pairs = sorted(((m.host, m.inside) for m in self.mounts), key=lambda p: -len(p[0]))
        alternatives = "|".join(re.escape(host.rstrip("/")) for host, _ in pairs)
        pattern = re.compile(f"(?:{alternatives})" + r"(?=/|$|[^A-Za-z0-9._+-])")
        table = {host.rstrip("/"): inside for host, inside in pairs}
        return pattern.sub(lambda m: table[m.group(0)], text)


def _translate(path: str, pairs: Sequence[tuple[str, str]]) -> str:
    for src, dst in sorted(pairs, key=lambda p: len(p[0]), reverse=True):
        if path == src:
            return dst
        if path.startswith(src.rstrip("/") + "/"):
            return dst.rstrip("/") + path[len(src.rstrip("/")) :]
    return path


HOST = Layout()


def step_view(
    argv: Sequence[str], env: Mapping[str, str], cwd: str, layout: Layout
) -> tuple[list[str], dict[str, str], str]:
    """A step's argv, environment and cwd as it runs in the sandbox: host
    paths rewritten, and HOME and the temp folder the sandbox's own."""
    if not layout.sandboxed:
        return list(argv), dict(env), cwd
    inner = {k: layout.rewrite(v) for k, v in env.items() if k != "TMPDIR"}
    inner["HOME"] = str(HOME)
    return [layout.rewrite(a) for a in argv], inner, layout.inside(cwd)


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
    mounts = [
        Mount(host=str(src), inside=str(SRC)),
        Mount(host=str(cache), inside=str(CACHE), writable=True),
    ]
    for folder, inside in ((cargo_home, CARGO_HOME), (gomodcache, GOMODCACHE)):
        if folder:
            mounts.append(Mount(host=folder, inside=str(inside), writable=True))
    for name, folder in sorted(toolchains.items()):
        mounts.append(Mount(host=folder, inside=str(toolchain_dir(name))))
    return Layout(mounts=tuple(mounts))


def placement_args(placed: Mapping[str, str], layout: Layout) -> list[str]:
    """bubblewrap arguments that show each file of ``placed`` (a path inside
    the sandbox -> the host file to show there) inside the read-only source,
    without writing into it.

    A file already in the tree is covered by a bind mount of the new one. A
    path with no file needs a mount point, and the source is read-only: the
    deepest folder of the path that exists gets an empty tmpfs in which each
    of its entries is bound again (a symlink copied), the missing folders
    are made, the new file bound, and the folder made read-only again. Its
    entries are listed here, when the command is made, in sorted order.
    """
    if not placed:
        return []
    args: list[str] = []
    opened: dict[str, list[str]] = {}  # folder inside -> files to place in it
    for inside, host in sorted(placed.items()):
        target = layout.outside(inside)
        if os.path.lexists(target):
            args += ["--ro-bind", host, inside]
            continue
        up = PurePosixPath(inside).parent
        while not os.path.isdir(layout.outside(str(up))) and up != up.parent:
            up = up.parent
        opened.setdefault(str(up), []).append(inside)
    for folder in sorted(opened, key=lambda f: (f.count("/"), f)):
        host_folder = layout.outside(folder)
        args += ["--tmpfs", folder]
        for entry in sorted(os.listdir(host_folder)):
            there, here = os.path.join(host_folder, entry), f"{folder.rstrip('/')}/{entry}"
            if os.path.islink(there):
                args += ["--symlink", os.readlink(there), here]
            else:
                args += ["--ro-bind", there, here]
        for inside in opened[folder]:
            args += [
                "--dir",
                str(PurePosixPath(inside).parent),
                "--ro-bind",
                placed[inside],
                inside,
            ]
        args += ["--remount-ro", folder]
    return args


def wrap(
    argv: Sequence[str],
    *,
    cwd: str,
    layout: Layout,
    bwrap: str,
    network: bool = True,
    placed: Mapping[str, str] | None = None,
) -> list[str]:
    """The bubblewrap command that runs ``argv`` in ``cwd`` (a path inside)
    with ``layout``'s mounts, and the files of ``placed`` shown at their
    paths inside (:func:`placement_args`). The environment passes through
    as it is given to bubblewrap, so the caller sets the step's environment
    on the process."""
    cmd = [
        bwrap,
        "--die-with-parent",
        "--new-session",
        "--unshare-user",
        "--unshare-ipc",
        "--unshare-pid",
        # The step is the namespace's first process, with no reaper of
        # bwrap's in between: bwrap then waits for it itself, so the CPU time
        # of the whole tree reaches relbuild's wait4 (with a reaper, bwrap
        # exits on its word and nobody counts the step).
        "--as-pid-1",
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
    cmd += placement_args(placed or {}, layout)
    cmd += ["--chdir", cwd, "--", *argv]
    return cmd


def prepare(layout: Layout) -> None:
    """Create the host folders of the writable mounts (a new cache, a
    CARGO_HOME that was never used)."""
    for m in layout.mounts:
        if m.writable:
            Path(m.host).mkdir(parents=True, exist_ok=True)


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
