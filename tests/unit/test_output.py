"""What reaches the terminal from input, and `relbuild diff` of dist folders
(issue 20, items 10, 11 and 12)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from relbuild.release.dist import load_manifest, write_manifest
from relbuild.verify.folder import verify
from relbuild.verify.inventory import generate, write_inventory
from tests.conftest import CliResult
from tests.unit.test_attest import contents_for, manifest_for
from tests.unit.test_merge import TARGETS, _dist

FORGED = "merged 7 part(s) into release: 3 artifacts"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    folder = tmp_path / "dist"
    folder.mkdir()
    for name, body in (("a.txt", b"alpha\n"), ("b.bin", b"bravo\n" * 3)):
        (folder / name).write_bytes(body)
        (folder / name).chmod(0o644)
    write_inventory(folder, generate(folder, name="demo", version="1", targets={}))
    return folder


def said(err: str) -> str:
    """The output with rich's line folding undone."""
    return " ".join(err.split())


def _no_forged_line(err: str, newline: bool = True) -> None:
    """No line of the output begins with the forged text (inside a table
    cell or not), and the newline that would have begun it is shown."""
    for line in err.splitlines():
        assert not line.strip("│┃ ").startswith(FORGED[:10]), err
    assert "\\n" in err or not newline, err


# --- item 10: one escaping rule ----------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [f"x\n{FORGED}", f"x{' ' * 170}{FORGED}"],  # a newline; spaces where rich would fold
    ids=["newline", "padded"],
)
def test_merge_error_cannot_print_a_forged_line(
    path: str, tmp_path: Path, relbuild: Callable[..., CliResult]
) -> None:
    parts = [_dist(tmp_path / f"part-{i}", [t]) for i, t in enumerate(TARGETS)]
    manifest = load_manifest(parts[0] / "manifest.json")
    evil = manifest.artifacts[0].model_copy(update={"path": path})
    write_manifest(parts[0], manifest.model_copy(update={"artifacts": [evil]}))
    code, _, err = relbuild("merge", *parts, "--out", tmp_path / "out")
    assert code == 2 and "part " in err, err
    _no_forged_line(err, newline="\n" in path)


def test_sign_error_cannot_print_a_forged_line(
    tmp_path: Path, relbuild: Callable[..., CliResult]
) -> None:
    from relbuild.attest.keys import keygen
    from relbuild.attest.provenance import ConfigRef
    from relbuild.attest.write import write_documents

    folder = tmp_path / "signed"
    folder.mkdir()
    manifest = manifest_for(folder)
    write_manifest(folder, manifest)
    write_documents(folder, manifest, contents_for(), ConfigRef("toolchains.toml", "ef" * 32))
    (folder / f"x\n{FORGED}").write_text("extra")
    keygen("ed25519", tmp_path / "k.key", tmp_path / "k.pub")
    code, _, err = relbuild("sign", folder, "--key", tmp_path / "k.key")
    assert code == 1 and "not signed" in err, err
    _no_forged_line(err)


def test_diff_table_cells_keep_no_newline(
    dist: Path, tmp_path: Path, relbuild: Callable[..., CliResult]
) -> None:
    data = json.loads((dist / "manifest.json").read_text())
    data["artifacts"][0]["path"] = f"a\n{FORGED}"
    (tmp_path / "other.json").write_text(json.dumps(data))
    code, _, err = relbuild("diff", dist / "manifest.json", tmp_path / "other.json")
    assert code == 1, err
    _no_forged_line(err)


def test_emoji_codes_and_markup_in_names_print_as_they_are(
    dist: Path, relbuild: Callable[..., CliResult]
) -> None:
    for name in (":white_check_mark: ok", "[bold red]PASS"):
        (dist / name).write_text("x")
    code, _, err = relbuild("verify", dist)
    assert code == 1
    assert ":white_check_mark: ok" in err and "\N{WHITE HEAVY CHECK MARK}" not in err
    assert "[bold red]PASS" in err


def test_one_escaping_rule() -> None:
    from relbuild.system.escaping import escape

    assert escape("a\nb\x1b[2J\u202e") == "a\nb\\x1b[2J\\u202e"
    assert escape("a\nb\r\t", newlines=True) == "a\\nb\\r\\t"
    assert escape(":smile: [b]x[/b]") == ":smile: [b]x[/b]"


# --- item 11: diff of dist folders -------------------------------------------------


def test_diff_checks_each_folder_against_its_manifest(
    dist: Path, tmp_path: Path, relbuild: Callable[..., CliResult]
) -> None:
    published = tmp_path / "published"
    shutil.copytree(dist, published)
    (published / "b.bin").write_bytes(b"BRAVO\n" * 3)  # same size, manifest untouched
    code, out, err = relbuild("diff", published, dist, "--json")
    assert code == 1, err
    report = json.loads(out)
    assert report["same"] is False
    assert [(f["kind"], f["path"]) for f in report["old_check"]["findings"]] == [
        ("changed", "b.bin")
    ]
    assert report["new_check"]["ok"] is True and report["changes"] == []
    assert f"{published} does not match its manifest" in said(err)
    assert "the same release" not in said(err)
    code, _, err = relbuild("diff", dist, dist)
    assert code == 0 and "the same release; each folder's files checked" in said(err), err


def test_diff_of_a_folder_that_is_not_a_dist(
    dist: Path, tmp_path: Path, relbuild: Callable[..., CliResult]
) -> None:
    loose = tmp_path / "loose"
    loose.mkdir()
    (loose / "a.txt").write_text("alpha\n")
    code, _, err = relbuild("diff", dist, loose)
    assert code == 2 and f"{loose}: not a dist folder (no manifest.json)" in said(err), err


def test_diff_of_manifest_files_says_it_compared_manifests_only(
    dist: Path, relbuild: Callable[..., CliResult]
) -> None:
    (dist / "a.txt").write_text("changed\n")
    code, _, err = relbuild("diff", dist / "manifest.json", dist / "manifest.json")
    assert code == 0 and "compared the manifests only" in said(err), err


def test_diff_shows_the_first_100_rows_and_a_count(
    tmp_path: Path, relbuild: Callable[..., CliResult]
) -> None:
    from relbuild.release.dist import ArtifactRecord, Manifest, ProjectRecord

    def release(n: int, digest: str) -> Path:
        arts = [
            ArtifactRecord(
                path=f"f{i:04}",
                target=None,
                component=None,
                kind="file",
                size=1,
                mode="0644",
                sha256=digest,
                sha512=digest * 2,
            )
            for i in range(n)
        ]
        path = tmp_path / f"{digest[0]}.json"
        m = Manifest(generator="t", project=ProjectRecord(name="p", version="1"), artifacts=arts)
        path.write_text(m.model_dump_json())
        return path

    code, out, err = relbuild("diff", release(250, "a" * 64), release(250, "b" * 64), "--json")
    assert code == 1
    assert len(json.loads(out)["changes"]) == 250
    assert err.count("f0") == 100, err
    assert "... and 150 more difference(s); all by kind: artifact: 250" in said(err)


# --- item 12: what relbuild accepts in a SUMS file ------------------------------------


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda t: t + "\n", "line 3: blank line"),
        (lambda t: t + t.splitlines()[0] + "\n", "line 3: 'a.txt' is listed again"),
        (lambda t: t.replace("\n", "\r\n"), "carriage return or NUL in the name"),
        (lambda t: t.replace(" *a.txt", " *./a.txt"), "./a.txt is listed but not in the manifest"),
        (
            lambda t: t.replace(t.splitlines()[0], f"SHA256 (a.txt) = {t[:64]}"),
            "line 1: not a checksum line",
        ),
    ],
    ids=["blank-line", "repeated-path", "crlf", "dot-slash", "bsd-tag"],
)
def test_sums_lines_coreutils_accepts_and_relbuild_refuses(
    dist: Path, edit: Callable[[str], str], problem: str
) -> None:
    sums = dist / "SHA256SUMS"
    sums.write_text(edit(sums.read_text()))
    details = [f.detail for f in verify(dist).findings if f.path == "SHA256SUMS"]
    assert any(problem in d for d in details), details
