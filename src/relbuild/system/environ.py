"""Environments for child processes, built from an allow-list.

Nothing from the user's environment reaches a child unless it is listed
here; what is passed is recorded, so a build can be explained and repeated.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

FIXED = {"LC_ALL": "C", "LANG": "C", "TZ": "UTC"}

# Every build step runs with this umask, so files the tools create get the
# same modes on every machine.
UMASK = 0o022

# What a build step inherits: where downloads are cached and how the network
# is reached. None of it changes the bytes a build produces, and since the
# values differ between machines, the manifest records only the names.
INHERITED = (
    "HOME",
    "GOPROXY",
    "GONOSUMDB",
    "GOPRIVATE",
    "GOSUMDB",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)

SYSTEM_PATH = ("/usr/local/bin", "/usr/bin", "/bin")

# What a probe (`rustc -vV`, `go env`) may see: the inherited variables plus
# where the tools and their homes are.
PASS_THROUGH = (
    "PATH",
    "RUSTUP_HOME",
    "CARGO_HOME",
    "GOPATH",
    "GOMODCACHE",
    "TMPDIR",
    "RELBUILD_TOOLS",
    *INHERITED,
)


def step_path(extra: Sequence[str]) -> str:
    """A step's PATH: its tool's folder(s), then the system's."""
    return os.pathsep.join(dict.fromkeys([*extra, *SYSTEM_PATH]))


def step_env(source: Mapping[str, str], extra_path: Sequence[str], epoch: int) -> dict[str, str]:
    """What every build step starts from: the inherited allow-list, HOME,
    PATH, the fixed locale and time zone, and SOURCE_DATE_EPOCH."""
    env = inherited(source)
    env["HOME"] = home(source)
    env["PATH"] = step_path(extra_path)
    env.update(FIXED)
    env["SOURCE_DATE_EPOCH"] = str(epoch)
    return env


def probe_env(source: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for asking a tool its version."""
    src = os.environ if source is None else source
    env = {k: src[k] for k in PASS_THROUGH if k in src}
    env.setdefault("PATH", os.defpath)
    env.update(FIXED)
    return env


def inherited(source: Mapping[str, str] | None = None) -> dict[str, str]:
    src = os.environ if source is None else source
    return {k: src[k] for k in INHERITED if k in src}


def home(source: Mapping[str, str] | None = None) -> str:
    src = os.environ if source is None else source
    return src.get("HOME") or os.path.expanduser("~")


def tools_home(source: Mapping[str, str] | None = None) -> str:
    """relbuild's own tools folder (`doctor --fix` installs zig there):
    $RELBUILD_TOOLS, else ~/.cache/relbuild/tools, outside any clone so
    that every checkout on the machine shares it."""
    src = os.environ if source is None else source
    return src.get("RELBUILD_TOOLS") or os.path.join(home(src), ".cache", "relbuild", "tools")


def cargo_home(source: Mapping[str, str] | None = None) -> str:
    src = os.environ if source is None else source
    return src.get("CARGO_HOME") or os.path.join(home(src), ".cargo")


def go_mod_cache(source: Mapping[str, str] | None = None) -> str:
    src = os.environ if source is None else source
    if src.get("GOMODCACHE"):
        return src["GOMODCACHE"]
    gopath = src.get("GOPATH", "").split(os.pathsep)[0] or os.path.join(home(src), "go")
    return os.path.join(gopath, "pkg", "mod")
