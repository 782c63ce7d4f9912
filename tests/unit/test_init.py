"""`relbuild init` keeps relbuild's own outputs out of git (so they never
make a build dirty) without touching the rest of .gitignore."""

from __future__ import annotations

from pathlib import Path

from relbuild.project.init import ignore_outputs


def test_gitignore_is_created(tmp_path: Path) -> None:
    assert ignore_outputs(tmp_path) == [".relbuild/", "dist/"]
    assert (tmp_path / ".gitignore").read_text() == ".relbuild/\ndist/\n"


def test_gitignore_keeps_what_is_there_and_adds_only_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("target/\n/dist")
    assert ignore_outputs(tmp_path) == [".relbuild/"]
    assert (tmp_path / ".gitignore").read_text() == "target/\n/dist\n.relbuild/\n"
    assert ignore_outputs(tmp_path) == []
