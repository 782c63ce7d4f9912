"""The ``bcryptprimitives.dll`` shim: ``ProcessPrng`` for Wine 8.0.

Go >= 1.22 and Rust >= 1.78 Windows programs call ``ProcessPrng`` from
``bcryptprimitives.dll`` at start-up; Wine 8.0 has no such DLL. The shim
(data/bcryptprimitives.c) forwards to ``SystemFunction036`` (RtlGenRandom).

It is built with zig and no C library, stripped: zig's linker writes a hash
of the contents where the COFF and debug-directory time stamps go (as
``/Brepro`` does), so two builds give the same bytes in any folder with any
cache, and nothing needs patching. It only runs tests; it is never shipped.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Mapping
from pathlib import Path

from relbuild.system import proc

NAME = "bcryptprimitives.dll"
SOURCE = Path(__file__).resolve().parent / "data" / "bcryptprimitives.c"
# No C library: no CRT start-up code, and no import but advapi32.
FLAGS = (
    "-target", "x86_64-windows-gnu", "-shared", "-O2", "-s", "-nostdlib",
    "-Wl,--entry=DllMain",
)  # fmt: skip
LIBS = ("-ladvapi32",)


def key(zig_release: str) -> str:
    """What decides the shim's bytes: its source, the flags and zig's release
    (a hex SHA-256), known before anything is built."""
    h = hashlib.sha256()
    for part in (SOURCE.read_bytes(), " ".join(FLAGS + LIBS).encode(), zig_release.encode()):
        h.update(len(part).to_bytes(8, "little") + part)
    return h.hexdigest()


def argv(zig: str, source: Path, out: Path) -> list[str]:
    return [zig, "cc", *FLAGS, "-o", str(out), str(source), *LIBS]


def build(zig: str, folder: Path, env: Mapping[str, str], zig_cache: Path) -> Path:
    """Build the shim into ``folder`` (made if missing) and return the DLL's
    path. ``zig_cache`` is zig's global cache (its compiler-rt and import
    libraries); the local cache stays in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / SOURCE.name
    shutil.copyfile(SOURCE, source)
    out = folder / NAME
    child = {
        **env,
        "ZIG_GLOBAL_CACHE_DIR": str(zig_cache),
        "ZIG_LOCAL_CACHE_DIR": str(folder / "zig-local"),
    }
    proc.run(argv(zig, source, out), env=child, cwd=folder, timeout=600)
    return out
