"""Fault injection for the manifest write: `relbuild manifest DIR --force` is
killed (SIGTERM, then SIGKILL) before each call that changes the file system
(creating, writing, syncing, chmod-ing, renaming or removing a file), one run
per call, and the folder is checked after each run.

SIGTERM: the folder holds the complete old state or the complete new one and
no temp file, every time. SIGKILL cannot be caught: the folder holds the old
state or the new one, with temp files of the interrupted write at most; only
a kill between the renames of the group mixes the two, and then `verify`
fails rather than passes. In every case, the next `relbuild manifest` leaves
the complete new state, no temp file, and no temp file recorded.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from relbuild.release.dist import MANIFEST_NAME, is_orphan
from relbuild.release.sums import SUMS
from relbuild.verify.folder import verify
from relbuild.verify.inventory import generate, write_inventory
from tests.conftest import CliResult
from tests.forked import run_cli

STATE = [*SUMS.values(), MANIFEST_NAME]  # the order the write renames them in
MUTATING = ("write", "fchmod", "fsync", "replace", "rename", "unlink")


@pytest.fixture
def states(tmp_path: Path) -> tuple[Path, dict[str, bytes], dict[str, bytes]]:
    """A folder in its old state (a manifest of two files, then a third file
    added), and the old and new contents of the three files."""
    template = tmp_path / "template"
    template.mkdir()
    for name, body in (("a.txt", "alpha\n"), ("b.txt", "bravo\n")):
        (template / name).write_text(body)
        (template / name).chmod(0o644)
    write_inventory(template, generate(template, name="demo", version="1", targets={}))
    old = {name: (template / name).read_bytes() for name in STATE}
    (template / "c.txt").write_text("charlie\n")
    (template / "c.txt").chmod(0o644)
    scratch = tmp_path / "scratch"
    shutil.copytree(template, scratch)
    write_inventory(
        scratch, generate(scratch, name="dist", version="unknown", targets={}), force=True
    )
    new = {name: (scratch / name).read_bytes() for name in STATE}
    assert old != new and all(old[n] != new[n] for n in STATE)
    return template, old, new


def killer(point: int, sig: int) -> Callable[[], None]:
    """A child's setup: before its ``point``-th file system change, it sends
    itself ``sig``."""

    def setup() -> None:
        seen = 0

        def wrap(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
            def call(*args: Any, **kwargs: Any) -> Any:
                nonlocal seen
                creating = name == "open" and len(args) > 1 and args[1] & os.O_CREAT
                if name != "open" or creating:
                    seen += 1
                    if seen == point:
                        os.kill(os.getpid(), sig)
                return real(*args, **kwargs)

            return call

        for name in (*MUTATING, "open"):
            setattr(os, name, wrap(name, getattr(os, name)))

    return setup


def snapshot(folder: Path) -> tuple[dict[str, bytes], list[str]]:
    files = {p.name: p.read_bytes() for p in folder.iterdir() if p.name in STATE}
    temps = sorted(p.name for p in folder.iterdir() if p.name.startswith("."))
    return files, temps


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killed_at_every_write_point(
    tmp_path: Path,
    states: tuple[Path, dict[str, bytes], dict[str, bytes]],
    sig: signal.Signals,
    relbuild: Callable[..., CliResult],
) -> None:
    template, old, new = states
    # Once in this process first, so each forked child starts warm (imports done).
    warm = tmp_path / "warm"
    shutil.copytree(template, warm)
    assert relbuild("manifest", warm, "--name", "dist", "--force")[0] == 0
    points = 0
    for point in range(1, 100):
        folder = tmp_path / f"run-{sig.name}-{point}"
        shutil.copytree(template, folder)
        outcome = run_cli("manifest", folder, "--name", "dist", "--force", setup=killer(point, sig))
        assert "Traceback" not in outcome.stderr, outcome.stderr
        files, temps = snapshot(folder)
        if outcome.exit_code == 0:  # the run ended before this point: all points seen
            assert files == new and temps == []
            break
        points += 1
        whole = files in (old, new)
        if sig == signal.SIGTERM:
            assert outcome.exit_code == 128 + signal.SIGTERM, outcome
            assert "terminated (SIGTERM)" in outcome.stderr
            assert whole and temps == [], (point, temps)
        else:
            assert outcome.signal == signal.SIGKILL
            assert all(is_orphan(t) for t in temps), temps
            if not whole:
                # Killed between two renames: a prefix of the group is new.
                mixed = [files[n] == new[n] for n in STATE]
                assert mixed in ([True, False, False], [True, True, False]), (point, mixed)
                assert not verify(folder).ok
        # The next run repairs whatever the killed one left.
        code, _, err = relbuild("manifest", folder, "--name", "dist", "--force")
        assert code == 0, err
        assert snapshot(folder) == (new, [])
    assert points >= 12, points  # 3 files x (create, write, chmod, sync), the renames


def test_full_disk_leaves_the_old_state(
    states: tuple[Path, dict[str, bytes], dict[str, bytes]], tmp_path: Path
) -> None:
    """A real write failure, from the kernel: files may not grow past 600
    bytes, so the SUMS files can be written and the manifest cannot."""
    template, old, new = states
    assert all(len(new[n]) < 600 for n in SUMS.values()) and len(new[MANIFEST_NAME]) > 600
    folder = tmp_path / "full"
    shutil.copytree(template, folder)

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (600, 600))

    outcome = run_cli("manifest", folder, "--force", setup=small_files)
    assert outcome.exit_code == 2, outcome
    assert f"cannot write {folder / MANIFEST_NAME}: File too large" in outcome.stderr
    assert snapshot(folder) == (old, [])
