"""The prefetch child: what it hashes is what the parent would hash, and the
parent takes a digest only for the path and inode its own listing found."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from relbuild.release import prefetch
from relbuild.release.digest import SMALL
from relbuild.release.dist import hash_file
from relbuild.verify.folder import verify
from relbuild.verify.inventory import generate, write_inventory
from tests.conftest import CliResult


@pytest.fixture
def many(tmp_path: Path) -> Path:
    folder = tmp_path / "dist"
    for i in range(prefetch.MIN_FILES + 44):
        path = folder / f"d{i % 3}" / f"f{i:03d}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(100 + i))
        path.chmod(0o644)
    (folder / "big").write_bytes(b"\0" * (SMALL + 1))  # left to the parent
    (folder / "big").chmod(0o644)
    write_inventory(folder, generate(folder, name="demo", version="1", targets={}))
    return folder


def test_the_child_hashes_every_small_file_as_the_parent_would(many: Path) -> None:
    pre = prefetch.start(many, busy_too=True)
    assert pre is not None
    got = pre.results()
    files = [p for p in many.rglob("*") if p.is_file() and p.parent != many]
    assert len(got) == len(files)
    for path in files:
        rel = path.relative_to(many).as_posix()
        sha256, sha512, size, mode = hash_file(path)
        assert got[rel] == (path.stat().st_ino, sha256, sha512, size, mode)
    assert "big" not in got and "manifest.json" not in got


def test_a_digest_is_taken_only_for_the_inode_listed(many: Path) -> None:
    class Fake:
        def __init__(self, inode_shift: int) -> None:
            self.shift = inode_shift

        def results(self) -> prefetch.Digests:
            path = many / "d0" / "f000"
            return {"d0/f000": (path.stat().st_ino + self.shift, "0" * 64, "0" * 128, 1, 0o644)}

    assert verify(many, prefetched=Fake(1)).ok  # another file's digest: not taken
    found = verify(many, prefetched=Fake(0)).findings  # this file's: taken
    assert [(f.kind, f.path) for f in found] == [("changed", "d0/f000")]


def test_cli_verify_with_the_child(
    many: Path, relbuild: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))  # an idle machine
    started = []
    real = prefetch.start

    def spy(location: Path, *, busy_too: bool = False) -> prefetch.Prefetch | None:
        started.append(pre := real(location, busy_too=busy_too))
        return pre

    monkeypatch.setattr(prefetch, "start", spy)
    assert relbuild("verify", many)[0] == 0
    assert started and started[0] is not None
    (many / "d1" / "f001").write_bytes(b"tampered")
    code, _, err = relbuild("verify", many)
    assert code == 1 and "d1/f001" in err


def test_small_folders_do_not_fork(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("x")
    assert prefetch.start(tmp_path, busy_too=True) is None
