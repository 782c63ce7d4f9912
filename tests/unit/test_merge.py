"""merge on small dists made here: a full dist split into parts the way
runners make them, merged back byte for byte, and every refusal."""

from __future__ import annotations

import hashlib
import json
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from relbuild.attest import PROVENANCE_NAME, SBOM_NAME
from relbuild.attest.contents import Contents, Package
from relbuild.attest.provenance import ConfigRef
from relbuild.attest.write import write_documents
from relbuild.ci.merge import merge
from relbuild.errors import UsageError
from relbuild.release.deps import CrateDep, Dependencies, GoModuleDep
from relbuild.release.dist import (
    ArtifactRecord,
    Manifest,
    ProjectRecord,
    SourceRecord,
    StepRecord,
    TargetRecord,
    ToolRecord,
    WaiverRecord,
    load_manifest,
    write_manifest,
)
from relbuild.verify.folder import verify
from tests.conftest import CliResult
from tests.forked import run_cli

TARGETS = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu", "thumbv7m-none-eabi"]
EPOCH = 1700000000
RUST = ToolRecord(release="1.96.0", sha256="a" * 64)
GO = ToolRecord(release="1.24.0", sha256="b" * 64)


def _record(folder: Path, rel: str, data: bytes, target: str, kind: str) -> ArtifactRecord:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(0o644)
    return ArtifactRecord(
        path=rel,
        target=target,
        component="beacon",
        kind=kind,
        size=len(data),
        mode="0644",
        sha256=hashlib.sha256(data).hexdigest(),
        sha512=hashlib.sha512(data).hexdigest(),
    )


def _dist(folder: Path, targets: list[str], *, epoch: int = EPOCH, rev: str = "1" * 40) -> Path:
    """What a build of ``targets`` writes, in its order: each target's files,
    then the archives; go only where a hosted target is built."""
    folder.mkdir(parents=True)
    files, archives, steps = [], [], []
    for t in targets:
        files.append(_record(folder, f"{t}/beacon-{t}.h", f"header {t}\n".encode(), t, "header"))
        files.append(_record(folder, f"{t}/notes-{t}.txt", f"notes {t}\n".encode(), t, "file"))
        steps.append(
            StepRecord(target=t, component="beacon", tool="cargo", cwd=".", argv=[t], env={})
        )
    for t in targets:
        archives.append(_record(folder, f"beacon-{t}.tar.gz", f"tar {t}".encode(), t, "archive"))
    hosted = [t for t in targets if "none" not in t]
    manifest = Manifest(
        generator="relbuild 0.test",
        project=ProjectRecord(name="beacon", version="0.3.1"),
        source=SourceRecord(vcs="git", revision=rev, dirty=False, source_date_epoch=epoch),
        toolchains={"rust": RUST, **({"go": GO} if hosted else {})},
        sandbox="bwrap",
        waivers=[WaiverRecord(component="beacon", check="path-leaks", reason="why")],
        config_digest="c" * 64,
        targets_of_config=TARGETS,
        partial=targets != TARGETS,
        targets=[TargetRecord(triple=t, components=["beacon"]) for t in targets],
        steps=steps,
        artifacts=files + archives,
        dependencies=Dependencies(
            rust=[CrateDep(name="libc", version="0.2", source="registry")],
            go=[GoModuleDep(path="golang.org/x/sys", version="v0.1.0")] if hosted else [],
        ),
    )
    write_manifest(folder, manifest)
    for p in [*folder.rglob("*"), folder]:
        os.utime(p, (epoch, epoch))
    return folder


def _tree(folder: Path) -> dict[str, tuple[bytes, int, int]]:
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mode, int(p.stat().st_mtime))
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def parts(tmp_path: Path) -> list[Path]:
    return [_dist(tmp_path / f"part-{i}", [t]) for i, t in enumerate(TARGETS)]


def test_merged_parts_equal_the_one_machine_dist(tmp_path: Path, parts: list[Path]) -> None:
    full = _dist(tmp_path / "full", TARGETS)
    # Given in another order than the config's: the merge restores it.
    report = merge(list(reversed(parts)), tmp_path / "merged")
    assert report.targets == TARGETS and report.missing == []
    assert _tree(tmp_path / "merged") == _tree(full)
    assert json.loads((tmp_path / "merged" / "manifest.json").read_text())["partial"] is False


def test_partial_merge_equals_a_build_of_those_targets(tmp_path: Path, parts: list[Path]) -> None:
    two = _dist(tmp_path / "two", [TARGETS[0], TARGETS[2]])
    with pytest.raises(UsageError, match=r"targets_of_config: no part covers aarch64"):
        merge([parts[0], parts[2]], tmp_path / "merged")
    assert not (tmp_path / "merged").exists()
    report = merge([parts[2], parts[0]], tmp_path / "merged", allow_partial=True)
    assert report.missing == [TARGETS[1]] and report.partial
    assert _tree(tmp_path / "merged") == _tree(two)


def test_parts_from_two_revisions(tmp_path: Path, parts: list[Path]) -> None:
    other = _dist(tmp_path / "other", [TARGETS[1]], rev="2" * 40)
    with pytest.raises(UsageError, match=rf"part {other}: source.revision"):
        merge([parts[0], other, parts[2]], tmp_path / "merged")


def test_parts_with_different_epochs(tmp_path: Path, parts: list[Path]) -> None:
    other = _dist(tmp_path / "other", [TARGETS[1]], epoch=EPOCH + 1)
    with pytest.raises(UsageError, match=rf"part {other}: source.source_date_epoch"):
        merge([parts[0], other, parts[2]], tmp_path / "merged")


def test_two_parts_claim_one_target(tmp_path: Path, parts: list[Path]) -> None:
    again = _dist(tmp_path / "again", [TARGETS[0], TARGETS[1]])
    with pytest.raises(UsageError, match=rf"part {again}: targets: {TARGETS[0]} is also claimed"):
        merge([parts[0], again, parts[2]], tmp_path / "merged")


def test_tampered_artifact(tmp_path: Path, parts: list[Path]) -> None:
    header = parts[1] / TARGETS[1] / f"beacon-{TARGETS[1]}.h"
    header.write_bytes(b"header, but not the one built\n")
    with pytest.raises(
        UsageError, match=rf"part {parts[1]}: does not match its manifest: .*changed"
    ):
        merge(parts, tmp_path / "merged")


def test_different_toolchains(tmp_path: Path, parts: list[Path]) -> None:
    path = parts[1] / "manifest.json"
    data = json.loads(path.read_text())
    data["toolchains"]["rust"]["release"] = "1.95.0"
    path.write_text(json.dumps(data))
    with pytest.raises(UsageError, match=rf"part {parts[1]}: toolchains.rust"):
        merge(parts, tmp_path / "merged")


def test_different_config(tmp_path: Path, parts: list[Path]) -> None:
    path = parts[2] / "manifest.json"
    data = json.loads(path.read_text())
    data["config_digest"] = "d" * 64
    path.write_text(json.dumps(data))
    with pytest.raises(UsageError, match=rf"part {parts[2]}: config_digest"):
        merge(parts, tmp_path / "merged")


def test_part_without_config_digest(tmp_path: Path, parts: list[Path]) -> None:
    path = parts[0] / "manifest.json"
    data = json.loads(path.read_text())
    del data["config_digest"]
    path.write_text(json.dumps(data))
    with pytest.raises(UsageError, match=rf"part {parts[0]}: .*no config_digest"):
        merge(parts, tmp_path / "merged")


def test_artifact_of_an_unclaimed_target(tmp_path: Path, parts: list[Path]) -> None:
    path = parts[0] / "manifest.json"
    data = json.loads(path.read_text())
    data["targets"] = []
    data["steps"] = []
    path.write_text(json.dumps(data))
    with pytest.raises(UsageError, match=rf"part {parts[0]}: artifacts: .* does not claim"):
        merge(parts, tmp_path / "merged")


def test_cli_exit_2_names_part_and_field(
    tmp_path: Path, parts: list[Path], relbuild: Callable[..., CliResult]
) -> None:
    other = _dist(tmp_path / "other", [TARGETS[1]], rev="2" * 40)
    code, _, err = relbuild("merge", parts[0], other, parts[2], "--out", tmp_path / "merged")
    assert code == 2
    assert f"part {other}: source.revision" in " ".join(err.split())
    assert "Traceback" not in err


def test_cli_json(tmp_path: Path, parts: list[Path], relbuild: Callable[..., CliResult]) -> None:
    code, out, err = relbuild("merge", *parts, "--out", tmp_path / "merged", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["targets"] == TARGETS and report["partial"] is False


def test_parts_built_for_other_components(tmp_path: Path, parts: list[Path]) -> None:
    path = parts[1] / "manifest.json"
    data = json.loads(path.read_text())
    data["components_selected"] = ["beacon-ffi"]
    path.write_text(json.dumps(data))
    with pytest.raises(UsageError, match=rf"part {parts[1]}: components_selected"):
        merge(parts, tmp_path / "merged")


def test_parts_from_two_tags(tmp_path: Path, parts: list[Path]) -> None:
    path = parts[2] / "manifest.json"
    data = json.loads(path.read_text())
    data["source"]["tag"] = "v0.3.2"
    path.write_text(json.dumps(data))
    with pytest.raises(UsageError, match=rf"part {parts[2]}: source.tag"):
        merge(parts, tmp_path / "merged")


# --- the parts' attestations (issue 20) --------------------------------------------

LIBC = Package("cargo", "libc", "0.2", "registry")
CONFIG_REF = ConfigRef("toolchains.toml", "c" * 64)


def _attest(folder: Path) -> Path:
    """The SBOM and provenance a build writes: each notes file holds libc."""
    manifest = load_manifest(folder / "manifest.json")
    held = Contents(packages=(LIBC,), direct=(LIBC.key,))
    contents = {a.path: held for a in manifest.artifacts if a.kind == "file"}
    write_documents(folder, manifest, contents, CONFIG_REF)
    epoch = manifest.source.source_date_epoch if manifest.source else 0
    for name in (SBOM_NAME, PROVENANCE_NAME):
        os.utime(folder / name, (epoch, epoch))
    return folder


def _edit_sbom(folder: Path, change: Callable[[Any], None]) -> None:
    """Change a part's SBOM and make its provenance name the new digest, as
    one who edits an unsigned part would."""
    doc = json.loads((folder / SBOM_NAME).read_text())
    change(doc)
    (folder / SBOM_NAME).write_text(json.dumps(doc, indent=2) + "\n")
    _reseal(folder)


def _reseal(folder: Path) -> None:
    statement = json.loads((folder / PROVENANCE_NAME).read_text())
    data = (folder / SBOM_NAME).read_bytes()
    for subject in statement["subject"]:
        if subject["name"] == SBOM_NAME:
            subject["digest"] = {
                "sha256": hashlib.sha256(data).hexdigest(),
                "sha512": hashlib.sha512(data).hexdigest(),
            }
    (folder / PROVENANCE_NAME).write_text(json.dumps(statement, indent=2) + "\n")


def _notes(doc: Any, triple: str) -> Any:
    return next(c for c in doc["components"] if c["bom-ref"] == f"{triple}/notes-{triple}.txt")


@pytest.fixture
def attested(tmp_path: Path) -> list[Path]:
    return [_attest(_dist(tmp_path / f"part-{i}", [t])) for i, t in enumerate(TARGETS)]


def test_attested_parts_merge_to_the_one_machine_dist(tmp_path: Path, attested: list[Path]) -> None:
    full = _attest(_dist(tmp_path / "full", TARGETS))
    merge(list(reversed(attested)), tmp_path / "merged")
    assert _tree(tmp_path / "merged") == _tree(full)
    assert verify(tmp_path / "merged").ok


def test_a_crate_injected_into_a_part_is_refused(tmp_path: Path, attested: list[Path]) -> None:
    triple = TARGETS[1]

    def inject(doc: Any) -> None:
        notes = _notes(doc, triple)
        ref = f"{notes['bom-ref']}#cargo:evil@1.0.0"
        notes["components"].append(
            {"bom-ref": ref, "name": "evil", "version": "1.0.0", "type": "library",
             "properties": [{"name": "relbuild:source", "value": "registry"}]}
        )  # fmt: skip
        next(d for d in doc["dependencies"] if d["ref"] == notes["bom-ref"])["dependsOn"].append(
            ref
        )
        doc["dependencies"].append({"ref": ref})

    _edit_sbom(attested[1], inject)
    with pytest.raises(UsageError, match=rf"part {attested[1]}: .*evil"):
        merge(attested, tmp_path / "merged")
    assert not (tmp_path / "merged").exists()


def test_a_part_config_claim_is_refused(tmp_path: Path, attested: list[Path]) -> None:
    path = attested[2] / PROVENANCE_NAME
    path.write_text(path.read_text().replace("c" * 64, "d" * 64))
    with pytest.raises(UsageError, match=rf"part {attested[2]}: .*config.digest"):
        merge(attested, tmp_path / "merged")


def test_parts_naming_two_config_files(tmp_path: Path, attested: list[Path]) -> None:
    path = attested[1] / PROVENANCE_NAME
    path.write_text(path.read_text().replace('"toolchains.toml"', '"release.toml"'))
    with pytest.raises(UsageError, match=rf"part {attested[1]}: .*release.toml"):
        merge(attested, tmp_path / "merged")


def test_merged_claims_come_from_the_merged_manifest(tmp_path: Path, attested: list[Path]) -> None:
    """A part's crate whose record every part agrees on is written from the
    merged manifest's record, whatever the part's SBOM said of it."""
    merge(attested, tmp_path / "merged")
    doc = json.loads((tmp_path / "merged" / SBOM_NAME).read_text())
    statement = json.loads((tmp_path / "merged" / PROVENANCE_NAME).read_text())
    config = statement["predicate"]["buildDefinition"]["externalParameters"]["config"]
    assert config == {"path": "toolchains.toml", "digest": {"sha256": "c" * 64}}
    for triple in TARGETS:
        (libc,) = _notes(doc, triple)["components"]
        assert libc["name"] == "libc"
    assert verify(tmp_path / "merged").ok


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda c: c["components"].append("x"), id="string-component"),
        pytest.param(lambda c: c["components"][0].update(hashes=["x"]), id="hashes-strings"),
        pytest.param(lambda c: c.update(properties=5), id="properties-number"),
    ],
)
def test_malformed_part_sbom_is_exit_2_naming_the_part(
    tmp_path: Path,
    attested: list[Path],
    relbuild: Callable[..., CliResult],
    change: Callable[[Any], None],
) -> None:
    _edit_sbom(attested[0], lambda doc: change(_notes(doc, TARGETS[0])))
    code, _, err = relbuild("merge", *attested, "--out", tmp_path / "merged")
    assert code == 2, err
    assert f"part {attested[0]}" in " ".join(err.split()) and "Traceback" not in err


def test_depends_on_a_number_is_exit_2(
    tmp_path: Path, attested: list[Path], relbuild: Callable[..., CliResult]
) -> None:
    def change(doc: Any) -> None:
        doc["dependencies"][1]["dependsOn"] = 5

    _edit_sbom(attested[2], change)
    code, _, err = relbuild("merge", *attested, "--out", tmp_path / "merged")
    assert code == 2 and f"part {attested[2]}" in " ".join(err.split()), err
    assert "Traceback" not in err


def test_sbom_without_provenance_in_a_part(
    tmp_path: Path, attested: list[Path], relbuild: Callable[..., CliResult]
) -> None:
    (attested[1] / PROVENANCE_NAME).unlink()
    code, _, err = relbuild("merge", *attested, "--out", tmp_path / "merged")
    assert code == 2 and PROVENANCE_NAME in err and "Errno" not in err, err


# --- where the merge writes ---------------------------------------------------------


def test_out_holding_the_parts_is_refused(tmp_path: Path) -> None:
    release = _dist(tmp_path / "release", [TARGETS[0]])
    parts = [_dist(release / f"part-{i}", [t]) for i, t in enumerate(TARGETS)]
    before = _tree(release)
    with pytest.raises(UsageError, match="holds part"):
        merge(parts, release)
    assert _tree(release) == before


def test_out_inside_a_part_is_refused(tmp_path: Path, parts: list[Path]) -> None:
    with pytest.raises(UsageError, match="inside part"):
        merge(parts, parts[1] / "merged")
    assert not (parts[1] / "merged").exists()
    assert verify(parts[1]).ok


def test_only_its_own_staging_folders_are_cleaned(tmp_path: Path, parts: list[Path]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    other = out / ".other.staging-999999999-deadbeef"
    other.mkdir()
    (other / "keep").write_text("not relbuild's\n")
    stale = out / ".*.staging-999999999-0123abcd"
    stale.mkdir()
    merge(parts, out / "*")
    assert (other / "keep").is_file()
    assert not stale.exists()  # the one left by an earlier merge into that --out


def test_sigterm_mid_merge_leaves_no_staging_copy(tmp_path: Path, parts: list[Path]) -> None:
    out = tmp_path / "merged"

    def setup() -> None:
        from relbuild.ci import merge as module

        real = module._copy_regular

        def copy(src: Path, dest: Path) -> None:
            real(src, dest)
            os.kill(os.getpid(), signal.SIGTERM)

        module._copy_regular = copy

    outcome = run_cli("merge", *parts, "--out", out, setup=setup)
    assert outcome.exit_code == 128 + signal.SIGTERM, outcome
    assert "Traceback" not in outcome.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [p.name for p in parts]


def test_modes_are_normalized_as_a_build_does(tmp_path: Path, parts: list[Path]) -> None:
    path = parts[0] / "manifest.json"
    data = json.loads(path.read_text())
    for art in data["artifacts"]:
        art["mode"] = "0777"
        (parts[0] / art["path"]).chmod(0o777)
    path.write_text(json.dumps(data))
    merge(parts, tmp_path / "merged")
    merged = json.loads((tmp_path / "merged" / "manifest.json").read_text())
    assert {a["mode"] for a in merged["artifacts"]} == {"0644"}
    assert all(
        (tmp_path / "merged" / a["path"]).stat().st_mode & 0o777 == 0o644
        for a in merged["artifacts"]
    )
    assert verify(tmp_path / "merged").ok
