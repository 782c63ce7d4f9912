"""Commands that start a project: init (a first toolchains.toml) and check
(is it ready to build, asked without touching a toolchain)."""

from __future__ import annotations

from pathlib import Path

import click

from relbuild.cli.app import App, json_option, out_option


class _InitCommand(click.Command):
    """init's help lists the target presets, read when the help is shown
    (so that `relbuild --help` imports no config code)."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from relbuild.project.inittargets import PRESETS

        with formatter.section("Target presets (--targets)"):
            formatter.write_dl([(name, ", ".join(ts)) for name, ts in PRESETS.items()])
        formatter.write_paragraph()
        formatter.write_text("Exit 0 written, 2 usage or config error, 3 no toolchain.")


@click.command("init", cls=_InitCommand)
@click.argument(
    "project", type=click.Path(path_type=Path, file_okay=False, exists=True), default="."
)
@click.option("--force", is_flag=True, help="Replace an existing toolchains.toml.")
@out_option("Where to write (default: PROJECT/toolchains.toml); project.root is set from there.")
@click.option(
    "-t",
    "--target",
    "targets",
    multiple=True,
    metavar="TRIPLE",
    help="Build for this target (repeatable). Default: the host, and for firmware the "
    "bare-metal targets its crate suggests.",
)
@click.option(
    "--targets",
    "presets",
    multiple=True,
    metavar="PRESET[,PRESET]",
    help="Build for the targets of a preset (repeatable).",
)
@json_option("Print what was written")
def init_cmd(
    project: Path,
    force: bool,
    out: Path | None,
    targets: tuple[str, ...],
    presets: tuple[str, ...],
    as_json: bool,
) -> None:
    """Write a starting toolchains.toml for PROJECT, pinned to what is installed.

    Each file written or changed is listed on stdout; notes go to stderr.
    """
    from relbuild.project.init import init
    from relbuild.project.inittargets import asked
    from relbuild.system import environ, ui

    chosen = asked(targets, presets)
    out = out or project / "toolchains.toml"
    done = init(project.resolve(), out, environ.probe_env(), force, chosen)
    if as_json:
        from relbuild.cli.shapes import InitWritten

        ui.print_json(InitWritten(config=str(out), notes=done.notes))
        return
    for note in done.notes:
        ui.err.print(f"note: {note}")
    for line in done.written:
        click.echo(line)
    ui.err.print(f"check {out}, then run `relbuild doctor`")


@click.command("check", epilog="Exit 0 ready (warnings allowed), 2 not ready or config error.")
@json_option("Print the report")
@click.pass_obj
def check_cmd(app: App, as_json: bool) -> None:
    """Check the config and the project's locks (go.sum, Cargo.lock), running no toolchain.

    Findings go to stdout, one a line: `error:` ones (a go.mod that requires
    modules with no go.sum) exit 2, `warning:` ones (no Cargo.lock) do not.
    """
    from relbuild.errors import ConfigNotReadyError
    from relbuild.project.check import check
    from relbuild.system import ui
    from relbuild.system.escaping import shown

    report = check(app.config())
    if as_json:
        ui.print_json(report)
    else:
        for f in report.findings:
            click.echo(f"{f.level}: {shown(f.subject)}: {shown(f.message)}; fix: {shown(f.fix)}")
        errors = sum(f.level == "error" for f in report.findings)
        state = "not ready" if errors else "ok"
        click.echo(
            f"check: {state}: {shown(report.config)}: {report.components} component(s), "
            f"{report.targets} target(s), {errors} error(s), "
            f"{len(report.findings) - errors} warning(s)"
        )
    if not report.ok:
        raise ConfigNotReadyError


COMMANDS = [init_cmd, check_cmd]
