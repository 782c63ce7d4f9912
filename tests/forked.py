"""The real entry point run in a forked child, so a test can kill it, cap its
resources or measure it without starting a new interpreter (which unit
tests may not)."""

from __future__ import annotations

import io
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Outcome:
    exit_code: int | None  # None when a signal ended the child
    signal: int | None
    stderr: str


def run_cli(*args: str | Path, setup: Callable[[], None] | None = None) -> Outcome:
    """``relbuild ARGS`` in a forked child; ``setup`` runs in the child first."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 99
        try:
            os.close(read)
            os.dup2(write, 2)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), write_through=True)
            sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=True)
            if setup is not None:
                setup()
            from relbuild.cli import main

            sys.argv = ["relbuild", *map(str, args)]
            try:
                main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as fh:
        stderr = fh.read().decode(errors="replace")
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return Outcome(None, os.WTERMSIG(status), stderr)
    return Outcome(os.WEXITSTATUS(status), None, stderr)
