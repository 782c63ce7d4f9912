"""The ABI report for people: findings grouped by target, each with both
sides' file, line and declaration; and what was checked and agreed."""

from __future__ import annotations

from collections.abc import Sequence

from relbuild.abi.model import AbiReport, Finding
from relbuild.system.ui import err

ORIGIN = {"header": "header", "cgo": "cgo", "rust": "rust"}


def finding_lines(findings: Sequence[Finding]) -> list[str]:
    lines: list[str] = []
    for f in findings:
        owner = " / ".join(x for x in (f.library, f.program) if x)
        waived = f"  (allowed: {f.waived})" if f.waived else ""
        lines.append(f"  {f.target}: {f.symbol} [{f.kind}, {owner}]{waived}")
        lines.append(f"    {f.message}")
        for s in f.sides:
            where = f"{s.file}:{s.line}" if s.line else s.file
            lines.append(f"    {ORIGIN[s.origin]:6} {where}: {s.declaration}")
    return lines


def report_lines(report: AbiReport) -> list[str]:
    lines: list[str] = []
    for target in report.targets:
        libs = [r for r in report.libraries if r.target == target]
        found = [f for f in report.findings if f.target == target]
        failed = [f for f in found if f.waived is None]
        for lib in libs:
            functions = sum(1 for c in lib.checked if c.kind == "function")
            structs = len(lib.checked) - functions
            mine = [f for f in failed if f.library == lib.library]
            verdict = f"{len(mine)} finding(s)" if mine else "all agree"
            lines.append(
                f"{target}: {lib.library}: {functions} function(s), {structs} struct(s) "
                f"checked: {verdict}"
            )
            if lib.unchecked:
                lines.append(
                    f"  not checked (a side has no signature in its debug info): "
                    f"{', '.join(lib.unchecked)}"
                )
        if not libs:
            lines.append(f"{target}: no staticlib linked through cgo")
    if report.findings:
        lines.append("")
        lines += finding_lines(report.findings)
    return lines


def render_abi(report: AbiReport) -> None:

    for line in report_lines(report):
        err.print(line)
