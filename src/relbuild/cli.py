"""The click layer: parse, call one core function, render. Nothing else.

Heavy imports happen inside the commands so that ``relbuild --help`` is
instant.
"""

from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import click

from relbuild import __version__
from relbuild.errors import RelbuildError

if TYPE_CHECKING:
    from relbuild.config import LoadedConfig


@dataclass
class App:
    """What every command shares: the config location and the options."""

    config_path: Path | None
    debug: bool = False
    _loaded: LoadedConfig | None = field(default=None, repr=False)

    def config(self) -> LoadedConfig:
        from relbuild.config import find_config, load_config

        if self._loaded is None:
            path = self.config_path or find_config()
            self._loaded = load_config(path)
        return self._loaded


_DEBUG = False


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="relbuild")
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="toolchains.toml to use (default: ./toolchains.toml or the nearest parent's).",
)
@click.option("--debug", is_flag=True, help="Show Python tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, debug: bool) -> None:
    """Reproducible release builds for projects that mix Go and Rust.

    Exit codes: 0 success, 1 a build failed or a check found something,
    2 usage or config error, 3 toolchain missing or not matching its pin.
    """
    global _DEBUG  # noqa: PLW0603 - main() needs it after click has returned
    _DEBUG = debug
    ctx.obj = App(config_path=config_path, debug=debug)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@click.pass_obj
def doctor(app: App, as_json: bool) -> None:
    """Check the pinned toolchains and what every target needs."""
    from relbuild import environ, ui
    from relbuild.doctor import run_doctor
    from relbuild.render import render_doctor

    report = run_doctor(app.config(), environ.probe_env())
    if as_json:
        ui.print_json({**report.model_dump(mode="json"), "ok": report.ok})
    render_doctor(report)
    if not report.ok:
        sys.exit(3)


@cli.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the schema to this file instead of stdout.",
)
def schema(output: Path | None) -> None:
    """Print the JSON Schema of toolchains.toml."""
    import json

    from relbuild.config import Config
    from relbuild.fsutil import atomic_write

    text = json.dumps(Config.model_json_schema(by_alias=True), indent=2, sort_keys=True) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        atomic_write(output, text.encode())


@cli.command()
@click.argument(
    "project", type=click.Path(path_type=Path, file_okay=False, exists=True), default="."
)
@click.option("--force", is_flag=True, help="Replace an existing toolchains.toml.")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where to write (default: PROJECT/toolchains.toml).",
)
def init(project: Path, force: bool, output: Path | None) -> None:
    """Write a starting toolchains.toml for PROJECT, pinned to what is installed."""
    from relbuild import environ, ui
    from relbuild.scaffold import write_scaffold

    out = output or project / "toolchains.toml"
    write_scaffold(project.resolve(), out, environ.probe_env(), force)
    ui.err.print(f"wrote {out}; check it, then run `relbuild doctor`")


def main() -> None:
    try:
        cli.main(prog_name="relbuild", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except RelbuildError as exc:
        if _DEBUG:
            traceback.print_exc()
        from relbuild.ui import err

        err.print(f"error: {exc}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
