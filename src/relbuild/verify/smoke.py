"""`relbuild test`: run each artifact's configured smoke test from a dist.

Linux programs run natively when the host can, else under qemu-user;
firmware runs under qemu-system (semihosting on, so it prints and exits).
Results are reported, never written into the dist: they are not part of
what must reproduce.
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
from relbuild.config.triples import TRIPLES, Triple
from relbuild.errors import ToolchainError, UsageError
from relbuild.release.dist import load_manifest, locate
from relbuild.release.safefs import safe_relpath
from relbuild.system import environ, proc
from relbuild.verify import boot

_HOST_ARCH = {
    "x86_64": "x86_64",
    "amd64": "x86_64",
    "aarch64": "aarch64",
    "arm64": "aarch64",
    "riscv64": "riscv64",
}


class SmokeResult(BaseModel):
    path: str
    target: str
    component: str
    status: Literal["passed", "failed", "timed-out", "skipped"]
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
        ran = [r for r in self.results if r.status != "skipped"]
        return bool(ran) and all(r.status == "passed" for r in ran)


def runs_natively(triple: Triple) -> bool:
    """Whether this machine runs the triple's programs without QEMU."""
    return _HOST_ARCH.get(platform.machine().lower()) == triple.arch


def runner_argv(triple: Triple, exe: Path, test: SmokeTest, qemu: QemuConfig | None) -> list[str]:
    """How to start ``exe``: natively, under qemu-user, or in qemu-system."""
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
    host = _HOST_ARCH.get(platform.machine().lower())
    if runs_natively(triple) and qemu is None:
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
    jobs_list: list[tuple[SmokeResult, list[str], SmokeTest]] = []
    results: list[SmokeResult] = []
    for art in manifest.artifacts:
        if art.kind not in ("executable", "firmware") or not art.target or not art.component:
            continue
        base = SmokeResult(
            path=art.path, target=art.target, component=art.component, status="skipped"
        )
        comp = config.rust.get(art.component) or config.go.get(art.component)
        test = comp.test if comp is not None else None
        triple = TRIPLES.get(art.target)
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
        argv = runner_argv(triple, exe.resolve(), test, target.qemu if target else None)
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
        jobs_list.append((base, argv, test))
        results.append(base)
    if not jobs_list:
        raise UsageError(
            f"{manifest_path}: no artifact has a smoke test configured",
            hint='Add `test = { expect = "..." }` to a component in toolchains.toml.',
        )
    with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        list(pool.map(lambda job: _run(*job), jobs_list))
    return SmokeReport(folder=str(folder), results=results)


def _run(result: SmokeResult, argv: list[str], test: SmokeTest) -> None:
    result.runner = argv
    result.expected_exit_code = test.exit_code
    t0 = time.monotonic()
    if argv[0].startswith("qemu-system-"):
        with boot.counting() as (extra, counter):
            res = proc.run([argv[0], *extra, *argv[1:]], **_limits(test))
        result.boot_instructions = counter.count
    else:
        res = proc.run(argv, **_limits(test))
    result.seconds = round(time.monotonic() - t0, 2)
    result.exit_code = res.returncode
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


def _limits(test: SmokeTest) -> dict[str, Any]:
    return {"check": False, "timeout": test.timeout, "env": environ.probe_env()}
