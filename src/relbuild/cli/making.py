"""Commands before and during a build: doctor, schema, plan, build."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import click

from relbuild.cli.app import (
    App,
    cache_option,
    component_option,
    epoch_option,
    finish,
    jobs_option,
    json_option,
    out_option,
    release_version_option,
    target_option,
)
from relbuild.cli.reports import REPORTS


@click.command("doctor")
@click.option(
    "--fix",
    is_flag=True,
    help="Install what needs no root, pinned and checked (zig into relbuild's tools folder, "
    "Go through GOTOOLCHAIN, Rust through rustup), print the apt-get line for the rest, "
    "then check again.",
)
@json_option("Print the report")
@click.pass_obj
def doctor_cmd(app: App, fix: bool, as_json: bool) -> None:
    """Check the pinned toolchains and what every target needs.

    Exit 0 every pin and need satisfied, 2 unusable config, 3 a toolchain
    or a need missing or not matching its pin (each with how to fix it)."""
    from relbuild.cli.render import render_doctor
    from relbuild.errors import ToolchainsNotReadyError
    from relbuild.project.doctor import doctor
    from relbuild.system import environ

    if fix:
        from relbuild.project.fix import FixReport
        from relbuild.project.fix import fix as fix_all

        def render_fix(report: FixReport) -> None:
            from relbuild.system import ui

            render_doctor(report.doctor)
            for action in report.actions:
                ui.err.print(f"fix: {action.subject}: {action.status}: {action.detail}")
            if report.apt_command:
                ui.err.print(f"fix: needs root: {report.apt_command}")
            if not report.actions and not report.apt:
                ui.err.print("fix: nothing to do")

        fixed = fix_all(app.config(), environ.probe_env())
        finish(fixed, as_json, render_fix, failure=ToolchainsNotReadyError)
        return
    report = doctor(app.config(), environ.probe_env())
    finish(report, as_json, render_doctor, failure=ToolchainsNotReadyError)


@click.command("schema")
@click.argument(
    "which",
    type=click.Choice(["config", "manifest", *REPORTS]),
    default="config",
    metavar="[config|manifest|REPORT]",
)
@out_option("Write the schema to this file instead of stdout.")
def schema_cmd(which: str, out: Path | None) -> None:
    """Print the JSON Schema of toolchains.toml (config), of manifest.json, or
    of the REPORT a command prints with --json (each carries schema_version):
    {reports}.

    Exit 0 printed (or written), 2 the file cannot be written."""
    from relbuild.schema import report_schema, schema
    from relbuild.system.fsutil import atomic_write

    if which in REPORTS:
        from relbuild.cli.reports import model

        text = report_schema(model(which))
    else:
        text = schema("config" if which == "config" else "manifest")
    if out is None:
        click.echo(text, nl=False)
    else:
        atomic_write(out, text.encode(), make_parents=False)


# The report names come from the registry: the help cannot miss one.
schema_cmd.help = (schema_cmd.help or "").replace("{reports}", ", ".join(REPORTS))


@click.command("plan")
@target_option
@component_option
@epoch_option
@cache_option
@click.option("--offline", is_flag=True, help="Plan for a build without network access.")
@click.option(
    "--matrix",
    "matrix_for",
    type=click.Choice(["github", "gitlab"]),
    default=None,
    is_flag=False,
    flag_value="github",
    help="Print the targets as a CI matrix on one line of JSON instead: for GitHub's "
    "strategy.matrix (fromJSON, the default) or GitLab's parallel:matrix.",
)
@click.option(
    "--per-runner",
    type=click.IntRange(1, 1000),
    default=None,
    metavar="N",
    help="With --matrix: at most N targets on each runner (default: 1, or a whole group).",
)
@click.option(
    "--group-by",
    type=click.Choice(["none", "kind"]),
    default="none",
    show_default=True,
    help="With --matrix: 'kind' keeps hosted and bare-metal targets on separate runners.",
)
@json_option("Print the plan")
@click.pass_obj
def plan_cmd(
    app: App,
    targets: tuple[str, ...],
    components: tuple[str, ...],
    source_date_epoch: str | None,
    cache_dir: Path | None,
    offline: bool,
    matrix_for: str | None,
    per_runner: int | None,
    group_by: str,
    as_json: bool,
) -> None:
    """Print the ordered build steps (argv, cwd, environment) without running them.

    Exit 0 planned, 2 unusable config or selection, 3 a toolchain missing or
    not matching its pin."""
    import json

    from relbuild.system import ui

    if matrix_for is not None:
        from relbuild.ci.matrix import as_json as matrix_json
        from relbuild.ci.matrix import entries

        found = entries(app.config(), per_runner=per_runner, group_by=group_by)  # type: ignore[arg-type]
        matrix = matrix_json(found, matrix_for)  # type: ignore[arg-type]
        if as_json:
            from relbuild.cli.shapes import Matrix

            ui.print_json(Matrix(ci=matrix_for, matrix=matrix))
            return
        click.echo(json.dumps(matrix, separators=(",", ":")))
        return
    from relbuild.cli.render import render_plan
    from relbuild.pipeline.gather import gather
    from relbuild.pipeline.options import BuildOptions
    from relbuild.pipeline.plan import plan

    options = BuildOptions(
        out=Path("dist"),
        targets=targets,
        components=components,
        offline=offline,
        source_date_epoch=source_date_epoch,
        cache=cache_dir,
    )
    the_plan = plan(gather(app.config(), options), targets, components)
    if as_json:
        ui.print_json(the_plan)
    else:
        render_plan(the_plan)


@click.command("build")
@target_option
@component_option
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("dist"),
    show_default=True,
    help="Output folder; replaced as a whole only when the build succeeds.",
)
@click.option(
    "--offline", is_flag=True, help="Build without network access (cargo --offline, GOPROXY=off)."
)
@jobs_option("Targets built side by side", "the number of CPUs, at most 4")
@click.option(
    "--archive",
    type=click.Choice(["tar.gz", "zip", "none"]),
    default=None,
    help="Per-target archive of the artifacts and license files (default: project.archive).",
)
@epoch_option
@cache_option
@click.option(
    "--source-revision",
    metavar="REV",
    help="Commit to record when the tree has no .git (an export or a source tarball).",
)
@click.option(
    "--source-dirty/--source-clean",
    default=None,
    help="Record the tree as modified or not, overriding git.",
)
@release_version_option(
    "The release's version (default: an exact v* tag on HEAD, then project.version, "
    "then the first crate's version)."
)
@click.option(
    "--previous",
    type=click.Path(path_type=Path, file_okay=False),
    metavar="DIST",
    help="The release this one replaces: its manifest's version and SHA-256 go into the new "
    "manifest (a hash chain; `relbuild history verify`), and the new version must be greater.",
)
@click.option(
    "--sign",
    "sign_key",
    metavar="KEY",
    help="Sign the provenance and the manifest with this private key: a PEM file, or "
    "env://VAR for the PEM in a variable (password, if any: $RELBUILD_KEY_PASSWORD).",
)
@click.option(
    "--provenance-run-metadata",
    is_flag=True,
    help="Add the invocation id and start/finish times to the provenance (it then differs "
    "on every build).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Build even when the last build's release is up to date.",
)
@json_option("Print a summary")
@click.pass_obj
def build_cmd(
    app: App,
    targets: tuple[str, ...],
    components: tuple[str, ...],
    out: Path,
    offline: bool,
    jobs: int | None,
    archive: str | None,
    source_date_epoch: str | None,
    cache_dir: Path | None,
    source_revision: str | None,
    source_dirty: bool | None,
    version: str | None,
    previous: Path | None,
    sign_key: str | None,
    provenance_run_metadata: bool,
    force: bool,
    as_json: bool,
) -> None:
    """Build every target: Rust first, then Go; normalize; write the manifest,
    the SBOM and the provenance (signed with --sign).

    When nothing the last build read has changed and --out still holds what
    it wrote, nothing is rebuilt (--force builds anyway). Exit 0 built (or
    up to date), 1 a build step or check failed, 2 unusable input."""
    from relbuild.attest.keys import load_signer
    from relbuild.pipeline import fresh
    from relbuild.pipeline.options import AttestOptions, BuildOptions, default_jobs
    from relbuild.system.progress import reporting

    # A bad key fails here, before a long build.
    signer = load_signer(sign_key) if sign_key else None
    link = None
    if previous is not None:
        # Imported only when asked for (start-up speed: it reads every format).
        from relbuild.verify.series import previous_of

        link = previous_of(previous, jobs=jobs)
    loaded = app.config()
    fmt = archive or loaded.config.project.archive
    options = BuildOptions(
        out=out,
        targets=targets,
        components=components,
        offline=offline,
        jobs=jobs or default_jobs(),
        archive=None if fmt == "none" else fmt,  # type: ignore[arg-type]
        source_date_epoch=source_date_epoch,
        cache=cache_dir,
        source_revision=source_revision,
        source_dirty=source_dirty,
        version=version,
        reuse=not force,
        attest=AttestOptions(signer=signer, run_metadata=provenance_run_metadata),
        previous=link,
    )
    with reporting() as reporter:
        # Asked before the stages are imported (start-up speed): an
        # unchanged release costs this check alone. The inputs it takes are
        # handed to the build, which records them.
        seen = fresh.seen(loaded, options) if options.reuse else None
        reused = fresh.up_to_date(loaded, options, seen) if options.reuse else None
        if reused is not None:
            fresh.announce(reused, reporter)
    if reused is not None:
        _up_to_date(reused, as_json)
        return
    from relbuild.cli.render import render_build
    from relbuild.pipeline.stages import build

    with reporting() as reporter:
        # The check above was just made: the stage need not make it again.
        result = build(loaded, dataclasses.replace(options, reuse=False), reporter, seen=seen)
    if loaded.config.history is not None:
        from relbuild.cli.history import add_built

        add_built(loaded, result)
    finish(result, as_json, render_build)


def _up_to_date(result: dict[str, Any], as_json: bool) -> None:
    """An up-to-date release, said without the pipeline's imports."""
    from relbuild.system import ui
    from relbuild.system.escaping import shown

    if as_json:
        ui.print_json({**result, "up_to_date": True})
        return
    count = len(result.get("artifacts", []))
    ui.err.print(
        f"up to date: {shown(result.get('out'))} already holds the release these "
        f"inputs make ({count} artifacts); nothing rebuilt (--force builds anyway)"
    )


COMMANDS = [doctor_cmd, schema_cmd, plan_cmd, build_cmd]
