"""A release split over three runners and merged is the release one machine
builds: each part is built from its own copy of the project, at a different
path, with its own HOME and caches (one hosted cgo target, a second hosted
cgo target, one firmware target); a fourth copy builds the same three
targets in one go. Every file, the SUMS files and the manifest agree."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.integration.conftest import relbuild_cmd
from tests.integration.test_any_machine import _env, _project

PARTS = ("x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu", "thumbv7m-none-eabi")


def _build(config: Path, out: Path, cache: Path, home: Path, targets: tuple[str, ...]) -> None:
    args: list[str | Path] = ["--config", config, "build", "--out", out, "--cache-dir", cache]
    for t in targets:
        args += ["--target", t]
    res = relbuild_cmd(*args, "--source-revision", "0" * 40, "--source-clean", env=_env(home))
    assert res.returncode == 0, res.stderr[-4000:]


def _files(folder: Path) -> dict[str, tuple[str, int]]:
    return {
        p.relative_to(folder).as_posix(): (
            hashlib.sha256(p.read_bytes()).hexdigest(),
            p.stat().st_mode,
        )
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="session")
def split(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path], Path]:
    root = tmp_path_factory.mktemp("split")
    parts = []
    for i, triple in enumerate(PARTS):
        config = _project(root / f"runner-{i}" / ("deeper/" * i) / "checkout")
        out = root / f"part-{i}"
        _build(config, out, root / f"cache-{i}", root / f"home-{i}", (triple,))
        parts.append(out)
    one = _project(root / "one-machine")
    _build(one, root / "one", root / "cache-one", root / "home-one", PARTS)
    merged = root / "merged"
    res = relbuild_cmd("merge", *parts, "--out", merged, "--allow-partial", "--json")
    assert res.returncode == 0, res.stderr[-4000:]
    return root / "one", parts, merged


def test_parts_say_what_they_cover(split: tuple[Path, list[Path], Path]) -> None:
    _, parts, _ = split
    for triple, part in zip(PARTS, parts, strict=True):
        manifest = json.loads((part / "manifest.json").read_text())
        assert manifest["partial"] is True
        assert [t["triple"] for t in manifest["targets"]] == [triple]
        assert len(manifest["config_digest"]) == 64
        assert set(PARTS) <= set(manifest["targets_of_config"])
        assert manifest["source"]["revision"] == "0" * 40


def test_merged_release_is_the_one_machine_release(
    split: tuple[Path, list[Path], Path],
) -> None:
    one, _, merged = split
    a, b = _files(one), _files(merged)
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
    import shutil

    copy = tmp_path / "part-fw"
    shutil.copytree(parts[2], copy)
    elf = next(copy.rglob("*.elf"))
    elf.chmod(0o644)
    data = bytearray(elf.read_bytes())
    data[-1] ^= 0xFF
    elf.write_bytes(bytes(data))
    res = relbuild_cmd("merge", parts[0], parts[1], copy, "--out", tmp_path / "m")
    assert res.returncode == 2
    assert f"part {copy}" in res.stderr and "changed" in res.stderr
    assert "Traceback" not in res.stderr
