"""A release split over runners and merged is the release one machine builds.

Each part is built from its own copy of the example, at its own path, with
its own HOME and cold caches: one part holds a hosted cgo target, the other
a firmware target. The one-machine release is the any-machine fixture's
first build of the same two targets. Every file, the SUMS files and the
manifest agree byte for byte.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.integration.machines import (
    TARGETS,
    build,
    digests,
    free,
    machine_env,
    project,
    relbuild_cmd,
)


@pytest.fixture(scope="session")
def split(
    tmp_path_factory: pytest.TempPathFactory, side_by_side: tuple[Path, Path, Path]
) -> tuple[Path, list[Path], Path]:
    root = tmp_path_factory.mktemp("split")
    parts = []
    for i, triple in enumerate(TARGETS):
        config = project(root / f"runner-{i}" / ("deeper/" * i) / "checkout")
        out = root / f"part-{i}"
        env = machine_env(root / f"home-{i}")
        build(config, out, root / f"cache-{i}", env, (triple,))
        free(root / f"cache-{i}")
        parts.append(out)
    merged = root / "merged"
    res = relbuild_cmd("merge", *parts, "--out", merged, "--allow-partial", "--json")
    assert res.returncode == 0, res.stderr[-4000:]
    return side_by_side[0], parts, merged


def test_parts_say_what_they_cover(split: tuple[Path, list[Path], Path]) -> None:
    _, parts, _ = split
    for triple, part in zip(TARGETS, parts, strict=True):
        manifest = json.loads((part / "manifest.json").read_text())
        assert manifest["partial"] is True
        assert [t["triple"] for t in manifest["targets"]] == [triple]
        assert len(manifest["config_digest"]) == 64
        assert set(TARGETS) <= set(manifest["targets_of_config"])


def test_merged_release_is_the_one_machine_release(
    split: tuple[Path, list[Path], Path],
) -> None:
    one, _, merged = split
    a, b = digests(one), digests(merged)
    assert {"manifest.json", "SHA256SUMS", "SHA512SUMS"} <= a.keys()
    assert any(name.endswith(".elf") for name in a)
    differing = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
    assert differing == []


def test_merged_release_verifies(split: tuple[Path, list[Path], Path]) -> None:
    _, _, merged = split
    res = relbuild_cmd("verify", merged)
    assert res.returncode == 0, res.stderr[-2000:]


def test_merge_refuses_a_tampered_part(
    split: tuple[Path, list[Path], Path], tmp_path: Path
) -> None:
    _, parts, _ = split
    copy = tmp_path / "part-fw"
    shutil.copytree(parts[1], copy)
    elf = next(copy.rglob("*.elf"))
    elf.chmod(0o644)
    data = bytearray(elf.read_bytes())
    data[-1] ^= 0xFF
    elf.write_bytes(bytes(data))
    res = relbuild_cmd("merge", parts[0], copy, "--out", tmp_path / "m")
    assert res.returncode == 2
    assert f"part {copy}" in res.stderr and "changed" in res.stderr
    assert "Traceback" not in res.stderr
