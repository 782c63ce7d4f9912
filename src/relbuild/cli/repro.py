"""`relbuild repro`: the working tree built twice under varied conditions."""

from __future__ import annotations

from pathlib import Path

import click

from relbuild.cli.app import App, cache_option, finish, json_option, target_option


def _split(_ctx: click.Context, _param: click.Parameter, items: tuple[str, ...]) -> list[str]:
    return [x for item in items for x in item.split(",") if x]


class _VariationsHelp(click.Command):
    """A help whose list of variations comes from the code
    (relbuild.proofs.repro.VARIATIONS), read only when the help is shown."""

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from relbuild.proofs.repro import VARIATIONS

        names = ", ".join(VARIATIONS)
        self.help = (self.help or "").replace("{variations}", f"{len(VARIATIONS)}: {names}")
        super().format_help_text(ctx, formatter)


@click.command("repro", cls=_VariationsHelp)
@click.option(
    "--vary",
    "vary",
    multiple=True,
    metavar="NAME",
    callback=_split,
    help="Only these variations (repeatable or comma-separated). Default: all.",
)
@click.option(
    "--no-vary",
    "no_vary",
    multiple=True,
    metavar="NAME",
    callback=_split,
    help="Leave these variations out (repeatable or comma-separated).",
)
@target_option
@click.option("--fresh", is_flag=True, help="Start from empty build caches.")
@click.option("--no-blame", is_flag=True, help="On a difference, do not look for the cause.")
@cache_option
@click.option("--list", "list_", is_flag=True, help="List the variations and exit.")
@json_option("Print the report")
@click.pass_obj
def repro_cmd(
    app: App,
    vary: list[str],
    no_vary: list[str],
    targets: tuple[str, ...],
    fresh: bool,
    no_blame: bool,
    cache_dir: Path | None,
    list_: bool,
    as_json: bool,
) -> None:
    """Build the working tree twice under varied conditions and compare.

    Variations ({variations}); --list says what each one changes. Exit 0
    when every artifact and the manifest are identical, 1 when not, 2 on
    unusable input or an unknown variation.
    """
    from relbuild.cli.render import render_repro
    from relbuild.pipeline.fresh import default_cache
    from relbuild.proofs.repro import VARIATIONS, repro, select
    from relbuild.system import ui

    if list_:
        if as_json:
            ui.print_json({"variations": VARIATIONS})
            return
        for name, what in VARIATIONS.items():
            click.echo(f"{name:14} {what}")
        return
    chosen = select(vary, no_vary)
    loaded = app.config()
    report = repro(
        loaded,
        variations=chosen,
        fresh=fresh,
        cache=cache_dir or default_cache(loaded),
        targets=targets,
        blame=not no_blame,
        log=ui.err.print,
    )
    finish(report, as_json, render_repro)


COMMANDS = [repro_cmd]
