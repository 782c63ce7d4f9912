from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from relbuild.cli import main

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "beacon"
CONFIG = REPO / "toolchains.toml"

CliResult = tuple[int, str, str]


@pytest.fixture
def relbuild(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., CliResult]:
    """Run the real entry point in-process: exit code, stdout, stderr."""

    def call(*args: str | Path) -> CliResult:
        monkeypatch.setattr(sys, "argv", ["relbuild", *map(str, args)])
        capsys.readouterr()
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return code, out, err

    return call
