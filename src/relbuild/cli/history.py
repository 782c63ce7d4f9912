"""Commands for the release series: history add/list/check, report."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from relbuild.cli.app import App, finish, json_option, out_option

if TYPE_CHECKING:
    from relbuild.config import LoadedConfig
    from relbuild.config.series import Regressions
    from relbuild.pipeline.model import BuildResult
    from relbuild.series.check import CheckReport
    from relbuild.series.ingest import AddReport
    from relbuild.series.store import Row


def db_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--db",
        "db_path",
        type=click.Path(path_type=Path, dir_okay=False),
        help="The history file (default: [history] db of toolchains.toml, else "
        ".relbuild/history.sqlite beside it).",
    )(func)


def _loaded(app: App, db_path: Path | None) -> LoadedConfig | None:
    """The config; with --db and no config around, none (defaults apply)."""
    from relbuild.errors import ConfigError

    try:
        return app.config()
    except ConfigError:
        if db_path is None or app.config_path is not None:
            raise
        return None


def history_db(loaded: LoadedConfig) -> Path:
    """Where the config's history lives."""
    from relbuild.config.series import History

    return loaded.base / (loaded.config.history or History()).db


def _db(app: App, db_path: Path | None) -> tuple[Path, Regressions]:
    from relbuild.config.series import Regressions

    loaded = _loaded(app, db_path)
    rules = loaded.config.regressions if loaded else Regressions()
    if db_path is not None:
        return db_path, rules
    assert loaded is not None
    return history_db(loaded), rules


def add_built(loaded: LoadedConfig, result: BuildResult) -> None:
    """`relbuild build` with [history]: the release it made, into the history."""
    from relbuild.series.ingest import add

    render_add(add(history_db(loaded), [Path(result.out)], [result]))


@click.group("history")
def history_cmd() -> None:
    """The history of published releases (SQLite): add, list, check."""


@history_cmd.command("add")
@click.argument("dists", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--report",
    "reports",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="A build report (.relbuild/logs/build-report.json), used for the dist whose "
    "artifacts it lists (repeatable).",
)
@db_option
@json_option("Print what was added")
@click.pass_obj
def history_add_cmd(
    app: App,
    dists: tuple[Path, ...],
    reports: tuple[Path, ...],
    db_path: Path | None,
    as_json: bool,
) -> None:
    """Verify each published release DIST and add it to the history (one
    already there is left alone). Exit 0 added, 1 a dist does not match its
    manifest (none added), 2 unusable input."""
    from relbuild.series.ingest import add, read_report

    path, _ = _db(app, db_path)
    finish(add(path, list(dists), [read_report(p) for p in reports]), as_json, render_add)


def render_add(report: AddReport) -> None:
    from relbuild.system.escaping import shown
    from relbuild.system.ui import err

    for r in report.releases:
        what = "added" if r.added else "already in the history"
        err.print(f"{shown(r.version)}: {what} ({r.measured_by}) in {shown(report.db)}")


@history_cmd.command("list")
@db_option
@json_option("Print the releases")
@click.pass_obj
def history_list_cmd(app: App, db_path: Path | None, as_json: bool) -> None:
    """One row per release, oldest first: version, revision, date
    (SOURCE_DATE_EPOCH), artifacts, total size, build and checksum time.

    Exit 0 listed, 2 unusable history file."""
    from relbuild.series import db, store
    from relbuild.system import ui

    path, _ = _db(app, db_path)
    con = db.connect(path)
    try:
        found = store.rows(con, path)
    finally:
        con.close()
    if as_json:
        from relbuild.cli.shapes import HistoryList

        ui.print_json(HistoryList(releases=[r.model_dump(mode="json") for r in found]))
        with ui.json_on_stdout():
            render_list(found)
    else:
        render_list(found)


def render_list(found: list[Row]) -> None:
    from datetime import UTC, datetime

    from relbuild.system.ui import out, table

    t = table(
        f"{len(found)} release(s)",
        ["version", "revision", "date", "artifacts", "bytes", "build s", "build CPU s", "sums s"],
    )
    for r in found:
        date = datetime.fromtimestamp(r.source_date_epoch, UTC).strftime("%Y-%m-%d %H:%M")
        t.add_row(
            r.version,
            (r.revision or "-")[:12],
            date,
            str(r.artifacts),
            f"{r.total_size:,}",
            *(f"{x:.2f}" if x is not None else "-" for x in (r.build_seconds, r.build_cpu)),
            f"{r.checksum_seconds:.4f}" if r.checksum_seconds is not None else "-",
        )
    out.print(t)


@history_cmd.command("check")
@click.argument("dist", required=False, type=click.Path(path_type=Path))
@click.option(
    "--against",
    metavar="VERSION",
    help="Compare with this release alone (default: the "
    "median of the last 5 releases; for times, built on the same machine class).",
)
@db_option
@json_option("Print every comparison")
@click.pass_obj
def history_check_cmd(
    app: App, dist: Path | None, against: str | None, db_path: Path | None, as_json: bool
) -> None:
    """Compare a release (DIST, else the history's latest) with its baseline,
    under the limits of [regressions]. Exit 0 ok (warnings shown), 1 a
    regression, 2 unusable input."""
    from relbuild.series.check import check

    path, rules = _db(app, db_path)
    finish(check(path, rules, dist, against), as_json, render_check)


def render_check(report: CheckReport) -> None:
    from relbuild.series.check import describe
    from relbuild.system.escaping import shown
    from relbuild.system.ui import err

    base = ", ".join(report.baseline) or "none"
    err.print(
        f"{shown(report.project)} {shown(report.version)} against {shown(base)}: "
        f"{len(report.comparisons)} measure(s) compared"
    )
    if report.note:
        err.print(report.note)
    for c in report.flagged:
        err.print(f"{c.level.upper()}: {shown(describe(c))}")
    if report.ok:
        err.print("no regression" + (" (warnings above)" if report.flagged else ""))


@click.command("report")
@out_option("The HTML file to write.", required=True)
@db_option
@json_option("Print what was written")
@click.pass_obj
def report_cmd(app: App, out: Path, db_path: Path | None, as_json: bool) -> None:
    """Write the history as one self-contained HTML file: plots over the
    series and the latest release's changelog. Exit 0 written, 2 unusable
    history."""
    from relbuild.series.report import report
    from relbuild.system.escaping import shown
    from relbuild.system.ui import err

    path, _ = _db(app, db_path)
    result = report(path, out)

    def render(r: Any) -> None:
        err.print(
            f"wrote {shown(r.out)}: {r.releases} release(s), {r.plots} plot(s), {r.bytes:,} bytes"
        )

    finish(result, as_json, render)


COMMANDS = [history_cmd, report_cmd]
