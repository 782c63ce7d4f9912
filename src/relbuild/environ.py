"""Environments for child processes, built from an allow-list.

Nothing from the user's environment reaches a child unless it is listed
here; what is passed is recorded, so a build can be explained and repeated.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

# Variables a child may inherit: where tools and their download caches live,
# and the proxy settings a network may need. Nothing here changes the bytes
# a build produces.
PASS_THROUGH = (
    "PATH",
    "HOME",
    "RUSTUP_HOME",
    "CARGO_HOME",
    "GOPATH",
    "GOMODCACHE",
    "GOPROXY",
    "GONOSUMDB",
    "GOPRIVATE",
    "GOSUMDB",
    "GOFLAGS_ALLOW",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "TMPDIR",
)

FIXED = {"LC_ALL": "C", "LANG": "C", "TZ": "UTC"}


def probe_env(source: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for asking a tool its version."""
    src = os.environ if source is None else source
    env = {k: src[k] for k in PASS_THROUGH if k in src}
    env.setdefault("PATH", os.defpath)
    env.update(FIXED)
    return env
