"""The build's stage list, driven with a fake runner: no process starts
(the unit suite's autouse fixture makes subprocess.Popen raise). The fake
writes what each step would make (an x86-64 Go program carrying its build
information), so every stage after the run sees real bytes."""

from __future__ import annotations

import struct
import threading
import time
import tomllib
from pathlib import Path

import pytest

from relbuild.backends.base import BuildPaths, ResolvedToolchains, Step
from relbuild.backends.go import GoFacts
from relbuild.backends.rust import RustFacts
from relbuild.config import LoadedConfig
from relbuild.config.models import Config
from relbuild.errors import BuildError
from relbuild.pipeline import stages
from relbuild.pipeline.model import Plan
from relbuild.pipeline.options import BuildOptions
from relbuild.pipeline.plan import PlanInputs
from relbuild.release.dist import load_manifest
from relbuild.system.progress import Reporter
from relbuild.system.sourceinfo import SourceInfo
from tests.elfgen import Elf, Section
from tests.unit.test_plan import tool

CONFIG = """
schema-version = 1
[project]
name = "demo"
root = "demo"
[toolchains.go]
release = "1.26.8"
[go.one]
package = "./cmd/one"
[go.two]
package = "./cmd/two"
[[targets]]
triple = "x86_64-unknown-linux-gnu"
components = ["one", "two"]
[[targets]]
triple = "aarch64-unknown-linux-gnu"
components = ["one"]
"""

MACHINES = {"x86_64-unknown-linux-gnu": 62, "aarch64-unknown-linux-gnu": 183}


def go_program(machine: int) -> bytes:
    """An ELF executable with the build information `go version -m` reads
    (Go >= 1.18 layout: inline strings) and no dependency."""
    sentinel = b"0" * 16
    modinfo = sentinel + b"path\texample.com/demo\nmod\texample.com/demo\t(devel)\t\n" + sentinel

    def string(b: bytes) -> bytes:
        return (
            bytes([len(b)]) + b
            if len(b) < 0x80
            else struct.pack("BB", len(b) & 0x7F | 0x80, len(b) >> 7) + b
        )

    header = b"\xff Go buildinf:" + bytes([8, 0x2]) + b"\0" * 16
    blob = header + string(b"go1.26.8") + string(modinfo)
    return Elf(machine=machine, elfclass=64, sections=[Section(".go.buildinfo", blob)]).build()


class FakeRunner:
    """Makes each step's output itself; records the order steps ran in and
    can fail one step."""

    def __init__(self, plan: Plan, paths: BuildPaths, fail: str | None, ran: list[str]) -> None:
        self.plan, self.paths, self.fail, self.ran = plan, paths, fail, ran
        self.lock = threading.Lock()

    def step(
        self, step: Step, releases: dict[str, str], reporter: Reporter
    ) -> tuple[list[Path], float, float]:
        label = f"{step.target}/{step.component}"
        with self.lock:
            self.ran.append(label)
        if label == self.fail:
            raise BuildError(f"step {label} failed")
        out = self.paths.cache / "fake" / step.target / step.component
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(go_program(MACHINES[step.target]))
        return [out], 0.01, 0.02


@pytest.fixture(autouse=True)
def _no_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A machine without git: the source is read from the options alone."""
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))


class Quiet:
    def start(self, label: str) -> None:
        pass

    def finish(self, label: str, seconds: float, ok: bool) -> None:
        pass

    def close(self) -> None:
        pass


def inputs(tmp: Path) -> PlanInputs:
    root = tmp / "demo"
    if not root.exists():  # written once: a build after it sees no change
        root.mkdir()
        (root / "go.sum").write_text("")
        (tmp / "toolchains.toml").write_text(CONFIG)
    config = Config.model_validate(tomllib.loads(CONFIG))
    go = tool("go", "1.26.8", "/opt/go/bin/go", go="/opt/go/bin/go", goroot="/opt/go")
    return PlanInputs(
        loaded=LoadedConfig(path=tmp / "toolchains.toml", config=config),
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


def run_build(
    tmp: Path,
    ran: list[str],
    fail: str | None = None,
    jobs: int = 1,
    runner: type[FakeRunner] = FakeRunner,
) -> stages.BuildState:
    """A build through the real stage list, with a spy stage in front that
    keeps the state; ``ran`` gets the steps in the order they started."""
    given = inputs(tmp)
    kept: list[stages.BuildState] = []
    spy = stages.Stage("spy", kept.append)
    stages.build(
        given.loaded,
        BuildOptions(out=tmp / "dist", jobs=jobs, source_date_epoch="1700000000"),
        Quiet(),
        runner=lambda plan, paths: runner(plan, paths, fail, ran),
        inputs=given,
        stages=(spy, *stages.BUILD),
    )
    return kept[0]


def staging_left(tmp: Path) -> list[str]:
    return [p.name for p in tmp.iterdir() if "staging" in p.name]


def test_the_stage_list_reads_in_the_order_of_the_data_flow() -> None:
    assert [s.name for s in stages.BUILD] == [
        "fresh", "gather", "plan", "staging", "run", "prebuilt", "check", "abi", "universal",
        "record", "attest", "output", "remember",
    ]  # fmt: skip


def test_a_build_runs_every_stage_in_order_and_swaps_the_dist_into_place(tmp_path: Path) -> None:
    ran: list[str] = []
    state = run_build(tmp_path, ran)
    # Steps in the plan's fixed order, the programs of a target one by one.
    assert ran == [
        "x86_64-unknown-linux-gnu/one",
        "x86_64-unknown-linux-gnu/two",
        "aarch64-unknown-linux-gnu/one",
    ]
    assert state.ran == [
        "spy", "fresh", "plan", "staging", "run", "check", "record", "attest", "output",
        "remember",
    ]  # fmt: skip
    assert state.skipped == {
        "gather": "inputs given by the caller",
        "prebuilt": "no step was given a library where its sources expect one",
        "abi": "no Go program links a staticlib through cgo",
        "universal": "project.universal is off",
    }
    dist = tmp_path / "dist"
    manifest = load_manifest(dist / "manifest.json")
    assert sorted(a.path for a in manifest.artifacts) == [
        "aarch64-unknown-linux-gnu/one-1.2.3-aarch64-unknown-linux-gnu",
        "x86_64-unknown-linux-gnu/one-1.2.3-x86_64-unknown-linux-gnu",
        "x86_64-unknown-linux-gnu/two-1.2.3-x86_64-unknown-linux-gnu",
    ]
    assert (dist / "sbom.cdx.json").is_file() and (dist / "provenance.intoto.json").is_file()
    assert staging_left(tmp_path) == []
    # The build report: each step's CPU time as the runner gave it, their
    # sum, the dist's checksum time over every artifact, the machine.
    result = state.result
    assert result is not None and result.checksum is not None and result.machine is not None
    assert [t.cpu_seconds for t in result.steps] == [0.02, 0.02, 0.02]
    assert result.cpu_seconds == 0.06
    assert result.checksum.bytes == sum(a.size for a in manifest.artifacts)
    assert result.machine.cores >= 1


def test_a_failing_step_stops_the_build_and_leaves_the_old_dist_in_place(tmp_path: Path) -> None:
    run_build(tmp_path, [])
    before = {p.name: p.read_bytes() for p in (tmp_path / "dist").iterdir() if p.is_file()}
    (tmp_path / "demo" / "main.go").write_text("package main\n")  # a change to build
    with pytest.raises(BuildError, match="x86_64-unknown-linux-gnu/two failed"):
        run_build(tmp_path, [], fail="x86_64-unknown-linux-gnu/two")
    after = {p.name: p.read_bytes() for p in (tmp_path / "dist").iterdir() if p.is_file()}
    assert after == before
    assert staging_left(tmp_path) == []


def test_with_one_job_a_failure_starts_no_further_step(tmp_path: Path) -> None:
    ran: list[str] = []
    with pytest.raises(BuildError, match="failed"):
        run_build(tmp_path, ran, fail="x86_64-unknown-linux-gnu/one")
    assert ran == ["x86_64-unknown-linux-gnu/one"]
    assert not (tmp_path / "dist").exists()
    assert staging_left(tmp_path) == []


def test_cancellation_reaches_a_target_building_side_by_side(tmp_path: Path) -> None:
    """Two targets side by side, each inside its first step; aarch64's
    fails. x86_64 finishes the step it was in and starts no other."""
    both_in = threading.Barrier(2, timeout=10)
    failed = threading.Event()

    class Racing(FakeRunner):
        def step(
            self, step: Step, releases: dict[str, str], reporter: Reporter
        ) -> tuple[list[Path], float, float]:
            if step.component == "one":
                both_in.wait()
                if step.target.startswith("x86_64"):
                    # Finish only once the failure is known to the build.
                    assert failed.wait(10)
                    time.sleep(0.2)
            try:
                return super().step(step, releases, reporter)
            except BuildError:
                failed.set()
                raise

    ran: list[str] = []
    with pytest.raises(BuildError, match="aarch64-unknown-linux-gnu/one failed"):
        run_build(tmp_path, ran, fail="aarch64-unknown-linux-gnu/one", jobs=2, runner=Racing)
    assert sorted(ran) == ["aarch64-unknown-linux-gnu/one", "x86_64-unknown-linux-gnu/one"]
    assert not (tmp_path / "dist").exists()
    assert staging_left(tmp_path) == []


def test_an_unchanged_release_is_not_built_again(tmp_path: Path) -> None:
    run_build(tmp_path, [])
    ran: list[str] = []
    state = run_build(tmp_path, ran)
    assert ran == []
    assert state.ran == ["spy", "fresh"]
    assert state.result is not None and state.result.up_to_date
    assert set(state.skipped) == {
        "gather", "plan", "staging", "run", "prebuilt", "check", "abi", "universal", "record",
        "attest", "output", "remember",
    }  # fmt: skip
    assert len(state.result.artifacts) == 3


@pytest.mark.parametrize("change", ["source", "dist", "extra", "option"])
def test_a_changed_input_or_dist_builds_again(tmp_path: Path, change: str) -> None:
    run_build(tmp_path, [])
    dist = tmp_path / "dist"
    if change == "source":
        (tmp_path / "demo" / "main.go").write_text("package main\n")
    elif change == "dist":
        exe = dist / "x86_64-unknown-linux-gnu" / "one-1.2.3-x86_64-unknown-linux-gnu"
        exe.write_bytes(exe.read_bytes() + b"\0")
    elif change == "extra":
        (dist / "notes.txt").write_text("not ours")
    ran: list[str] = []
    if change == "option":
        given = inputs(tmp_path)
        stages.build(
            given.loaded,
            BuildOptions(out=dist, source_date_epoch="1700000001"),
            Quiet(),
            runner=lambda plan, paths: FakeRunner(plan, paths, None, ran),
            inputs=given,
        )
    else:
        run_build(tmp_path, ran)
    assert ran == [
        "x86_64-unknown-linux-gnu/one",
        "x86_64-unknown-linux-gnu/two",
        "aarch64-unknown-linux-gnu/one",
    ]


def test_an_edit_made_while_building_is_not_recorded_as_built(tmp_path: Path) -> None:
    """The record holds the inputs as they were when the build started: a
    source file saved during a step makes the next build run again."""

    class Editing(FakeRunner):
        def step(
            self, step: Step, releases: dict[str, str], reporter: Reporter
        ) -> tuple[list[Path], float, float]:
            (tmp_path / "demo" / "main.go").write_text(f"package main // {len(self.ran)}\n")
            return super().step(step, releases, reporter)

    run_build(tmp_path, [], runner=Editing)
    ran: list[str] = []
    run_build(tmp_path, ran)
    assert ran == [
        "x86_64-unknown-linux-gnu/one",
        "x86_64-unknown-linux-gnu/two",
        "aarch64-unknown-linux-gnu/one",
    ]
