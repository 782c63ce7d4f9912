"""Same bytes on any machine: two builds of the example that share no cache of
compiled output, at project paths of different depth, with different HOMEs
and the pinned zig installed in two different folders, give a byte-identical
dist, manifest included. A third build at yet another path, starting from a
copy of the first one's caches (warm against cold), gives it too.

One hosted cgo target and one firmware target show it; the leak that this
guards against sat in the DWARF of the libc zig builds for cgo.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.machines import digests, zig_package


def test_two_machines_give_identical_dists(side_by_side: tuple[Path, Path, Path]) -> None:
    a, b, _ = side_by_side
    da, db = digests(a), digests(b)
    assert "manifest.json" in da
    assert any(name.endswith("/beacon-0.3.1-aarch64-unknown-linux-gnu") for name in da)
    differing = sorted(k for k in da.keys() | db.keys() if da.get(k) != db.get(k))
    assert differing == []


def test_warm_cache_gives_the_cold_bytes(side_by_side: tuple[Path, Path, Path]) -> None:
    a, _, c = side_by_side
    assert digests(a) == digests(c)


def test_manifest_names_no_machine_path(side_by_side: tuple[Path, Path, Path]) -> None:
    a, _, _ = side_by_side
    text = (a / "manifest.json").read_text()
    root = str(a.parent)
    assert root not in text
    assert str(zig_package()) not in text
    manifest = json.loads(text)
    for tool in manifest["toolchains"].values():
        assert "found_via" not in tool
