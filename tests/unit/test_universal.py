"""The universal stage, through the real stage list with a fake runner that
writes small Mach-O programs carrying Go build information (no process
starts): both Apple triples give one universal2 file and its archive,
recorded after the targets' own files; one Apple triple gives none, and a
warning; `relbuild verify` checks each slice; a merge keeps a part's."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from relbuild.backends.base import BuildPaths, ResolvedToolchains, Step
from relbuild.backends.go import GoFacts
from relbuild.backends.rust import RustFacts
from relbuild.binaries import fat
from relbuild.ci.merge import merge
from relbuild.config import LoadedConfig
from relbuild.config.models import Config
from relbuild.pipeline import stages
from relbuild.pipeline.model import Plan
from relbuild.pipeline.options import BuildOptions
from relbuild.pipeline.plan import PlanInputs
from relbuild.release.dist import hash_file, load_manifest, write_manifest
from relbuild.release.sums import SUMS
from relbuild.system.progress import Reporter
from relbuild.system.sourceinfo import SourceInfo
from relbuild.verify.folder import verify
from tests import fatgen as machogen
from tests.unit.test_plan import tool
from tests.unit.test_stages import Quiet, go_program

X86, ARM = "x86_64-apple-darwin", "aarch64-apple-darwin"
U = "universal2-apple-darwin"


def config(universal: bool, targets: tuple[str, ...] = (X86, ARM)) -> str:
    text = f"""
schema-version = 1
[project]
name = "demo"
root = "demo"
universal = {"true" if universal else "false"}
archive = "tar.gz"
[toolchains.go]
release = "1.26.8"
[go.one]
package = "./cmd/one"
[go.two]
package = "./cmd/two"
"""
    for t in targets:
        text += f'[[targets]]\ntriple = "{t}"\ncomponents = ["one", "two"]\n'
    return text


def _buildinfo() -> bytes:
    elf = go_program(62)
    return elf[elf.index(b"\xff Go buildinf:") :][:200]


class MachoRunner:
    def __init__(self, plan: Plan, paths: BuildPaths, signed: bool = True) -> None:
        self.paths, self.signed = paths, signed

    def step(
        self, step: Step, releases: dict[str, str], reporter: Reporter
    ) -> tuple[list[Path], float, float]:
        body = _buildinfo() + step.component.encode() * 50
        data = machogen.x86_64(body) if step.target == X86 else machogen.arm64(body, signed=True)
        out = self.paths.cache / "fake" / step.target / step.component
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
        return [out], 0.01, 0.01


@pytest.fixture(autouse=True)
def _no_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))


def build(tmp: Path, text: str, out: str = "dist", targets: tuple[str, ...] = ()) -> Path:
    root = tmp / "demo"
    root.mkdir(exist_ok=True)
    (root / "go.sum").write_text("")
    (tmp / "toolchains.toml").write_text(text)
    cfg = Config.model_validate(tomllib.loads(text))
    go = tool("go", "1.26.8", "/opt/go/bin/go", go="/opt/go/bin/go", goroot="/opt/go")
    given = PlanInputs(
        loaded=LoadedConfig(path=tmp / "toolchains.toml", config=cfg),
        tools=ResolvedToolchains(go=go),
        source=SourceInfo(vcs="git", revision="a" * 40, dirty=False, source_date_epoch=1700000000),
        paths=BuildPaths(root=root, cache=tmp / "cache"),
        user_env={"HOME": str(tmp / "home"), "PATH": "/usr/bin"},
        facts={
            "rust": RustFacts(workspaces={}, std_prebuilt={}, linkers={}),
            "go": GoFacts(modules={".": []}),
        },
        host={"user name": "nobody-here", "host name": "nowhere", "temp folder": "/nonexistent"},
        version="1.2.3",
    )
    stages.build(
        given.loaded,
        BuildOptions(
            out=tmp / out, targets=targets, source_date_epoch="1700000000", archive="tar.gz"
        ),
        Quiet(),
        runner=MachoRunner,
        inputs=given,
    )
    return tmp / out


def test_both_apple_targets_give_a_universal_file_and_its_archive(tmp_path: Path) -> None:
    dist = build(tmp_path, config(universal=True))
    manifest = load_manifest(dist / "manifest.json")
    assert [(a.target, a.path) for a in manifest.artifacts] == [
        (X86, f"{X86}/one-1.2.3-{X86}"),
        (X86, f"{X86}/two-1.2.3-{X86}"),
        (ARM, f"{ARM}/one-1.2.3-{ARM}"),
        (ARM, f"{ARM}/two-1.2.3-{ARM}"),
        (U, f"{U}/one-1.2.3-{U}"),
        (U, f"{U}/two-1.2.3-{U}"),
        (X86, f"demo-1.2.3-{X86}.tar.gz"),
        (ARM, f"demo-1.2.3-{ARM}.tar.gz"),
        (U, f"demo-1.2.3-{U}.tar.gz"),
    ]
    made = (dist / U / f"one-1.2.3-{U}").read_bytes()
    assert made == fat.create(
        [
            (dist / X86 / f"one-1.2.3-{X86}").read_bytes(),
            (dist / ARM / f"one-1.2.3-{ARM}").read_bytes(),
        ]
    )
    assert next(a for a in manifest.artifacts if a.target == U).mode == "0755"
    assert all(f"{U}/one-1.2.3-{U}" in (dist / s).read_text() for s in SUMS.values())
    # The SBOM lists it with what its slices hold (their Go build information).
    sbom = json.loads((dist / "sbom.cdx.json").read_text())
    (entry,) = [c for c in sbom["components"] if c["bom-ref"] == f"{U}/one-1.2.3-{U}"]
    assert {p["name"]: p["value"] for p in entry["properties"]}["relbuild:target"] == U
    assert verify(dist).ok
    # Two builds, the same bytes.
    again = build(tmp_path, config(universal=True), out="again")
    assert (again / U / f"one-1.2.3-{U}").read_bytes() == made
    assert (again / "manifest.json").read_bytes() == (dist / "manifest.json").read_bytes()


def test_off_by_default(tmp_path: Path) -> None:
    dist = build(tmp_path, config(universal=False))
    assert not (dist / U).exists()
    assert all(a.target != U for a in load_manifest(dist / "manifest.json").artifacts)


def test_one_apple_target_makes_none_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dist = build(tmp_path, config(universal=True), targets=(ARM,))
    assert not (dist / U).exists()
    err = capsys.readouterr().err
    assert (
        "warning: project.universal is on, but this build covers only aarch64-apple-darwin" in err
    )


def test_verify_checks_each_slice(tmp_path: Path) -> None:
    dist = build(tmp_path, config(universal=True))
    path = dist / U / f"one-1.2.3-{U}"
    bad = fat.create([machogen.x86_64(), machogen.arm64(signed=False)])
    _replace(dist, f"{U}/one-1.2.3-{U}", bad)
    assert [(f.kind, f.detail) for f in verify(dist).findings] == [
        (
            "elf",
            f"one-1.2.3-{U} (ARM64 slice): no code signature; macOS on arm64 runs no "
            "unsigned program",
        )
    ]
    hostile = bytearray(path.read_bytes())
    hostile[4:8] = (0xFFFFFFFF).to_bytes(4, "big")  # a huge slice count
    _replace(dist, f"{U}/one-1.2.3-{U}", bytes(hostile))
    ((kind, detail),) = [(f.kind, f.detail) for f in verify(dist).findings]
    assert kind == "elf" and "names 4294967295 slices" in detail


def _replace(dist: Path, rel: str, data: bytes) -> None:
    """``rel`` replaced by ``data``, with the manifest and SUMS agreeing."""
    (dist / rel).write_bytes(data)
    manifest = load_manifest(dist / "manifest.json")
    sha256, sha512, size, _ = hash_file(dist / rel)
    arts = [
        a.model_copy(update={"sha256": sha256, "sha512": sha512, "size": size})
        if a.path == rel
        else a
        for a in manifest.artifacts
    ]
    write_manifest(dist, manifest.model_copy(update={"artifacts": arts}))
    for name in ("sbom.cdx.json", "provenance.intoto.json"):
        (dist / name).unlink(missing_ok=True)


def test_a_merge_keeps_the_universal_files_of_the_part_that_built_both(tmp_path: Path) -> None:
    text = config(universal=True, targets=(X86, ARM, "x86_64-unknown-linux-gnu"))
    whole = build(tmp_path, text)
    apple = build(tmp_path, text, out="apple", targets=(X86, ARM))
    linux = build(tmp_path, text, out="linux", targets=("x86_64-unknown-linux-gnu",))
    merge([apple, linux], tmp_path / "merged")
    assert (tmp_path / "merged" / "manifest.json").read_bytes() == (
        whole / "manifest.json"
    ).read_bytes()
    # Parts that split the Apple triples have none to merge, and make none.
    x86 = build(tmp_path, text, out="x86", targets=(X86, "x86_64-unknown-linux-gnu"))
    arm = build(tmp_path, text, out="arm", targets=(ARM,))
    report = merge([x86, arm], tmp_path / "split")
    assert report.missing == [] and not (tmp_path / "split" / U).exists()
