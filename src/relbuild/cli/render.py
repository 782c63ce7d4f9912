"""Rendering core results for people: a command's primary output (a plan,
tables, sizes, an inventory) on stdout, notes and summaries on stderr."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from relbuild.release.dist import MANIFEST_NAME
from relbuild.system.escaping import shown
from relbuild.system.ui import err, out, styled, table

if TYPE_CHECKING:
    from relbuild.ci.merge import MergeReport
    from relbuild.pipeline.model import BuildResult, Plan
    from relbuild.pipeline.unit import UnitReport
    from relbuild.project.doctor import DoctorReport
    from relbuild.proofs.compare import Comparison
    from relbuild.proofs.diff import DiffReport
    from relbuild.proofs.rebuild import VerifyRebuildReport
    from relbuild.proofs.repro import ReproReport
    from relbuild.release.dist import Manifest
    from relbuild.verify.findings import VerifyReport
    from relbuild.verify.size import SizeEntry, SizeReport
    from relbuild.verify.smoke import SmokeReport


def render_doctor(report: DoctorReport) -> None:
    tools = table(
        f"Toolchains pinned in {report.config}", ["tool", "pinned", "found", "path", "status"]
    )
    for row in report.tools:
        tools.add_row(row.tool, row.pinned, row.found or "-", row.path or "-", styled(row.status))
    out.print(tools)
    needs = table("Target needs", ["target", "need", "status", "detail"])
    for check in report.checks:
        status = "ok" if check.ok else "skipped" if check.skipped else "MISSING"
        needs.add_row(check.subject, check.need, styled(status), check.detail)
    out.print(needs)
    fixes = [(r.tool, r.fix) for r in report.tools if r.fix] + [
        (f"{c.subject}: {c.need}", c.fix) for c in report.checks if c.fix
    ]
    for subject, fix in fixes:
        out.print(f"problem: {subject}\n  {fix}".replace("\n", "\n  "))
    if report.ok:
        out.print("doctor: every pin and target need is satisfied")
    else:
        out.print(f"doctor: {report.problems} problem(s)")


def render_plan(plan: Plan) -> None:
    from relbuild.system import proc

    out.print(
        f"plan: {plan.project} {plan.version}, SOURCE_DATE_EPOCH={plan.source_date_epoch}, "
        f"{len(plan.steps)} steps"
    )
    for n, step in enumerate(plan.steps, 1):
        out.print(f"\n[{n}/{len(plan.steps)}] {step.target} {step.component} ({step.tool})")
        out.print(f"  cwd: {step.cwd}")
        out.print(f"  argv: {proc.quote(step.argv)}")
        for key, value in sorted(step.env.items()):
            out.print(f"  env {key}={value!r}" if "\x1f" in value else f"  env {key}={value}")
        for rel, host in sorted(step.place.items()):
            why = step.place_why.get(rel, "")
            out.print(f"  place {rel} <- {host}" + (f"  ({why})" if why else ""))


def render_build(result: BuildResult) -> None:
    err.print(
        f"built {len(result.artifacts)} artifacts into {shown(result.out)} in "
        f"{result.seconds:.1f} s; manifest: {shown(result.manifest)}"
    )


def render_inventory(folder: Path, manifest: Manifest) -> None:
    out.print(f"wrote {shown(folder / MANIFEST_NAME)} with {len(manifest.artifacts)} artifacts")
    for art in manifest.artifacts:
        out.print(f"  {shown(art.path)}: {art.kind}, {shown(art.target or 'no target')}")


def render_merge(report: MergeReport) -> None:
    err.print(
        f"merged {len(report.parts)} part(s) into {shown(report.out)}: "
        f"{report.artifacts} artifacts for {shown(', '.join(report.targets))}"
    )
    if report.missing:
        err.print(f"partial release: no part covers {shown(', '.join(report.missing))}")


def render_verify(report: VerifyReport) -> None:
    size = report.bytes_hashed / (1024 * 1024)
    if report.ok:
        err.print(
            f"verify: {shown(report.folder)} matches {shown(report.manifest)}: "
            f"{report.artifacts} artifacts, "
            f"{size:.1f} MiB, SHA-256 and SHA-512"
            + (", no leaked path" if report.leaks_scanned else "")
            + (f", signatures by {report.signers} key(s)" if report.signers else "")
        )
        return
    first = f", the first {len(report.findings)} shown" if report.omitted else ""
    t = table(
        f"verify: {report.finding_count} finding(s) in {report.folder}{first}",
        ["finding", "path", "detail"],
    )
    for f in report.findings:
        t.add_row(
            styled(f.kind, "bold red"), f.path, f.detail
        )  # each cell kept on one line by the table
    err.print(t)
    if report.omitted:
        by_kind = ", ".join(f"{kind}: {n}" for kind, n in report.finding_counts.items())
        err.print(f"verify: ... and {report.omitted} more finding(s); all by kind: {by_kind}")


def render_diff(report: DiffReport) -> None:
    from relbuild.verify.findings import MAX_FINDINGS

    sides = ((report.old, report.old_check), (report.new, report.new_check))
    for _, check in sides:
        if check is not None and not check.ok:
            render_verify(check)
    alone = [name for name, check in sides if check is None]
    how = (
        f"compared the manifests only for {shown(', '.join(alone))}; give the folder to check "
        "its files too"
        if alone
        else "each folder's files checked against its manifest"
    )
    if report.same:
        old, new = shown(report.old), shown(report.new)
        err.print(f"diff: {old} and {new} describe the same release; {how}")
        return
    if report.changes:
        rows = report.changes[:MAX_FINDINGS]
        more = len(report.changes) - len(rows)
        t = table(
            f"diff: {len(report.changes)} difference(s), {report.old} -> {report.new}"
            + (f", the first {len(rows)} shown" if more else ""),
            ["what", "change", "name", "old", "new"],
        )
        for c in rows:
            t.add_row(c.section, c.change, c.name, c.old or "-", c.new or "-")
        err.print(t)
        if more:
            counts = Counter(c.section for c in report.changes)
            by_kind = ", ".join(f"{kind}: {n}" for kind, n in sorted(counts.items()))
            err.print(f"diff: ... and {more} more difference(s); all by kind: {by_kind}")
    for name, check in sides:
        if check is not None and not check.ok:
            err.print(
                f"diff: {shown(name)} does not match its manifest: {check.finding_count} "
                "finding(s), "
                "so it is not the release its manifest describes"
            )
    err.print(f"diff: {how}")


def render_comparison(comparison: Comparison, title: str) -> None:
    same = sum(o.identical for o in comparison.artifacts)
    err.print(
        f"{title}: {same}/{len(comparison.artifacts)} artifacts identical, manifest "
        f"{'identical' if comparison.manifest_identical else 'DIFFERENT'}"
    )
    for o in comparison.differing:
        why = o.note or (o.explanation and o.explanation.summary)
        err.print(" ", styled("DIFFERENT"), f"{shown(o.path)}: {shown(why)}")
        if o.explanation:
            for s in o.explanation.suspects[:6]:
                err.print(f"    suspect: {s}")
            for a in o.explanation.advice:
                err.print(f"    advice: {a}")
            if o.explanation.diffoscope:
                err.print(f"    diffoscope report: {o.explanation.diffoscope}")
    if comparison.manifest_explanation:
        err.print(
            " ", styled("DIFFERENT"), f"manifest.json: {comparison.manifest_explanation.summary}"
        )
        for line in comparison.manifest_explanation.suspects[:10]:
            err.print(f"    {line}")


def render_rebuild(report: VerifyRebuildReport) -> None:
    again = report.rebuild
    where = (
        f"in {again.rebuilt_in}" if again.kept else "in a temporary folder, since removed (--keep)"
    )
    render_comparison(again.comparison, f"rebuild of {again.revision[:12]} {where}")


def render_repro(report: ReproReport) -> None:
    for run in report.runs:
        err.print(
            f"repro: {run.name}: {', '.join(run.varied) or 'no variation'} ({run.seconds:.1f} s)"
        )
    for note in report.notes:
        err.print(f"repro: note: {note}")
    render_comparison(report.comparison, "repro")
    if report.reproducible:
        err.print(
            f"repro: reproducible under {len(report.variations)} variation(s): "
            f"{', '.join(report.variations)}"
        )
        return
    if report.deterministic_without_variation is False:
        err.print(
            "repro: two builds with no variation at all already differ: the build "
            "embeds the time or something random"
        )
    elif report.blame:
        err.print(f"repro: to blame: {', '.join(report.blame)}")
    elif report.deterministic_without_variation:
        err.print("repro: no single variation explains it; variations combine")
    if report.reports:
        err.print(f"repro: reports in {report.reports}")


def _pct(used: int, budget: int | None) -> str:
    return "-" if budget is None else f"{budget} ({100 * used / max(budget, 1):.0f}%)"


def _growth(new: int, old: int | None) -> str:
    return "" if old is None else f"{new - old:+d}"


def render_size(report: SizeReport, crates: bool = False, symbols: bool = False) -> None:
    entries = report.firmware
    if not entries:
        out.print("size: no firmware in this dist")
        return
    for e in entries:
        out.print(f"{shown(e.path)} ({shown(e.target or 'target unknown')})")
        t = table("", ["section", "size", "growth"])
        for row in e.sections:
            t.add_row(shown(row.name), str(row.size), _growth(row.size, row.old))
        if e.stack is not None:
            t.add_row("stack", str(e.stack), _growth(e.stack, e.old_stack))
        t.add_row("flash", str(e.flash), _growth(e.flash, e.old_flash))
        t.add_row("RAM", str(e.ram), _growth(e.ram, e.old_ram))
        out.print(t)
        out.print(
            f"  flash budget {_pct(e.flash, e.flash_budget)}, "
            f"RAM budget {_pct(e.ram, e.ram_budget)}"
        )
        _render_stack_and_split(e, crates, symbols)
    for over in report.over_budget:
        err.print(styled("over budget"), shown(over))


def _render_stack_and_split(e: SizeEntry, crates: bool, symbols: bool) -> None:
    if e.stack_path:
        out.print("  deepest stack path: " + " -> ".join(shown(n) for n in e.stack_path))
    for why in e.stack_lower_bound:
        out.print(f"  stack is a lower bound: {shown(why)}")
    if crates and e.crates:
        t = table("flash per crate", ["crate", "size", "growth"])
        for row in e.crates:
            t.add_row(shown(row.name), str(row.size), _growth(row.size, row.old))
        out.print(t)
    if symbols and e.symbols:
        t = table("largest symbols", ["symbol", "crate", "size"])
        for s in e.symbols:
            t.add_row(shown(s.name), shown(s.crate), str(s.size))
        out.print(t)
    if e.growth:
        t = table("symbols that changed most", ["symbol", "crate", "size", "growth"])
        for s in e.growth:
            t.add_row(shown(s.name), shown(s.crate), str(s.size), _growth(s.size, s.old))
        out.print(t)


def render_test(report: SmokeReport) -> None:
    t = table(f"smoke tests in {report.folder}", ["artifact", "status", "time", "detail"])
    for r in report.results:
        detail = r.reason or (r.output_tail.splitlines()[-1] if r.output_tail else "")
        t.add_row(r.path, styled(r.status), f"{r.seconds:.1f} s", detail)
    err.print(t)
    for r in report.results:
        if r.boot_instructions is not None:
            budget = f" (budget {r.boot_budget})" if r.boot_budget is not None else ""
            err.print(f"boot: {shown(r.path)}: {r.boot_instructions} instructions{budget}")
    ran = [r for r in report.results if r.status not in ("skipped", "not-run")]
    passed = sum(r.status == "passed" for r in ran)
    not_run = f", {report.not_run} not run" if report.not_run else ""
    err.print(f"test: {passed}/{len(ran)} passed{not_run}")
    for r in ran:
        if r.status != "passed" and r.output_tail:
            # The program's own output keeps its lines, under a header of ours.
            err.print(f"--- {shown(r.path)} ({shown(' '.join(r.runner))}):\n{r.output_tail}")


def render_unit(report: UnitReport) -> None:
    t = table("unit tests", ["what", "target", "status", "coverage", "time", "detail"])
    for r in report.results:
        cov = "" if r.coverage is None else f"{r.coverage:.1f}%"
        if r.coverage_min is not None:
            cov += f" (min {r.coverage_min:g}%)"
        what = f"{r.language} {r.path}"
        t.add_row(what, r.target, styled(r.status), cov, f"{r.seconds:.1f} s", shown(r.reason))
    err.print(t)
    ran = [r for r in report.results if r.status not in ("skipped", "not-run")]
    not_run = f", {report.not_run} not run" if report.not_run else ""
    err.print(f"unit: {sum(r.status == 'passed' for r in ran)}/{len(ran)} passed{not_run}")
    for r in ran:
        if r.status != "passed":
            err.print(f"--- {r.language} {shown(r.path)} {r.target}: log {shown(r.log)}")
            if r.output_tail:
                err.print(r.output_tail)
