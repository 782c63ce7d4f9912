"""`relbuild ci github|gitlab`: the release workflow of a CI, printed."""

from __future__ import annotations

from typing import Any

import click

from relbuild.cli.app import App, json_option


@click.group("ci")
def ci_cmd() -> None:
    """Print a release workflow that builds the targets on the CI's matrix and merges them."""


def _ci_options(func: Any) -> Any:
    func = click.option(
        "--per-runner",
        type=click.IntRange(1, 1000),
        default=None,
        metavar="N",
        help="At most N targets on each runner (default: 1, or a whole group).",
    )(func)
    return click.option(
        "--group-by",
        type=click.Choice(["none", "kind"]),
        default="none",
        show_default=True,
        help="'kind' keeps hosted and bare-metal targets on separate runners.",
    )(func)


@ci_cmd.command("github")
@_ci_options
@json_option("Print the workflow and where it goes")
@click.pass_obj
def ci_github_cmd(app: App, per_runner: int | None, group_by: str, as_json: bool) -> None:
    """A GitHub Actions workflow: plan, build per matrix entry, merge, verify.

    Exit 0 printed, 2 unusable config."""
    from relbuild.ci.workflows import github

    text = github(app.config(), per_runner=per_runner, group_by=group_by)  # type: ignore[arg-type]
    _workflow("github", ".github/workflows/release.yml", text, as_json)


@ci_cmd.command("gitlab")
@_ci_options
@json_option("Print the pipeline and where it goes")
@click.pass_obj
def ci_gitlab_cmd(app: App, per_runner: int | None, group_by: str, as_json: bool) -> None:
    """A GitLab CI pipeline: plan, build per parallel:matrix entry, merge, verify.

    Exit 0 printed, 2 unusable config."""
    from relbuild.ci.workflows import gitlab

    text = gitlab(app.config(), per_runner=per_runner, group_by=group_by)  # type: ignore[arg-type]
    _workflow("gitlab", ".gitlab-ci.yml", text, as_json)


def _workflow(ci: str, path: str, text: str, as_json: bool) -> None:
    if not as_json:
        click.echo(text, nl=False)
        return
    from relbuild.cli.shapes import Workflow
    from relbuild.system import ui

    ui.print_json(Workflow(ci=ci, path=path, text=text))


COMMANDS = [ci_cmd]
