"""Commands on a series of releases: rollback-test, and `history verify`
(the hash chain over dist folders, a subcommand of cli/history.py's
`history` group)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from relbuild.cli.app import App, finish, jobs_option, json_option
from relbuild.cli.history import history_cmd

if TYPE_CHECKING:
    from relbuild.proofs.rollback import RollbackReport
    from relbuild.verify.series import SeriesReport


@click.command("rollback-test")
@click.argument("previous", type=click.Path(path_type=Path))
@click.argument("current", type=click.Path(path_type=Path), default="dist")
@click.option(
    "--key",
    "keys",
    multiple=True,
    metavar="PUB",
    help="Public key of a signer of PREVIOUS (repeatable): its signatures are checked too.",
)
@click.option(
    "--threshold",
    type=click.IntRange(1, 32),
    help="Signatures of PREVIOUS by at least this many distinct keys (default: all of them).",
)
@click.option("--run", is_flag=True, help="Also run both releases' smoke tests on this machine.")
@jobs_option("Files hashed (and tests run) at once", "the number of CPUs")
@json_option("Print the report")
@click.pass_obj
def rollback_test_cmd(
    app: App,
    previous: Path,
    current: Path,
    keys: tuple[str, ...],
    threshold: int | None,
    run: bool,
    jobs: int | None,
    as_json: bool,
) -> None:
    """Can CURRENT (default: ./dist) replace the published release PREVIOUS,
    and does PREVIOUS still hold up for a user who rolls back to it?

    Re-verifies PREVIOUS from its own manifest (and CURRENT), then checks that
    CURRENT's version is greater (semver), that no target is dropped, that every
    function of PREVIOUS's staticlibs is still exported with the same signature
    unless the major version grew (minor for 0.x), that no glibc floor rose and
    no firmware is over budget; lists dependency changes. Exit 0 compatible, 1 a
    finding, 2 unusable input (a version that is not semver among them)."""
    from relbuild.attest.keys import load_verifier
    from relbuild.proofs.rollback import rollback_test
    from relbuild.verify.smoke import test

    verifiers = [load_verifier(k) for k in keys]
    loaded = app.config() if run else None
    report = rollback_test(
        previous,
        current,
        keys=verifiers,
        threshold=threshold,
        smoke=(lambda folder: test(loaded, folder, jobs)) if loaded is not None else None,
    )
    finish(report, as_json, render_rollback)


def render_rollback(report: RollbackReport) -> None:
    from relbuild.system.escaping import shown
    from relbuild.system.ui import err

    step = "a breaking step" if report.breaking_allowed else "not a breaking step"
    err.print(
        f"rollback-test: {shown(report.previous)} {shown(report.previous_version)} -> "
        f"{shown(report.current)} {shown(report.current_version)} ({step})"
    )
    for c in report.abi_changes:
        err.print(f"  abi {c.change}: {shown(c.name)} {shown(c.old or '')} -> {shown(c.new or '')}")
    for c in report.dependency_changes:
        err.print(
            f"  {c.section} {c.change}: {shown(c.name)} {shown(c.old or '-')} -> "
            f"{shown(c.new or '-')}"
        )
    for res in (report.previous_smoke, report.current_smoke):
        if res is not None:
            ran = [r for r in res.results if r.status != "skipped"]
            passed = sum(r.status == "passed" for r in ran)
            err.print(f"  smoke tests of {shown(res.folder)}: {passed} of {len(ran)} passed")
    for f in report.findings:
        err.print(f"  {f.check}: {shown(f.subject)}: {shown(f.detail)}")
    if report.ok:
        err.print("rollback-test: compatible")
    else:
        err.print(f"rollback-test: {len(report.findings)} finding(s)")


@history_cmd.command("verify")
@click.argument("dists", nargs=-1, required=True, type=click.Path(path_type=Path))
@jobs_option("Files hashed at once", "the number of CPUs")
@json_option("Print the report")
def history_verify_cmd(dists: tuple[Path, ...], jobs: int | None, as_json: bool) -> None:
    """Walk the hash chain over the dist folders DISTS (any order; oldest
    first by semver): each folder against its own manifest, then each
    manifest's `previous` against the manifest before it. Names the first
    broken link. Exit 0 whole, 1 a finding, 2 unusable input."""
    from relbuild.verify.series import verify_series

    finish(verify_series(list(dists), jobs=jobs), as_json, render_series)


def render_series(report: SeriesReport) -> None:
    from relbuild.system.escaping import shown
    from relbuild.system.ui import err

    for folder in report.folders:
        for f in folder.findings:
            err.print(f"{shown(folder.folder)}: {f.kind}: {shown(f.path)}: {shown(f.detail)}")
        if folder.omitted:
            err.print(f"{shown(folder.folder)}: ... and {folder.omitted} more finding(s)")
    for link in report.chain.links:
        err.print(
            f"{link.status:>8}  {shown(link.version)}  {shown(link.source)}"
            + (f": {shown(link.detail)}" if link.detail else "")
        )
    if report.chain.first_broken is not None:
        err.print(
            f"history verify: the chain breaks at {shown(report.chain.first_broken)}; "
            "no release from there on is linked to the ones before"
        )
    elif not report.ok:
        err.print("history verify: the chain holds, but a folder does not match its manifest")
    else:
        err.print(f"history verify: {len(report.chain.links)} release(s), every link holds")


COMMANDS = [rollback_test_cmd]
