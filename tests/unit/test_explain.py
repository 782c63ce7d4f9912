from __future__ import annotations

import sys
from pathlib import Path

import pytest

from relbuild.proofs import explain
from relbuild.release.archive import Member, tar_gz
from relbuild.system import proc


def test_suspects_classify_paths_times_and_hints() -> None:
    a = b"\0version 1.0\0/home/alice/src/app/main.rs\0built 2026-11-21 08:15:02\0"
    b = b"\0version 1.0\0/home/bob/src/app/main.rs\0built 2026-11-21 09:00:00\0"
    found = explain.suspects(a, b)
    assert any(s.startswith("looks like an absolute path") and "alice" in s for s in found)
    assert any(s.startswith("looks like a date or time") for s in found)
    assert not any("version 1.0" in s for s in found)  # common strings are no suspects
    hinted = explain.suspects(
        b"x/work/a/src/lib.rs\0", b"x/work/bbbb/src/lib.rs\0", hints=["/work/a"]
    )
    assert hinted[0].startswith("leaked build path")
    assert explain.advice_for(hinted)[0].startswith("A string holds the build path")


def test_archive_members_name_the_member(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.write_text("same")
    two.write_text("other")
    a = tar_gz([Member("p/x", one, 0o644), Member("p/y", one, 0o644)], 1)
    b = tar_gz([Member("p/x", one, 0o644), Member("p/y", two, 0o644)], 1)
    c = tar_gz([Member("p/x", one, 0o644), Member("p/y", one, 0o644)], 2)
    assert explain.archive_members(a, b, "r.tar.gz") == ["p/y (content)"]
    changed = explain.archive_members(a, c, "r.tar.gz") or []
    assert changed and all("metadata" in m and "mtime" in m for m in changed)


def test_explanation_without_diffoscope_still_names_the_cause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(proc, "which", lambda *a, **k: None)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    a.write_bytes(b"stamp built at 1795249072.281659343\0")
    b.write_bytes(b"stamp built at 1795249099.000000001\0")
    exp = explain.explain("a.bin", a, b, report_dir=tmp_path / "reports")
    assert exp.diffoscope is None
    assert exp.summary == "contents differ"
    assert any("Unix time stamp" in s for s in exp.suspects)
    assert exp.advice and "SOURCE_DATE_EPOCH" in exp.advice[0]
