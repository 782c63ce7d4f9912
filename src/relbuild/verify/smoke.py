"""`relbuild test`: run each artifact's configured smoke test from a dist.

Linux programs run natively when the host can, else under qemu-user;
firmware runs under qemu-system (semihosting on, so it prints and exits);
x86_64 Windows programs run under wine64, in the prefix relbuild owns
(runners/wine.py). What nothing here can run (macOS, arm64 Windows) is
"not-run": shown and counted, never passed, and no failure. Results are
reported, never written into the dist: they are not part of what must
reproduce.
"""

from __future__ import annotations

import os
import platform
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, computed_field

from relbuild.config import LoadedConfig
from relbuild.config.models import QemuConfig, SmokeTest
from relbuild.config.triples import (
    TRIPLES,
    UNIVERSAL_APPLE,
    UNIVERSAL_SLICES,
    Triple,
    host_arch,
    is_apple,
    is_windows,
    runs_here,
)
from relbuild.errors import ToolchainError, UsageError
from relbuild.release.dist import load_manifest, locate
from relbuild.release.safefs import safe_relpath
from relbuild.runners import wine
from relbuild.system import environ, proc
from relbuild.verify import boot


class SmokeResult(BaseModel):
    path: str
    target: str
    component: str
    # "not-run": configured, but nothing on this machine runs the program
    # (``reason`` says what is missing); never counted as passed.
    status: Literal["passed", "failed", "timed-out", "skipped", "not-run"]
    runner: list[str] = []
    exit_code: int | None = None
    expected_exit_code: int | None = None
    seconds: float = 0.0
    reason: str = ""
    output_tail: str = ""
    # Firmware: guest instructions to its exit, counted under -icount
    # (verify/boot.py), and the `boot-instructions` budget that applied.
    boot_instructions: int | None = None
    boot_budget: int | None = None


class SmokeReport(BaseModel):
    folder: str
    results: list[SmokeResult]

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


def not_run_reason(triple: Triple) -> str | None:
    """Why nothing here runs the triple's programs, or None when something does.
    QEMU and Wine are used on Linux only: a Mac runs only its own programs."""
    if platform.system() == "Darwin" and not is_apple(triple):
        return "a macOS runner runs only macOS programs"
    if is_apple(triple) and not runs_here(triple):
        return "no macOS runner" if platform.system() != "Darwin" else "another Mac architecture"
    if is_windows(triple) and host_arch() != triple.arch:
        return f"no {'arm64' if triple.arch == 'aarch64' else triple.arch} Windows runner here"
    return None


def runner_argv(
    triple: Triple,
    exe: Path,
    test: SmokeTest,
    qemu: QemuConfig | None,
    windows: wine.WineRunner | None = None,
) -> list[str]:
    """How to start ``exe``: natively, under qemu-user, in qemu-system, or
    (Windows) under ``windows``, the Wine runner."""
    if is_windows(triple):
        if windows is None:
            raise ToolchainError(f"{exe.name}: a Windows program needs the Wine runner")
        return windows.command(exe, test.args)
    if triple.bare_metal:
        assert triple.qemu_system is not None
        machine = (qemu.machine if qemu else None) or triple.qemu_machine
        argv = [
            triple.qemu_system,
            "-machine",
            str(machine),
            "-nographic",
            "-monitor",
            "none",
            "-semihosting-config",
            "enable=on,target=native",
        ]
        if qemu and qemu.cpu:
            argv += ["-cpu", qemu.cpu]
        if triple.arch.startswith("riscv"):
            argv += ["-bios", "none"]
        argv += [*(qemu.args if qemu else []), "-kernel", str(exe)]
        if test.args:
            argv += ["-append", " ".join(test.args)]
        return argv
    host = host_arch()
    if runs_here(triple) and qemu is None:
        return [str(exe), *test.args]
    assert triple.qemu_user is not None
    # A dynamically linked -gnu program of another architecture loads its
    # glibc from Debian's cross sysroot (libc6-<arch>-cross).
    sysroot = ["-L", triple.gnu_sysroot] if triple.gnu_sysroot and host != triple.arch else []
    return [triple.qemu_user, *sysroot, *(qemu.args if qemu else []), str(exe), *test.args]


def test(loaded: LoadedConfig, arg: Path, jobs: int | None = None) -> SmokeReport:
    folder, manifest_path = locate(arg)
    manifest = load_manifest(manifest_path)
    config = loaded.config
    targets = {t.triple: t for t in config.targets}
    jobs_list: list[tuple[SmokeResult, list[str], SmokeTest, dict[str, str]]] = []
    results: list[SmokeResult] = []
    windows: wine.WineRunner | None = None
    for art in manifest.artifacts:
        if art.kind not in ("executable", "firmware") or not art.target or not art.component:
            continue
        base = SmokeResult(
            path=art.path, target=art.target, component=art.component, status="skipped"
        )
        comp = config.rust.get(art.component) or config.go.get(art.component)
        test = comp.test if comp is not None else None
        # A universal macOS program runs where an arm64 one does (not here).
        slice_ = UNIVERSAL_SLICES[1] if art.target == UNIVERSAL_APPLE else art.target
        triple = TRIPLES.get(slice_)
        if test is None or triple is None:
            base.reason = "no test configured for this component"
            results.append(base)
            continue
        why = safe_relpath(art.path)
        exe = folder / art.path
        if why or exe.is_symlink() or not exe.is_file():
            raise UsageError(
                f"{art.path}: cannot run it ({why or 'missing or not a file'}); "
                "run `relbuild verify` first"
            )
        target = targets.get(art.target)
        missing = not_run_reason(triple)
        if missing is not None:
            base.status, base.reason = "not-run", f"not run ({missing})"
            results.append(base)
            continue
        env = environ.probe_env()
        if is_windows(triple):
            # Made once for all the Windows programs (the prefix, once per machine).
            windows = windows or wine.runner(config.toolchains.zig, env)
            env = windows.env
        argv = runner_argv(triple, exe.resolve(), test, target.qemu if target else None, windows)
        if triple.bare_metal:
            budgets = [b for b in (getattr(comp, "budget", None), target and target.budget) if b]
            base.boot_budget = min(
                (b.boot_instructions for b in budgets if b.boot_instructions is not None),
                default=None,
            )
        if proc.which(argv[0]) is None:
            raise ToolchainError(
                f"{argv[0]} is needed to run {art.path}",
                hint="Debian: qemu-user, qemu-system-arm, qemu-system-misc",
            )
        jobs_list.append((base, argv, test, env))
        results.append(base)
    if not jobs_list and not any(r.status == "not-run" for r in results):
        raise UsageError(
            f"{manifest_path}: no artifact has a smoke test configured",
            hint='Add `test = { expect = "..." }` to a component in toolchains.toml.',
        )
    with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        list(pool.map(lambda job: _run(*job), jobs_list))
    return SmokeReport(folder=str(folder), results=results)


def _run(
    result: SmokeResult, argv: list[str], test: SmokeTest, env: dict[str, str] | None = None
) -> None:
    env = environ.probe_env() if env is None else env
    result.runner = argv
    result.expected_exit_code = test.exit_code
    t0 = time.monotonic()
    if argv[0].startswith("qemu-system-"):
        with boot.counting() as (extra, counter):
            res = proc.run([argv[0], *extra, *argv[1:]], **_limits(test, env))
        result.boot_instructions = counter.count
    else:
        res = proc.run(argv, **_limits(test, env))
    result.seconds = round(time.monotonic() - t0, 2)
    result.exit_code = res.returncode
    # proc.run reads in text mode: a Windows program's CRLF is LF here, so
    # `$` in `expect` matches at the end of its lines.
    output = res.stdout + res.stderr
    result.output_tail = proc.tail(output, 10)
    if res.timed_out:
        result.status = "timed-out"
        result.reason = f"still running after {test.timeout:g} s; killed"
    elif res.returncode != test.exit_code:
        result.status = "failed"
        result.reason = f"exit code {res.returncode}, expected {test.exit_code}"
    elif not re.search(test.expect, output, re.MULTILINE):
        result.status = "failed"
        result.reason = f"output does not match {test.expect!r}"
    elif result.boot_budget is not None and (result.boot_instructions or 0) > result.boot_budget:
        result.status = "failed"
        result.reason = (
            f"{result.boot_instructions} guest instructions to its exit, more than its "
            f"boot-instructions budget of {result.boot_budget}"
        )
    else:
        result.status = "passed"


def _limits(test: SmokeTest, env: dict[str, str]) -> dict[str, Any]:
    return {"check": False, "timeout": test.timeout, "env": env}
