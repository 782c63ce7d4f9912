"""The click layer: parse, call one core function, render. Nothing else.

Each command `relbuild X` is the click function ``X_cmd`` (in starting.py,
making.py, checking.py, signing.py, ci.py, repro.py, history.py, series.py
or completion.py), which calls one core function of the package that owns it.

Heavy imports happen inside the commands so that ``relbuild --help`` is
instant.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

import click

from relbuild import __version__
from relbuild.cli import (
    checking,
    ci,
    completion,
    history,
    making,
    repro,
    series,
    signing,
    starting,
)
from relbuild.cli.app import App, config_anywhere
from relbuild.errors import NegativeReportError, RelbuildError

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


for _command in (
    *starting.COMMANDS,
    *making.COMMANDS,
    *ci.COMMANDS,
    *checking.COMMANDS,
    *repro.COMMANDS,
    *signing.COMMANDS,
    *history.COMMANDS,
    *series.COMMANDS,
    *completion.COMMANDS,
):
    config_anywhere(_command)
    cli.add_command(_command)


def main() -> None:
    from relbuild.system import signals

    signals.install()
    try:
        cli.main(prog_name="relbuild", standalone_mode=False)
    except click.exceptions.Abort as exc:
        # click turns a KeyboardInterrupt (and so a SIGTERM) into Abort.
        _interrupted(exc.__cause__ or exc.__context__)
    except click.ClickException as exc:
        import io

        from relbuild.system.escaping import escape

        # Usage errors echo arguments back, and an argument may be a hostile name.
        usage = io.StringIO()
        exc.show(file=usage)
        sys.stderr.write(escape(usage.getvalue()))
        sys.exit(2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except NegativeReportError as exc:
        sys.exit(exc.exit_code)  # the report has said why
    except RelbuildError as exc:
        if _DEBUG:
            traceback.print_exc()
        from relbuild.system.ui import err

        err.print(f"error: {exc}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt as exc:
        _interrupted(exc)
    except OSError as exc:
        # The filesystem refused something the user pointed us at (a
        # permission, a full disk): one sentence, not a traceback.
        if _DEBUG:
            traceback.print_exc()
        from relbuild.system.escaping import shown
        from relbuild.system.ui import err

        where = f" {shown(exc.filename)}" if exc.filename else ""
        err.print(f"error: cannot access{where}: {exc.strerror or exc}")
        sys.exit(2)


def _interrupted(exc: BaseException | None) -> None:
    from relbuild.system.signals import Terminated

    if isinstance(exc, Terminated):
        click.echo(f"terminated ({exc})", err=True)
        sys.exit(exc.exit_code)
    click.echo("interrupted", err=True)
    sys.exit(130)
