"""Running the plan: targets side by side (``jobs`` at a time), the steps of
one target in order, each through :func:`run_step`. The first failure stops
every target from starting another step; results, timings and the error
reported are taken in the plan's fixed order, whatever order the threads
finished in.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

from relbuild.backends import BACKENDS
from relbuild.backends.base import BuildPaths, Step
from relbuild.backends.zig import write_cc_wrapper
from relbuild.errors import BuildError, CommandError
from relbuild.pipeline.model import Plan, Staged, StepTiming
from relbuild.system import environ, proc, sandbox
from relbuild.system.fsutil import atomic_write
from relbuild.system.progress import Reporter

# What becomes of a finished step's outputs (staging them); called in the
# step's own thread, before the next step of its target starts.
Collect = Callable[[Step, list[Path]], list[Staged]]
# What is done with a target's staged files once all its steps are done
# (checks, its archive); called in the target's thread too.
Finish = Callable[[str, list[Staged]], None]


class StepRunner(Protocol):
    """What runs one step: :class:`Runner` starts the tool; a unit test's
    fake makes the outputs itself."""

    def step(
        self, step: Step, releases: dict[str, str], reporter: Reporter
    ) -> tuple[list[Path], float, float]:
        """The step's outputs, its wall time and the CPU time of its processes."""


# Makes the runner of one plan (the build injects it: pypa/build's runner=).
RunnerFactory = Callable[[Plan, BuildPaths], StepRunner]


class _CancelledError(Exception):
    pass


def run_plan(
    plan: Plan,
    jobs: int,
    reporter: Reporter,
    collect: Collect,
    finish: Finish,
    runner: StepRunner,
) -> tuple[list[Staged], list[StepTiming]]:
    releases = {name: tool.release for name, tool in plan.toolchains.items()}
    cancel = threading.Event()
    results: dict[str, list[Staged]] = {}
    errors: dict[str, BaseException] = {}
    times: dict[tuple[str, str], StepTiming] = {}

    def target(triple: str) -> list[Staged]:
        staged: list[Staged] = []
        for step in plan.steps_for(triple):
            if cancel.is_set():
                raise _CancelledError
            produced, seconds, cpu = runner.step(step, releases, reporter)
            times[(step.target, step.component)] = _timing(step, seconds, cpu)
            staged += collect(step, produced)
        finish(triple, staged)
        return staged

    def work(triple: str) -> None:
        try:
            results[triple] = target(triple)
        except BaseException as exc:
            cancel.set()  # start nothing new elsewhere
            errors[triple] = exc

    if jobs <= 1:
        for triple in plan.targets:
            work(triple)
            if errors:
                break
    else:
        with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="relbuild") as pool:
            list(pool.map(work, plan.targets))
    timings = [
        times[(s.target, s.component)] for s in plan.steps if (s.target, s.component) in times
    ]
    for triple in plan.targets:
        if triple in errors and not isinstance(errors[triple], _CancelledError):
            raise errors[triple]
    return [s for t in plan.targets for s in results.get(t, [])], timings


class Runner:
    """Runs the steps of one plan, each in the sandbox the plan's layout
    describes (or at the host's paths when it describes none). Every child
    process of a build starts in :meth:`execute`."""

    def __init__(self, plan: Plan, paths: BuildPaths) -> None:
        self.plan = plan
        self.paths = paths
        self.layout = plan.layout
        self.bwrap: str | None = None
        if self.layout.sandboxed:
            self.bwrap = sandbox.find_bwrap()
            if self.bwrap is None:
                raise BuildError(
                    "the build runs in a bubblewrap sandbox, and `bwrap` is not installed",
                    hint=sandbox.ENABLE_HINT,
                )
            sandbox.prepare(self.layout)

    def execute(
        self,
        argv: list[str],
        env: dict[str, str],
        cwd: str,
        log: Path,
        place: Mapping[str, str] | None = None,
    ) -> proc.Result:
        """Run a command of the build (host paths in, as planned), with the
        files of ``place`` (project-relative path -> host file) shown in the
        source tree."""
        inner_argv, inner_env, inner_cwd = sandbox.step_view(argv, env, cwd, self.layout)
        if place and self.bwrap is None:
            raise BuildError(
                f"the build must place {', '.join(sorted(place))} in the source tree, where "
                "the sources expect it, and only the sandbox can do that without writing "
                "into the tree",
                hint='Remove `sandbox = "none"` from [project] (bubblewrap is needed).',
            )
        if self.bwrap is not None:
            root = Path(self.plan.root)
            inside = {self.layout.inside(root / rel): host for rel, host in (place or {}).items()}
            inner_argv = sandbox.wrap(
                inner_argv,
                cwd=inner_cwd,
                layout=self.layout,
                bwrap=self.bwrap,
                network=not self.plan.offline,
                placed=inside,
            )
            with log.open("a") as fh:
                fh.write(f"# in the sandbox: {proc.quote(inner_argv)}\n")
        return proc.run(inner_argv, env=inner_env, cwd=cwd, log=log, umask=environ.UMASK)

    def step(
        self, step: Step, releases: dict[str, str], reporter: Reporter
    ) -> tuple[list[Path], float, float]:
        produced, seconds, cpu = run_step(self, step, releases, reporter)
        return [Path(self.layout.outside(p)) for p in produced], seconds, cpu


def run_step(
    runner: Runner, step: Step, releases: dict[str, str], reporter: Reporter
) -> tuple[list[Path], float, float]:
    """Run one step (or find it up to date): its outputs, the time taken and
    the CPU time of its process tree."""
    backend = BACKENDS[step.language]
    paths = runner.paths
    label = f"{step.target} {step.component}"
    log = Path(step.log)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(f"$ cd {step.cwd}\n$ {proc.quote(step.argv)}\n")
    for cc in (step.cc, step.host_cc):
        if cc is not None:
            write_cc_wrapper(cc, runner.layout.rewrite)
    reporter.start(label)
    t0 = time.monotonic()
    stamp = paths.stamp(step)
    digest = backend.fingerprint(step, releases, paths)
    if (
        digest is not None
        and step.output is not None
        and Path(step.output).is_file()
        and stamp.is_file()
        and stamp.read_text() == digest
    ):
        with log.open("a") as fh:
            fh.write("# up to date: inputs unchanged since the last build\n")
        seconds = time.monotonic() - t0
        reporter.finish(label + " (up to date)", seconds, ok=True)
        return backend.outputs(step, ""), seconds, 0.0
    stamp.unlink(missing_ok=True)
    try:
        for rel, host in sorted(step.place.items()):
            if not Path(host).is_file():
                raise BuildError(
                    f"step {step.target} / {step.component}: {rel} should be placed from "
                    f"{host}, which its own step did not make"
                )
        # The placed files' digest matters only to a step that refreshes
        # when they change: only such a step hashes them (they may be large).
        placed = _placed_digest(step) if step.refresh else ""
        placed_stamp = stamp.with_suffix(".placed")
        if placed and (not placed_stamp.is_file() or placed_stamp.read_text() != placed):
            runner.execute(step.refresh, step.env, step.cwd, log, step.place)
        res = runner.execute(step.argv, step.env, step.cwd, log, step.place)
        if placed:
            atomic_write(placed_stamp, placed.encode())
    except CommandError as exc:
        reporter.finish(label, time.monotonic() - t0, ok=False)
        causes = first_errors(log.read_text(errors="replace"))
        cause = "first errors:\n" + "\n".join(causes) + "\n" if causes else ""
        raise BuildError(
            f"step {step.target} / {step.component} ({step.tool}) failed with exit code "
            f"{exc.returncode}\ncommand: {proc.quote(step.argv)}\n{cause}last lines of {log}:\n"
            f"{exc.output_tail}"
        ) from None
    if digest is not None:
        atomic_write(stamp, digest.encode())
    if step.handoff is not None:
        for name, text in backend.handoff_notes(step, res.output).items():
            note = Path(step.handoff) / "lib" / name
            if not note.is_file() or note.read_text() != text:
                atomic_write(note, text.encode())
    seconds = time.monotonic() - t0
    reporter.finish(label, seconds, ok=True)
    return backend.outputs(step, res.output), seconds, res.cpu_seconds


def _placed_digest(step: Step) -> str:
    h = hashlib.sha256()
    for rel, host in sorted(step.place.items()):
        h.update(f"{rel}\0{hashlib.sha256(Path(host).read_bytes()).hexdigest()}\n".encode())
    return h.hexdigest()


def _timing(step: Step, seconds: float, cpu: float) -> StepTiming:
    return StepTiming(
        target=step.target,
        component=step.component,
        tool=step.tool,
        seconds=round(seconds, 3),
        cpu_seconds=round(cpu, 3),
        log=step.log,
    )


# What a compiler or linker says first when it fails: the cause, usually far
# above the tail of the log.
_CAUSE = re.compile(
    r"error\[E\d+\]|^error(?:\[|:)|undefined symbol|undefined reference|cannot find|"
    r"could not find|not found for architecture|fatal error|ld(?:\.lld)?: error|"
    r"cannot use .* as|undefined: ",
)


def first_errors(output: str, limit: int = 8) -> list[str]:
    """The first distinct lines of ``output`` that state an error's cause
    (rustc's error[E...], a linker's undefined symbol, go's undefined: ...)."""
    found: list[str] = []
    for line in output.splitlines():
        text = line.strip()
        if text.startswith('{"reason":'):
            continue  # cargo's JSON messages repeat what it rendered
        if _CAUSE.search(text) and text not in found:
            found.append(text[:300])
            if len(found) >= limit:
                break
    return found
