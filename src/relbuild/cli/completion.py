"""`relbuild completion bash|zsh|fish`: the shell's completion script, from
click's own completion (commands, options, choices and paths)."""

from __future__ import annotations

import click

SHELLS = ("bash", "zsh", "fish")


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
def completion_cmd(shell: str) -> None:
    """Print the completion script for SHELL. To turn it on:

    \b
      bash: relbuild completion bash > ~/.local/share/bash-completion/completions/relbuild
      zsh:  relbuild completion zsh > "${fpath[1]}/_relbuild"
      fish: relbuild completion fish > ~/.config/fish/completions/relbuild.fish

    Exit 0 printed, 2 a shell relbuild has no script for."""
    from click.shell_completion import get_completion_class

    from relbuild.cli import cli

    found = get_completion_class(shell)
    assert found is not None  # one of SHELLS, which click ships
    click.echo(found(cli, {}, "relbuild", "_RELBUILD_COMPLETE").source())


COMMANDS = [completion_cmd]
