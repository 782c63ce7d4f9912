"""`relbuild test --unit`: the project's own unit tests, with coverage.

Each Rust workspace runs ``cargo test`` on the host (its firmware packages
excluded: they run in qemu-system as smoke tests; a ``no_std`` library
written ``#![cfg_attr(not(test), no_std)]`` has std for its tests there),
with the environment of its host step. Each Go module runs ``go test
./...`` for every target its programs are built for: natively, or under
qemu-user (``go test -exec``) for other architectures, with cgo off, so the
pure-Go side is what runs (the cgo side is the build's smoke test). Windows
and macOS targets are "not-run": the build's sandbox has no Wine prefix, and
nothing here runs macOS programs (`relbuild test` runs the Windows programs).
Commands run through the build's runner, so in the same sandbox as the
build steps.

``coverage = { min = N }`` on a component makes the run measure coverage
and fail under N percent: Go's own ``-cover`` (statements), Rust's
``-C instrument-coverage`` read with the llvm-profdata and llvm-cov of the
LLVM release rustc was built with (Debian's ``llvm-<major>``; lines of the
workspace, dependencies left out).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, computed_field

from relbuild.backends.base import Step
from relbuild.backends.rust import artifact_messages
from relbuild.backends.zig import write_cc_wrapper
from relbuild.config import LoadedConfig, triples
from relbuild.config.triples import TRIPLES, Triple, is_apple, is_windows
from relbuild.errors import CommandError, ToolchainError
from relbuild.pipeline import coverage, run
from relbuild.pipeline.gather import gather
from relbuild.pipeline.model import Plan
from relbuild.pipeline.options import BuildOptions
from relbuild.pipeline.plan import plan as make_plan
from relbuild.system import proc
from relbuild.system.fsutil import find_up


class UnitResult(BaseModel):
    language: Literal["rust", "go"]
    path: str  # the workspace or module, relative to the project root
    components: list[str]
    target: str
    status: Literal["passed", "failed", "skipped", "not-run"]
    runner: list[str] = []
    seconds: float = 0.0
    coverage: float | None = None  # percent
    coverage_min: float | None = None
    reason: str = ""
    log: str = ""
    output_tail: str = ""


class UnitReport(BaseModel):
    results: list[UnitResult]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        """No test failed, and one passed or could not run here."""
        ran = [r for r in self.results if r.status not in ("skipped", "not-run")]
        return bool(ran or self.not_run) and all(r.status == "passed" for r in ran)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def not_run(self) -> int:
        return sum(r.status == "not-run" for r in self.results)


def unit_tests(loaded: LoadedConfig, options: BuildOptions) -> UnitReport:
    inputs = gather(loaded, options)
    plan = make_plan(inputs, options.targets, options.components)
    runner = run.Runner(plan, inputs.paths)
    work = inputs.paths.cache / "unit"
    results = [*_rust(loaded, plan, runner, work), *_go(loaded, plan, runner, work)]
    return UnitReport(results=results)


def _floor(loaded: LoadedConfig, names: list[str]) -> float | None:
    config = loaded.config
    mins = [
        c.coverage.min
        for n in names
        for c in (config.rust.get(n), config.go.get(n))
        if c is not None and c.coverage is not None
    ]
    return max(mins, default=None)


def _prepare(step: Step, runner: run.Runner) -> None:
    for cc in (step.cc, step.host_cc):
        if cc is not None:
            write_cc_wrapper(cc, runner.layout.rewrite)


def _execute(
    result: UnitResult,
    runner: run.Runner,
    argv: list[str],
    env: dict[str, str],
    cwd: str,
    place: dict[str, str] | None = None,
) -> proc.Result | None:
    log = Path(result.log)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(f"$ cd {cwd}\n$ {proc.quote(argv)}\n")
    t0 = time.monotonic()
    try:
        res = runner.execute(argv, env, cwd, log, place)
    except CommandError as exc:
        result.status, result.reason = "failed", exc.message
        result.output_tail = exc.output_tail or ""
        return None
    finally:
        result.seconds = round(time.monotonic() - t0, 2)
    result.status = "passed"
    return res


def _judge(result: UnitResult, percent: float | None) -> None:
    result.coverage = None if percent is None else round(percent, 2)
    if result.coverage_min is None or result.status != "passed":
        return
    if percent is None or percent < result.coverage_min:
        result.status = "failed"
        result.reason = (
            f"coverage {result.coverage}% is below its minimum of {result.coverage_min:g}%"
        )


def _rust(loaded: LoadedConfig, plan: Plan, runner: run.Runner, work: Path) -> list[UnitResult]:
    config = loaded.config
    out: list[UnitResult] = []
    for path in dict.fromkeys(c.path for c in config.rust.values()):
        names = [n for n, c in config.rust.items() if c.path == path]
        firmware = [config.rust[n].package or n for n in names if config.rust[n].kind == "firmware"]
        host = next((s for s in plan.steps if s.component in names and _native(s.target)), None)
        result = UnitResult(
            language="rust", path=path, components=names, target=host.target if host else "",
            status="skipped", coverage_min=_floor(loaded, names),
            log=str(work / "logs" / f"rust-{_slug(path)}.log"),
        )  # fmt: skip
        out.append(result)
        if host is None:
            result.reason = "no component of this workspace is built for this machine"
            continue
        _prepare(host, runner)
        # Test binaries are not shipped: the host's own C linker links them
        # (zig's refuses the profiler runtime's `-u` of coverage builds).
        env = {k: v for k, v in host.env.items() if not k.endswith("_LINKER")}
        env["CARGO_TARGET_DIR"] = str(work / "cargo")
        profiles = work / "profiles" / _slug(path)
        if result.coverage_min is not None:
            coverage.clear(profiles)
            flags = env.get("CARGO_ENCODED_RUSTFLAGS", "")
            env["CARGO_ENCODED_RUSTFLAGS"] = "\x1f".join(
                [*filter(None, [flags]), "-C", "instrument-coverage"]
            )
            env["LLVM_PROFILE_FILE"] = str(profiles / "%p-%m.profraw")
        excluded = [a for p in firmware for a in ("--exclude", p)]
        argv = [
            host.argv[0], "test", "--locked", "--message-format=json-render-diagnostics",
            "--workspace", *excluded, "--target", host.target,
        ]  # fmt: skip
        res = _execute(result, runner, argv, env, host.cwd, host.place)
        if res is None or result.coverage_min is None:
            continue
        tests = [runner.layout.outside(p) for p in _test_executables(res.stdout)]
        llvm = plan.toolchains["rust"].details.get("llvm", "")
        try:
            percent = coverage.rust_lines(profiles, tests, llvm, work / "rust.profdata")
        except (ToolchainError, CommandError) as exc:
            result.status, result.reason = "failed", f"coverage could not be read: {exc.message}"
            continue
        _judge(result, percent)
    return out


def _go(loaded: LoadedConfig, plan: Plan, runner: run.Runner, work: Path) -> list[UnitResult]:
    config = loaded.config
    out: list[UnitResult] = []
    seen: set[tuple[str, str]] = set()
    for step in plan.steps:
        comp = config.go.get(step.component) if step.language == "go" else None
        if comp is None or (comp.path, step.target) in seen:
            continue
        seen.add((comp.path, step.target))
        names = [n for n, c in config.go.items() if c.path == comp.path]
        triple = TRIPLES[step.target]
        log = work / "logs" / f"go-{_slug(comp.path)}-{step.target}.log"
        result = UnitResult(
            language="go", path=comp.path, components=names, target=step.target,
            status="skipped", coverage_min=_floor(loaded, names), log=str(log),
        )  # fmt: skip
        out.append(result)
        if find_up(Path(step.cwd), Path(plan.root), "go.mod") is None:
            result.reason = "Go files built by name with no go.mod: no package to test"
            continue
        missing = not_run_reason(triple)
        if missing is not None:
            result.status, result.reason = "not-run", f"not run ({missing})"
            continue
        exec_args: list[str] = []
        if not _native(step.target):
            if triple.qemu_user is None or proc.which(triple.qemu_user) is None:
                result.reason = f"{triple.qemu_user or 'qemu-user'} is not installed"
                continue
            sysroot = ["-L", triple.gnu_sysroot] if triple.gnu_sysroot else []
            result.runner = [triple.qemu_user, *sysroot]
            exec_args = ["-exec", " ".join(result.runner)]
        env = {**step.env, "CGO_ENABLED": "0"}
        profile = work / "profiles" / f"go-{_slug(comp.path)}-{step.target}.out"
        profile.parent.mkdir(parents=True, exist_ok=True)
        profile.unlink(missing_ok=True)
        argv = [
            step.argv[0], "test", "-count=1", "-cover", f"-coverprofile={profile}",
            *exec_args, "./...",
        ]  # fmt: skip
        if _execute(result, runner, argv, env, step.cwd, step.place) is None:
            continue
        _judge(result, coverage.go_statements(profile) if profile.is_file() else None)
    return out


def not_run_reason(triple: Triple) -> str | None:
    """Why the unit tests of a Go module for ``triple`` do not run here."""
    if is_apple(triple):
        return "no macOS runner"
    if is_windows(triple):
        return "Windows unit tests under Wine do not run in the build's sandbox yet"
    return None


def _native(triple: str) -> bool:
    info = TRIPLES.get(triple)
    return info is not None and triples.runs_here(info)


def _slug(path: str) -> str:
    return path.strip("./").replace("/", "-") or "root"


def _test_executables(stdout: str) -> list[str]:
    """The test binaries cargo built, from its JSON messages."""
    return [
        msg["executable"]
        for msg in artifact_messages(stdout)
        if isinstance(msg.get("profile"), dict)
        and msg["profile"].get("test")
        and isinstance(msg.get("executable"), str)
    ]
