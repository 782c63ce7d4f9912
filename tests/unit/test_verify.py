"""verify, manifest and diff on small dist folders made here (no tools run)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from relbuild.errors import UsageError
from relbuild.proofs.diff import diff
from relbuild.release.dist import load_manifest
from relbuild.release.safefs import safe_relpath
from relbuild.release.sums import parse_sums
from relbuild.verify.folder import verify
from relbuild.verify.inventory import generate, write_inventory
from tests.conftest import CliResult


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    folder = tmp_path / "dist"
    (folder / "x86_64-unknown-linux-gnu").mkdir(parents=True)
    (folder / "x86_64-unknown-linux-gnu" / "tool").write_bytes(b"#!/bin/sh\necho hi\n" * 50)
    (folder / "x86_64-unknown-linux-gnu" / "tool").chmod(0o755)
    (folder / "x86_64-unknown-linux-gnu" / "api.h").write_text("int f(void);\n")
    (folder / "x86_64-unknown-linux-gnu" / "api.h").chmod(0o644)
    (folder / "notes.txt").write_text("release notes\n")
    (folder / "notes.txt").chmod(0o644)
    write_inventory(folder, generate(folder, name="demo", version="1.0", targets={}))
    return folder


def kinds(folder: Path, *, allow_extra: bool = False) -> list[tuple[str, str]]:
    return [(f.kind, f.path) for f in verify(folder, allow_extra=allow_extra).findings]


def rewrite_manifest(folder: Path, change: Callable[[dict], None]) -> None:  # type: ignore[type-arg]
    path = folder / "manifest.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def test_fresh_dist_verifies(dist: Path) -> None:
    report = verify(dist)
    assert report.ok, report.findings
    assert report.artifacts == 3
    assert (
        report.bytes_hashed
        == sum(p.stat().st_size for p in dist.rglob("*") if p.is_file() and p.parent != dist)
        + (dist / "notes.txt").stat().st_size
    )


def test_flipped_byte(dist: Path) -> None:
    tool = dist / "x86_64-unknown-linux-gnu" / "tool"
    data = bytearray(tool.read_bytes())
    data[10] ^= 0x01
    tool.write_bytes(bytes(data))
    report = verify(dist)
    assert [(f.kind, f.path, f.detail) for f in report.findings] == [
        ("changed", "x86_64-unknown-linux-gnu/tool", "sha256 and sha512 differ")
    ]


def test_truncated_file_reports_sizes(dist: Path) -> None:
    tool = dist / "x86_64-unknown-linux-gnu" / "tool"
    os.truncate(tool, 10)
    [finding] = verify(dist).findings
    assert (
        finding.kind == "changed"
        and "on disk" in finding.detail
        and ", 10 on disk" in finding.detail
    )


def test_deleted_added_and_chmod(dist: Path) -> None:
    (dist / "notes.txt").unlink()
    (dist / "x86_64-unknown-linux-gnu" / "stowaway").write_text("x")
    (dist / "x86_64-unknown-linux-gnu" / "api.h").chmod(0o666)
    assert sorted(kinds(dist)) == [
        ("extra", "x86_64-unknown-linux-gnu/stowaway"),
        ("missing", "notes.txt"),
        ("mode", "x86_64-unknown-linux-gnu/api.h"),
    ]
    assert sorted(kinds(dist, allow_extra=True)) == [
        ("missing", "notes.txt"),
        ("mode", "x86_64-unknown-linux-gnu/api.h"),
    ]


def test_rewritten_sums_line(dist: Path) -> None:
    sums = dist / "SHA512SUMS"
    lines = sums.read_text().splitlines()
    lines[0] = "0" * 128 + lines[0][128:]
    sums.write_text("\n".join(lines) + "\n")
    [finding] = verify(dist).findings
    assert finding.kind == "sums" and finding.path == "SHA512SUMS"
    assert "sha512 disagrees with the manifest" in finding.detail


def test_file_changed_after_sums_were_written(dist: Path) -> None:
    (dist / "notes.txt").write_text("edited later\n")
    assert kinds(dist) == [("changed", "notes.txt")]


def test_manifest_digest_changed_but_file_not(dist: Path) -> None:
    def edit(data: dict) -> None:  # type: ignore[type-arg]
        data["artifacts"][0]["sha512"] = "f" * 128

    rewrite_manifest(dist, edit)
    found = verify(dist).findings
    assert ("changed", "only sha512 differs") in {
        (f.kind, "only " + f.detail if f.detail == "sha512 differs" else f.detail) for f in found
    }
    assert any(f.kind == "sums" and f.path == "SHA512SUMS" for f in found)


@pytest.mark.parametrize(
    "hostile",
    [
        "/etc/passwd",
        "../outside.txt",
        "x86_64-unknown-linux-gnu/../../outside.txt",
        "a//b",
        "./notes.txt",
    ],
)
def test_unsafe_paths_are_findings_and_never_opened(dist: Path, hostile: str) -> None:
    (dist.parent / "outside.txt").write_text("secret")

    def edit(data: dict) -> None:  # type: ignore[type-arg]
        data["artifacts"].append({**data["artifacts"][0], "path": hostile})

    rewrite_manifest(dist, edit)
    found = [f for f in verify(dist, allow_extra=True).findings if f.path == hostile]
    assert [f.kind for f in found] == ["unsafe-path"]
    assert "not opened" in found[0].detail


def test_symlink_leaving_the_folder_is_not_followed(dist: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("do not read")
    secret.chmod(0o000)  # reading it would fail loudly, so a read would show
    notes = dist / "notes.txt"
    notes.unlink()
    notes.symlink_to(secret)
    found = verify(dist).findings
    assert [(f.kind, f.path) for f in found if f.path == "notes.txt"] == [
        ("unsafe-path", "notes.txt")
    ]
    assert "outside the folder" in found[0].detail


def test_fifo_is_never_opened(dist: Path) -> None:
    notes = dist / "notes.txt"
    notes.unlink()
    os.mkfifo(notes)
    assert ("not-a-file", "notes.txt") in kinds(dist)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "a manifest is a JSON object"),
        (b'{"schema_version": 99}', "unknown schema_version 99"),
        (
            b'{"schema_version": 1, "generator": "x", "project": {"name": "a", "version": "1"},'
            b' "artifacts": [{"path": 5}]}',
            "artifacts[0].path",
        ),
        (b"\xff\xfe", "not UTF-8"),
        (b"[" * 100000 + b"]" * 100000, "nested too deeply"),
    ],
)
def test_hostile_manifests_are_refused(dist: Path, content: bytes, message: str) -> None:
    (dist / "manifest.json").write_bytes(content)
    with pytest.raises(UsageError, match=re.escape(message)) as info:
        verify(dist)
    assert info.value.exit_code == 2


def test_huge_manifest_is_refused_without_reading(dist: Path) -> None:
    with (dist / "manifest.json").open("wb") as fh:
        fh.truncate(65 * 1024 * 1024)  # sparse: costs no disk
    with pytest.raises(UsageError, match="more than a manifest may be"):
        load_manifest(dist / "manifest.json")


def test_cli_exit_codes(dist: Path, relbuild: Callable[..., CliResult]) -> None:
    assert relbuild("verify", dist)[0] == 0
    (dist / "notes.txt").write_text("changed")
    code, out, err = relbuild("verify", dist, "--json")
    assert code == 1 and json.loads(out)["ok"] is False and "notes.txt" in err
    (dist / "manifest.json").write_text("{")
    code, _, err = relbuild("verify", dist)
    assert code == 2 and "Traceback" not in err and "not valid JSON" in err
    code, _, err = relbuild("verify", dist / "nope")
    assert code == 2 and "no such folder or manifest" in err


def test_sums_parsing() -> None:
    a, b = "ab" * 32, "CD" * 32
    sums = parse_sums(f"{a}  text.txt\n{b} *bin.exe\n\ngarbage\n", "sha256")
    assert sums.entries == {"text.txt": a, "bin.exe": b.lower()}
    assert sums.problems == ["line 3: blank line", "line 4: not a checksum line: 'garbage'"]


def test_safe_relpath() -> None:
    assert safe_relpath("a/b.txt") is None
    assert safe_relpath("../x") and safe_relpath("/x") and safe_relpath("a\\..\\x")


def test_manifest_command_is_deterministic(dist: Path, tmp_path: Path) -> None:
    first = (dist / "manifest.json").read_bytes()
    with pytest.raises(UsageError, match="exists already"):
        write_inventory(dist, generate(dist, name="demo", version="1.0", targets={}))
    write_inventory(dist, generate(dist, name="demo", version="1.0", targets={}), force=True)
    assert (dist / "manifest.json").read_bytes() == first
    data = json.loads(first)
    assert [a["path"] for a in data["artifacts"]] == sorted(a["path"] for a in data["artifacts"])
    assert {a["path"]: a["kind"] for a in data["artifacts"]}["x86_64-unknown-linux-gnu/api.h"] == (
        "header"
    )
    assert str(tmp_path) not in first.decode()


def test_manifest_command_target_override(dist: Path) -> None:
    m = generate(dist, name="d", version="1", targets={"notes.txt": "thumbv7m-none-eabi"})
    assert {a.path: a.target for a in m.artifacts}["notes.txt"] == "thumbv7m-none-eabi"
    with pytest.raises(UsageError, match="unknown triple"):
        generate(dist, name="d", version="1", targets={"notes.txt": "z80-none"})
    with pytest.raises(UsageError, match="not there"):
        generate(dist, name="d", version="1", targets={"gone": "thumbv7m-none-eabi"})


def test_diff_same_and_changed(dist: Path, tmp_path: Path) -> None:
    import shutil

    other = tmp_path / "other"
    shutil.copytree(dist, other)
    assert diff(dist, other).same
    (other / "notes.txt").write_text("new notes\n")
    (other / "extra.bin").write_bytes(b"\0")
    write_inventory(other, generate(other, name="demo", version="1.1", targets={}), force=True)
    report = diff(dist, other)
    assert not report.same
    got = {(c.section, c.change, c.name) for c in report.changes}
    assert ("artifact", "changed", "notes.txt") in got
    assert ("artifact", "added", "extra.bin") in got
    assert ("project", "changed", "project") in got


@pytest.mark.parametrize(
    "hostile",
    ["notes.txt/inside", "a" * 5000, "x86_64-unknown-linux-gnu/\ud800", "tab\there"],
)
def test_paths_that_cannot_exist_are_findings_not_crashes(dist: Path, hostile: str) -> None:
    def edit(data: dict) -> None:  # type: ignore[type-arg]
        data["artifacts"].append({**data["artifacts"][0], "path": hostile})

    rewrite_manifest(dist, edit)
    found = [f for f in verify(dist, allow_extra=True).findings if f.path == hostile]
    assert [f.kind for f in found] in (["unsafe-path"], ["missing"])


def test_integer_too_long_for_python_is_unusable_input(dist: Path) -> None:
    (dist / "manifest.json").write_text('{"schema_version": 1, "x": ' + "9" * 5000 + "}")
    with pytest.raises(UsageError, match="not a usable JSON document"):
        verify(dist)


@pytest.mark.parametrize(
    ("content", "message"),
    [(b'{"artifacts": []}', "no schema_version"), (b'{"schema_version": true}', "unknown")],
)
def test_schema_version_must_be_the_integer_one(dist: Path, content: bytes, message: str) -> None:
    (dist / "manifest.json").write_bytes(content)
    with pytest.raises(UsageError, match=message):
        verify(dist)


def test_manifest_refuses_names_sums_files_cannot_hold(tmp_path: Path) -> None:
    folder = tmp_path / "odd"
    folder.mkdir()
    (folder / "two\nlines").write_text("x")
    with pytest.raises(UsageError, match="newline"):
        generate(folder, name="d", version="1", targets={})


def test_schema_output_never_replaces_a_fifo(
    tmp_path: Path, relbuild: Callable[..., CliResult]
) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    code, _, err = relbuild("schema", "-o", fifo)
    assert code == 2 and "not a regular file" in err
    assert fifo.is_fifo()
    code, _, err = relbuild("schema", "-o", tmp_path / "no" / "such" / "dir" / "s.json")
    assert code == 2 and "is not a folder" in err
    assert not (tmp_path / "no").exists()
