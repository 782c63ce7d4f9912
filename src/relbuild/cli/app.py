"""What the commands share: the application object click hands them, the
options several of them take, and the one way a command ends."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from relbuild.errors import NegativeReportError

if TYPE_CHECKING:
    from pydantic import BaseModel

    from relbuild.config import LoadedConfig

R = TypeVar("R", bound="BaseModel")


@dataclass
class App:
    """The config location and the global options."""

    config_path: Path | None
    debug: bool = False
    _loaded: LoadedConfig | None = field(default=None, repr=False)

    def config(self) -> LoadedConfig:
        from relbuild.config import find_config, load_config

        if self._loaded is None:
            path = self.config_path or find_config()
            self._loaded = load_config(path)
        return self._loaded


def finish(
    report: R,
    as_json: bool,
    render: Callable[[R], None],
    failure: type[NegativeReportError] = NegativeReportError,
) -> None:
    """The end of every command that reports: for people (on stdout, or on
    stderr when the JSON is asked for: stdout then holds the JSON alone), and
    an exit code other than 0 when its ``ok`` (a computed field, so it is in
    the JSON) says no."""
    from relbuild.system import ui

    if as_json:
        ui.print_json(report)
        with ui.json_on_stdout():
            render(report)
    else:
        render(report)
    if not getattr(report, "ok", True):
        raise failure


def json_option(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option("--json", "as_json", is_flag=True, help=f"{what} as JSON on stdout.")


class AliasedOption(click.Option):
    """An option whose old spellings (``hidden_opts``) still parse but are not
    shown in ``--help``: one spelling per meaning across the commands."""

    def __init__(self, *args: Any, hidden_opts: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hidden_opts = hidden_opts

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        shown, self.opts = self.opts, [o for o in self.opts if o not in self.hidden_opts]
        try:
            return super().get_help_record(ctx)
        finally:
            self.opts = shown


def out_option(
    what: str, *, dir_okay: bool = False, file_okay: bool = True, **kwargs: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """-o/--out: the one path a command writes (a folder, a file, a prefix),
    in every command; ``--output``, its old spelling, is a hidden alias."""
    return click.option(
        "-o",
        "--out",
        "--output",
        "out",
        cls=AliasedOption,
        hidden_opts=("--output",),
        type=click.Path(path_type=Path, dir_okay=dir_okay, file_okay=file_okay),
        help=what,
        **kwargs,
    )


def _gone_version(_ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        from relbuild.errors import UsageError

        raise UsageError(
            "--version on a command is gone: the release's version is --release-version "
            "VERSION; relbuild's own version is `relbuild --version`"
        )


def release_version_option(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--release-version: the version of the release a command writes. The
    old ``--version`` clashed with relbuild's own ``--version``: it now says
    so (exit 2) rather than take a value."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        func = click.option(
            "--version",
            "gone_version",
            hidden=True,
            is_flag=False,
            flag_value="",
            default=None,
            expose_value=False,
            callback=_gone_version,
        )(func)
        return click.option("--release-version", "version", metavar="VERSION", help=what)(func)

    return decorate


def config_anywhere(command: click.Command) -> None:
    """``--config`` after the subcommand as well as before it (for this
    command and, in a group, every subcommand)."""

    def take(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
        app = ctx.find_object(App)
        if value is None or app is None:
            return
        if app.config_path is not None and app.config_path != value:
            from relbuild.errors import UsageError

            raise UsageError(f"--config given twice: {app.config_path} and {value}")
        app.config_path = value

    if isinstance(command, click.Group):
        for sub in command.commands.values():
            config_anywhere(sub)
        return
    command.params.append(
        click.Option(
            ["-c", "--config", "config_after"],
            type=click.Path(path_type=Path, dir_okay=False),
            expose_value=False,
            callback=take,
            help="toolchains.toml to use, as `relbuild --config` before the command.",
        )
    )


def jobs_option(meaning: str, default: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """-j/--jobs: one meaning per command, said in its help."""
    return click.option(
        "-j",
        "--jobs",
        type=click.IntRange(1, 64),
        default=None,
        help=f"{meaning} (default: {default}).",
    )


target_option = click.option(
    "-t",
    "--target",
    "targets",
    multiple=True,
    metavar="TRIPLE",
    help="Only this target (repeatable). Default: every target, in the config's order.",
)
component_option = click.option(
    "-p",
    "--component",
    "components",
    multiple=True,
    metavar="NAME",
    help="Only this component (repeatable); a Go program brings the staticlibs it links.",
)
epoch_option = click.option(
    "--source-date-epoch",
    metavar="SECONDS",
    help="Time stamp for the outputs. Default: $SOURCE_DATE_EPOCH, else the last commit's time.",
)
cache_option = click.option(
    "--cache-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Build caches and logs (default: .relbuild beside toolchains.toml).",
)
location_argument = click.argument("location", type=click.Path(path_type=Path), default="dist")
