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
