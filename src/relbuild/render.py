"""Rendering core results for people (stderr)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from relbuild import proc
from relbuild.doctor import DoctorReport
from relbuild.planner import Plan

if TYPE_CHECKING:
    from relbuild.diffing import DiffReport
    from relbuild.verify import VerifyReport
from relbuild.ui import err, table


def render_doctor(report: DoctorReport) -> None:
    tools = table(
        f"Toolchains pinned in {report.config}", ["tool", "pinned", "found", "path", "status"]
    )
    for row in report.tools:
        tools.add_row(row.tool, row.pinned, row.found or "-", row.path or "-", row.status)
    err.print(tools)
    needs = table("Target needs", ["target", "need", "status", "detail"])
    for check in report.checks:
        status = "ok" if check.ok else "skipped" if check.skipped else "MISSING"
        needs.add_row(check.subject, check.need, status, check.detail)
    err.print(needs)
    fixes = [(r.tool, r.fix) for r in report.tools if r.fix] + [
        (f"{c.subject}: {c.need}", c.fix) for c in report.checks if c.fix
    ]
    for subject, fix in fixes:
        err.print(f"problem: {subject}\n  {fix}".replace("\n", "\n  "))
    if report.ok:
        err.print("doctor: every pin and target need is satisfied")
    else:
        err.print(f"doctor: {report.problems} problem(s)")


def render_plan(plan: Plan) -> None:
    err.print(
        f"plan: {plan.project} {plan.version}, SOURCE_DATE_EPOCH={plan.source_date_epoch}, "
        f"{len(plan.steps)} steps"
    )
    for n, step in enumerate(plan.steps, 1):
        err.print(f"\n[{n}/{len(plan.steps)}] {step.target} {step.component} ({step.tool})")
        err.print(f"  cwd: {step.cwd}")
        err.print(f"  argv: {proc.quote(step.argv)}")
        for key, value in sorted(step.env.items()):
            err.print(f"  env {key}={value!r}" if "\x1f" in value else f"  env {key}={value}")


def render_verify(report: VerifyReport) -> None:
    size = report.bytes_hashed / (1024 * 1024)
    if report.ok:
        err.print(
            f"verify: {report.folder} matches {report.manifest}: {report.artifacts} artifacts, "
            f"{size:.1f} MiB, SHA-256 and SHA-512"
        )
        return
    t = table(
        f"verify: {len(report.findings)} finding(s) in {report.folder}",
        ["finding", "path", "detail"],
    )
    for f in report.findings:
        t.add_row(f.kind, f.path, f.detail)
    err.print(t)


def render_diff(report: DiffReport) -> None:
    if report.same:
        err.print(f"diff: {report.old} and {report.new} describe the same release")
        return
    t = table(
        f"diff: {len(report.changes)} difference(s), {report.old} -> {report.new}",
        ["what", "change", "name", "old", "new"],
    )
    for c in report.changes:
        t.add_row(c.section, c.change, c.name, c.old or "-", c.new or "-")
    err.print(t)
