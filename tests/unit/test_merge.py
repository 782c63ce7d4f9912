"""merge on small dists made here: a full dist split into parts the way
runners make them, merged back byte for byte, and every refusal."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

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
    write_manifest,
)
from tests.conftest import CliResult

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
