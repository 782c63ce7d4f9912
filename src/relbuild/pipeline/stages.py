"""`relbuild build` as a list of named stages over one state.

Each stage has a name (in logs and in the report), a ``run`` over the
:class:`BuildState`, and a ``skip`` that says why it has nothing to do (or
None). :data:`BUILD` is the order anyone can read; :func:`run_stages` is the
only loop that walks a list. The process runner is injected (``runner=``),
so the order, a failing step, cancellation and the swap into place are
unit-tested with a fake one and no process started.

`relbuild abi` runs the same pipeline, limited to the staticlibs that cgo
programs link (:data:`ABI_ONLY`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from relbuild.abi.model import AbiReport
from relbuild.backends.base import BuildPaths, Probe, Step
from relbuild.config import LoadedConfig
from relbuild.config.triples import UNIVERSAL_APPLE
from relbuild.errors import ConfigError
from relbuild.pipeline import (
    abi,
    attest,
    checks,
    collect,
    fresh,
    measure,
    output,
    prebuilt,
    record,
    run,
    universal,
)
from relbuild.pipeline.gather import gather, log_toolchains
from relbuild.pipeline.model import BuildResult, Plan, Staged, StepTiming
from relbuild.pipeline.options import BuildOptions
from relbuild.pipeline.plan import PlanInputs
from relbuild.pipeline.plan import plan as make_plan
from relbuild.release.chain import check_successor
from relbuild.release.dist import (
    MANIFEST_NAME,
    AbiRecord,
    ArtifactRecord,
    Footprint,
    Manifest,
    PrebuiltRecord,
)
from relbuild.release.dist import write_manifest as write_manifest_file
from relbuild.system import environ
from relbuild.system.fsutil import atomic_write
from relbuild.system.progress import Reporter
from relbuild.system.sourceinfo import SourceInfo


@dataclass
class BuildState:
    """Everything the stages hand each other; each stage fills its part."""

    loaded: LoadedConfig
    options: BuildOptions
    reporter: Reporter
    runner: run.RunnerFactory
    stack: ExitStack
    started: float = field(default_factory=time.monotonic)
    inputs: PlanInputs | None = None
    plan: Plan | None = None
    # The steps the run stage runs: the whole plan unless a pipeline limits
    # it (`relbuild abi` builds the staticlibs, not the programs).
    to_run: Plan | None = None
    out: Path | None = None
    staging: Path | None = None
    staged: list[Staged] = field(default_factory=list)
    timings: list[StepTiming] = field(default_factory=list)
    findings: dict[str, checks.Findings] = field(default_factory=dict)
    archives: dict[str, Staged] = field(default_factory=dict)
    footprints: dict[str, Footprint] = field(default_factory=dict)
    digests: checks.DigestCache | None = None
    abi_report: AbiReport | None = None
    abi: list[AbiRecord] = field(default_factory=list)
    prebuilt: list[PrebuiltRecord] = field(default_factory=list)
    artifacts: list[ArtifactRecord] = field(default_factory=list)
    manifest: Manifest | None = None
    result: BuildResult | None = None
    # Why no further stage has anything to do (the release is up to date).
    done: str | None = None
    # The build's inputs as the fresh stage took them, before anything ran.
    seen: fresh.Seen | None = None
    ran: list[str] = field(default_factory=list)  # stage names, in order
    skipped: dict[str, str] = field(default_factory=dict)  # stage name -> why

    # What a stage may only ask for once an earlier stage made it.
    @property
    def the_inputs(self) -> PlanInputs:
        assert self.inputs is not None, "the gather stage runs first"
        return self.inputs

    @property
    def the_plan(self) -> Plan:
        assert self.plan is not None, "the plan stage runs first"
        return self.plan

    @property
    def paths(self) -> BuildPaths:
        return self.the_inputs.paths

    @property
    def the_staging(self) -> Path:
        assert self.staging is not None, "the staging stage runs first"
        return self.staging


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[BuildState], None]
    skip: Callable[[BuildState], str | None] = lambda _state: None


def run_stages(stages: Sequence[Stage], state: BuildState) -> None:
    """Each stage in order, unless it says why it has nothing to do. The
    first error stops the list; what the stages opened (the staging folder)
    is closed by the caller's ExitStack, so a failed build leaves nothing."""
    for s in stages:
        why = state.done or s.skip(state)
        if why is not None:
            state.skipped[s.name] = why
            continue
        s.run(state)
        state.ran.append(s.name)


# --- the stages ---------------------------------------------------------------------


def _fresh(state: BuildState) -> None:
    # Taken before anything is built: what the record will say was read
    # (unless the caller just took it, to ask whether to build at all).
    if state.seen is None:
        state.seen = fresh.seen(state.loaded, state.options)
    result = (
        fresh.up_to_date(state.loaded, state.options, state.seen) if state.options.reuse else None
    )
    if result is None:
        return
    state.result = BuildResult.model_validate({**result, "up_to_date": True})
    fresh.announce(result, state.reporter)
    state.done = f"{state.result.out} already holds the release these inputs make"


def _remember(state: BuildState) -> None:
    assert state.result is not None
    tools = state.the_inputs.tools
    used = [t for t in (tools.rust, tools.go, tools.zig) if t is not None]
    files = sorted({p for t in used for p in (t.executable, *t.paths.values())})
    result = state.result.model_dump(mode="json")
    fresh.remember(state.loaded, state.options, state.seen, files, result)


def _gather(state: BuildState) -> None:
    # The source as the fresh stage read it (the same git answers, a moment ago).
    source = SourceInfo.model_validate(state.seen["source"]) if state.seen else None
    state.inputs = gather(state.loaded, state.options, source)


def _inputs_given(state: BuildState) -> str | None:
    return "inputs given by the caller" if state.inputs is not None else None


def _plan(state: BuildState) -> None:
    inputs = state.the_inputs
    state.plan = make_plan(inputs, state.options.targets, state.options.components)
    if state.options.previous is not None:  # before a long build, not after
        check_successor(state.plan.version, state.options.previous)
    log_toolchains(inputs, inputs.paths.logs / "toolchains.log")
    state.out = state.options.out.resolve()
    output.check_out(state.out)


def _open_staging(state: BuildState) -> None:
    assert state.out is not None
    state.staging = state.stack.enter_context(output.staging_for(state.out))


def _run(state: BuildState) -> None:
    plan, staging, options = state.to_run or state.the_plan, state.the_staging, state.options
    digests = checks.DigestCache(options.jobs)
    checker = checks.Checker(plan, state.paths.cache, digests)
    archive_cache = state.paths.cache / "archives"
    state.digests = digests

    def finish(triple: str, staged: list[Staged]) -> None:
        # In the target's own thread, beside the targets still building.
        state.findings[triple] = checker.target(staged)
        if options.archive and state.findings[triple].clean:
            archived = record.archive(
                plan, triple, staged, staging, options.archive, archive_cache, digests
            )
            if archived is not None:
                state.archives[triple] = archived

    def stage_outputs(step: Step, produced: list[Path]) -> list[Staged]:
        return collect.collect(plan, staging, step, produced)

    runner = state.runner(plan, state.paths)
    state.staged, state.timings = run.run_plan(
        plan, options.jobs, state.reporter, stage_outputs, finish, runner
    )


def _prebuilt(state: BuildState) -> None:
    state.prebuilt = prebuilt.check(state.the_plan)
    prebuilt.warn(state.the_plan, state.prebuilt)


def _nothing_placed(state: BuildState) -> str | None:
    plan = state.the_plan
    if plan.dependencies.cargo_locks or any(s.place for s in plan.steps):
        return None
    return "no step was given a library where its sources expect one"


def _check(state: BuildState) -> None:
    plan = state.the_plan
    state.footprints = checks.verdict(
        state.findings[t] for t in plan.targets if t in state.findings
    )


def _abi(state: BuildState) -> None:
    state.abi_report = abi.run(
        state.the_plan, state.paths, _staticlibs(state), _abi_targets(state), state.options.jobs
    )
    abi.fail_on_findings(state.abi_report)
    state.abi = abi.records(state.abi_report)


def _no_c_boundary(state: BuildState) -> str | None:
    return None if _abi_targets(state) else "no Go program links a staticlib through cgo"


def _abi_targets(state: BuildState) -> list[str]:
    return abi.checked_targets(state.the_plan)


def _staticlibs(state: BuildState) -> dict[tuple[str, str], Path]:
    return {
        (s.target, s.component): s.src
        for s in state.staged
        if s.kind == "staticlib" and s.target and s.component
    }


def _universal(state: BuildState) -> None:
    assert state.digests is not None, "the run stage runs first"
    made, archived = universal.make(
        state.the_plan, state.staged, state.the_staging, state.options.archive,
        state.paths.cache / "archives", state.digests,
    )  # fmt: skip
    state.staged += made
    state.archives.update({UNIVERSAL_APPLE: archived} if archived else {})


def _record(state: BuildState) -> None:
    plan, staging = state.the_plan, state.the_staging
    order = [*plan.targets, UNIVERSAL_APPLE]
    state.staged += [state.archives[t] for t in order if t in state.archives]
    digests = state.digests
    assert digests is not None, "the run stage runs first"
    state.artifacts = [
        record.artifact(staging, s, plan.source_date_epoch, digests, state.footprints.get(s.rel))
        for s in state.staged
    ]
    state.manifest = record.manifest(
        plan, state.artifacts, state.abi, state.options.previous, state.prebuilt
    )
    write_manifest_file(staging, state.manifest)


def _attest(state: BuildState) -> None:
    assert state.manifest is not None
    inputs = state.the_inputs
    probe = Probe(
        inputs.loaded, inputs.tools, environ.probe_env(), inputs.offline, state.paths.cache
    )
    attest.attest_build(state.the_staging, state.manifest, probe, state.options.attest)


def _output(state: BuildState) -> None:
    assert state.out is not None
    output.settle_times(state.the_staging, state.the_plan.source_date_epoch)
    output.swap_into_place(state.the_staging, state.out)
    seconds = round(time.monotonic() - state.started, 3)
    state.result = BuildResult(
        out=str(state.out),
        manifest=str(state.out / MANIFEST_NAME),
        artifacts=state.artifacts,
        steps=state.timings,
        seconds=seconds,
        cpu_seconds=round(sum(t.cpu_seconds for t in state.timings), 3),
        checksum=measure.checksum_time(state.out, state.artifacts),
        machine=measure.machine(),
    )
    atomic_write(
        state.paths.logs / "build-report.json", state.result.model_dump_json(indent=2).encode()
    )


FRESH = Stage("fresh", _fresh)
GATHER = Stage("gather", _gather, _inputs_given)
PLAN = Stage("plan", _plan)
STAGING = Stage("staging", _open_staging)
RUN = Stage("run", _run)
PREBUILT = Stage("prebuilt", _prebuilt, _nothing_placed)
CHECK = Stage("check", _check)
ABI = Stage("abi", _abi, _no_c_boundary)
UNIVERSAL = Stage("universal", _universal, lambda state: universal.skip(state.the_plan))
RECORD = Stage("record", _record)
ATTEST = Stage("attest", _attest)
OUTPUT = Stage("output", _output)
REMEMBER = Stage("remember", _remember)

BUILD: tuple[Stage, ...] = (
    FRESH, GATHER, PLAN, STAGING, RUN, PREBUILT, CHECK, ABI, UNIVERSAL, RECORD, ATTEST, OUTPUT,
    REMEMBER,
)  # fmt: skip


def build(
    loaded: LoadedConfig,
    options: BuildOptions,
    reporter: Reporter,
    *,
    runner: run.RunnerFactory = run.Runner,
    inputs: PlanInputs | None = None,
    seen: fresh.Seen | None = None,
    stages: Sequence[Stage] = BUILD,
) -> BuildResult:
    """Run ``stages`` over one state. ``inputs``: what gathering would find
    (a test's); ``seen``: the inputs as :func:`fresh.seen` just took them."""
    with ExitStack() as stack:
        state = BuildState(loaded, options, reporter, runner, stack, inputs=inputs, seen=seen)
        run_stages(stages, state)
    assert state.result is not None
    return state.result


# --- `relbuild abi`: the same pipeline, limited to what the check reads ---------------


def _plan_staticlibs(state: BuildState) -> None:
    inputs = state.the_inputs
    full = make_plan(inputs, state.options.targets, ())
    chosen = abi.checked_targets(full)
    if not chosen:
        raise ConfigError(
            f"{state.loaded.path}: no Go program links a staticlib through cgo on "
            f"{', '.join(full.targets)}; there is no C boundary to check"
        )
    state.plan = full.model_copy(
        update={"steps": [s for s in full.steps if s.target in chosen], "targets": chosen}
    )
    steps = [s for t in chosen for s in abi.checked_libraries(full, t)]
    state.to_run = full.model_copy(update={"steps": steps, "targets": chosen})


def _run_staticlibs(state: BuildState) -> None:
    plan = state.to_run or state.the_plan
    runner = state.runner(plan, state.paths)
    state.staged, state.timings = run.run_plan(
        plan, state.options.jobs, state.reporter, collect.hand_over, lambda *_: None, runner
    )


def _abi_report(state: BuildState) -> None:
    plan, jobs = state.the_plan, state.options.jobs
    state.abi_report = abi.run(plan, state.paths, _staticlibs(state), plan.targets, jobs)


ABI_ONLY: tuple[Stage, ...] = (
    GATHER,
    Stage("plan", _plan_staticlibs),
    Stage("run", _run_staticlibs),
    Stage("abi", _abi_report),
)


def abi_only(
    loaded: LoadedConfig,
    options: BuildOptions,
    reporter: Reporter,
    *,
    runner: run.RunnerFactory = run.Runner,
) -> AbiReport:
    """`relbuild abi`: build only the staticlibs that cgo programs link
    (cargo's own cache makes this cheap after a build), hand their headers
    over as the build does, then check. No Go program is linked."""
    with ExitStack() as stack:
        state = BuildState(loaded, options, reporter, runner, stack)
        run_stages(ABI_ONLY, state)
    assert state.abi_report is not None
    return state.abi_report
