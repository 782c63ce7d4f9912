from __future__ import annotations

import subprocess
from typing import Any, NoReturn

import pytest

# Made before the patch below, whatever test imports it first: its Popen
# subclass must exist before subprocess.Popen is replaced.
import relbuild.system.proc  # noqa: F401


@pytest.fixture(autouse=True)
def _no_subprocess(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests test pure logic: starting a real tool here is a bug."""

    def refuse(*args: Any, **kwargs: Any) -> NoReturn:
        raise AssertionError(f"unit test tried to start a process: {args[0]!r}")

    # relbuild.system.proc subclasses Popen (to reap with wait4): its class
    # was made before this patch, so the start of any child is refused too.
    monkeypatch.setattr(subprocess.Popen, "_execute_child", refuse)
    monkeypatch.setattr(subprocess, "Popen", refuse)
