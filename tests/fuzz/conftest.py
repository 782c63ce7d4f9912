"""The fuzz suite: property tests over every reader of hostile input.

CI runs a bounded, fixed set of examples (``derandomize``: the same inputs
every run, so a failure is reproducible and CI is stable; no deadline, since
CI machines are shared and slow). For a long local run,
``RELBUILD_FUZZ_SCALE=50`` multiplies every count and ``RELBUILD_FUZZ_RANDOM=1``
draws new inputs (``pytest --hypothesis-seed=N`` to repeat a run).
"""

from __future__ import annotations

import os
import subprocess
from typing import Any, NoReturn

import pytest
from hypothesis import HealthCheck, settings

SCALE = float(os.environ.get("RELBUILD_FUZZ_SCALE", "1"))

settings.register_profile(
    "relbuild",
    derandomize=os.environ.get("RELBUILD_FUZZ_RANDOM") != "1",
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("relbuild")


def examples(n: int) -> int:
    """The number of examples a target runs: ``n`` in CI, scaled locally."""
    return max(1, int(n * SCALE))


@pytest.fixture(autouse=True)
def _no_subprocess(monkeypatch: pytest.MonkeyPatch) -> None:
    """Readers read bytes: starting a process here is a bug."""

    def refuse(*args: Any, **kwargs: Any) -> NoReturn:
        raise AssertionError(f"fuzz test tried to start a process: {args[0]!r}")

    monkeypatch.setattr(subprocess, "Popen", refuse)
