"""Progress for people, on stderr: a live status on a terminal, plain lines
in CI or when piped. The build's reporter is thread-safe, since targets may
build side by side; a Meter follows one long check (verify)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
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


class Meter:
    """Progress of one long check (verify's hashing, its leak scan) on
    stderr: nothing for a run shorter than ``after`` seconds; then a live
    line on a terminal, or a plain line at most every ``every`` seconds in a
    log or a pipe. Fed ``(what, done, total)``, from one thread."""

    def __init__(
        self,
        command: str,
        *,
        after: float = 1.0,
        every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        live: bool | None = None,
    ) -> None:
        self._command = command
        self._after, self._every, self._clock = after, every, clock
        self._start = clock()
        self._said = -1.0
        self._live = not in_ci() if live is None else live
        self._status: Status | None = None

    def __call__(self, what: str, done: int, total: int) -> None:
        now = self._clock()
        if now - self._start < self._after:
            return
        pct = 100 * done / total if total else 100.0
        line = f"{self._command}: {what} {pct:.0f}% ({_amount(what, done, total)})"
        if self._live:
            if self._status is None:
                self._status = Status(line, console=err)
                self._status.start()
            else:
                self._status.update(line)
        elif self._said < 0 or now - self._said >= self._every or done == total:
            self._said = now
            err.print(line)

    def close(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


def _amount(what: str, done: int, total: int) -> str:
    if what == "hashing":
        return f"{done / 2**20:.1f} of {total / 2**20:.1f} MiB"
    return f"{done} of {total}"


@contextlib.contextmanager
def metering(command: str) -> Iterator[Meter]:
    meter = Meter(command)
    try:
        yield meter
    finally:
        meter.close()
