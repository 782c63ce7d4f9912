"""`relbuild doctor`: are the pinned toolchains and every target's needs here?"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, computed_field

from relbuild.backends import BACKENDS
from relbuild.backends.base import Check, Probe, ResolvedTool, ResolvedToolchains, need
from relbuild.backends.toolchains import RESOLVERS, needed_tools
from relbuild.config import LoadedConfig, TargetConfig, triples
from relbuild.errors import ToolchainError
from relbuild.runners import wine
from relbuild.system import proc, sandbox
from relbuild.verify.smoke import not_run_reason


class ToolRow(BaseModel):
    tool: str
    pinned: str
    found: str | None
    path: str | None
    via: str | None
    status: Literal["ok", "mismatch", "missing", "unpinned"]
    fix: str | None = None


class DoctorReport(BaseModel):
    config: str
    tools: list[ToolRow]
    checks: list[Check]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return all(t.status == "ok" for t in self.tools) and all(c.ok for c in self.checks)

    @property
    def problems(self) -> int:
        return sum(t.status != "ok" for t in self.tools) + sum(
            not c.ok and not c.skipped for c in self.checks
        )


def doctor(loaded: LoadedConfig, env: Mapping[str, str]) -> DoctorReport:
    config = loaded.config
    rows: list[ToolRow] = []
    resolved: dict[str, ResolvedTool] = {}
    for name in needed_tools(config):
        pin = getattr(config.toolchains, name)
        if pin is None:
            rows.append(
                ToolRow(
                    tool=name,
                    pinned="-",
                    found=None,
                    path=None,
                    via=None,
                    status="unpinned",
                    fix=f"add a [toolchains.{name}] table with `release`",
                )
            )
            continue
        pinned = pin.release + (f" ({pin.commit[:9]})" if getattr(pin, "commit", None) else "")
        try:
            tool = RESOLVERS[name](pin, env)
        except ToolchainError as exc:
            rows.append(
                ToolRow(
                    tool=name,
                    pinned=pinned,
                    found=exc.found,
                    path=None,
                    via=None,
                    status="mismatch" if exc.found else "missing",
                    fix=f"{exc.message}\n{exc.hint or ''}".strip(),
                )
            )
            continue
        resolved[name] = tool
        found = tool.release + (f" ({tool.commit[:9]})" if tool.commit else "")
        rows.append(
            ToolRow(
                tool=name,
                pinned=pinned,
                found=found,
                path=tool.executable,
                via=tool.found_via,
                status="ok",
            )
        )
    checks: list[Check] = []
    probe = Probe(loaded=loaded, tools=ResolvedToolchains(**resolved), env=env)
    if config.project.sandbox == "bwrap":
        checks.append(_sandbox_check(env))
    for target in config.targets:
        checks.extend(_target_checks(probe, target))
    return DoctorReport(config=str(loaded.path), tools=rows, checks=checks)


def _sandbox_check(env: Mapping[str, str]) -> Check:
    """Every build step runs in a bubblewrap sandbox: start one, as the
    build will, and say why not when it fails."""
    bwrap = sandbox.find_bwrap(env) or sandbox.find_bwrap()
    problem = sandbox.probe(bwrap)
    return Check(
        subject="build",
        need="sandbox (bubblewrap)",
        ok=problem is None,
        detail=problem or f"{bwrap}: a mount namespace starts",
        fix=None if problem is None else sandbox.ENABLE_HINT,
    )


def _target_checks(probe: Probe, target: TargetConfig) -> list[Check]:
    info = target.info
    kinds = {probe.loaded.config.component_kind(c) for c in target.components}
    checks: list[Check] = []
    for language, backend in BACKENDS.items():
        if language in kinds:
            checks.extend(backend.needs(probe, target))
    checks.extend(_wine_checks(probe, target))
    if target.qemu is not None:
        runner = info.qemu_system if info.bare_metal else info.qemu_user
        found = proc.which(runner, probe.env) if runner else None
        package = "qemu-system-arm / qemu-system-misc" if info.bare_metal else "qemu-user"
        detail = found or f"{runner} not found"
        fix = f"install {runner} (Debian: {package})"
        checks.append(need(target.triple, "qemu runner", found is not None, detail, fix))
        sysroot = info.gnu_sysroot
        if sysroot and not triples.runs_here(info):
            arch = {"aarch64": "arm64", "arm": "armhf"}.get(info.arch, info.arch)
            ok = Path(sysroot, "lib").is_dir()
            checks.append(
                need(
                    target.triple,
                    "glibc for qemu",
                    ok,
                    f"{sysroot} (qemu -L)" if ok else f"{sysroot} is missing",
                    f"install libc6-{arch}-cross (Debian): -gnu programs are linked "
                    "dynamically and qemu loads their glibc from there",
                )
            )
    return checks


def _wine_checks(probe: Probe, target: TargetConfig) -> list[Check]:
    """An x86_64 Windows target with a smoke test needs wine64 (the prefix
    and its shim are made on the first `relbuild test`); what nothing here
    runs (arm64 Windows, macOS) needs nothing: its test is "not-run"."""
    info = target.info
    if info.binary_format != "pe" or not_run_reason(info) or not _tested(probe, target):
        return []
    found = wine.find_wine64(probe.env)
    root = wine.prefix_root(probe.env)
    detail = f"{found} (prefix in {root})" if found else f"{wine.WINE64} not found"
    return [need(target.triple, "wine runner", found is not None, detail, wine.INSTALL_HINT)]


def _tested(probe: Probe, target: TargetConfig) -> bool:
    """Whether a component built for ``target`` has a smoke test."""
    config = probe.loaded.config
    comps = [config.rust.get(c) or config.go.get(c) for c in target.components]
    return any(c is not None and c.test is not None for c in comps)
