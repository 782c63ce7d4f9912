"""Build progress for people, on stderr: a live status on a terminal, plain
lines in CI or when piped. Thread-safe, since targets may build side by side."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Protocol

from rich.status import Status

from relbuild.system.ui import err, in_ci


class Reporter(Protocol):
    def start(self, label: str) -> None: ...
    def finish(self, label: str, seconds: float, ok: bool) -> None: ...
    def close(self) -> None: ...


class PlainReporter:
    def __init__(self) -> None:
        self._lock = threading.Lock()

    def start(self, label: str) -> None:
        with self._lock:
            err.print(f"build: {label} ...")

    def finish(self, label: str, seconds: float, ok: bool) -> None:
        with self._lock:
            err.print(f"build: {label} {'ok' if ok else 'FAILED'} ({seconds:.1f} s)")

    def close(self) -> None:
        pass


class LiveReporter:
    """A spinner naming what runs now; a line for each finished step."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: list[str] = []
        self._status = Status("starting", console=err)
        self._status.start()

    def _refresh(self) -> None:
        self._status.update("building " + ", ".join(self._running) if self._running else "")

    def start(self, label: str) -> None:
        with self._lock:
            self._running.append(label)
            self._refresh()

    def finish(self, label: str, seconds: float, ok: bool) -> None:
        with self._lock:
            if label in self._running:
                self._running.remove(label)
            err.print(f"{'✓' if ok else '✗'} {label} ({seconds:.1f} s)")
            self._refresh()

    def close(self) -> None:
        self._status.stop()


@contextlib.contextmanager
def reporting() -> Iterator[Reporter]:
    """Plain lines in CI or when piped, a live status on a terminal."""
    reporter: Reporter = PlainReporter() if in_ci() else LiveReporter()
    try:
        yield reporter
    finally:
        reporter.close()
