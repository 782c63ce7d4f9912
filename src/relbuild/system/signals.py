"""Termination signals as exceptions, and the short sections they wait for.

By default SIGTERM and SIGHUP end the process at once, so no ``finally``
runs and a temp file stays behind. After :func:`install`, inside
:func:`guarded` (while temp files exist) they raise :class:`Terminated` (a
``KeyboardInterrupt``, so every cleanup written for Ctrl-C runs for them
too); inside :func:`deferred` a signal is held until the section ends:
renaming three finished files into place is never cut in half. Anywhere else
they keep their default action, so a build still stops at once (its steps
die with it) rather than waiting for the steps it is running.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


class Terminated(KeyboardInterrupt):
    """The process was asked to stop by a signal other than Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


_lock = threading.Lock()
_depth = 0
_guards = 0
_pending: int | None = None


def _handler(signum: int, frame: FrameType | None) -> None:
    global _pending  # noqa: PLW0603 - signal state is process-wide by nature
    with _lock:
        if _depth:
            _pending = signum
            return
        guarded_now = _guards > 0
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    if not guarded_now:
        # Nothing to clean up: the default action, as if never installed.
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    raise Terminated(signum)


@contextmanager
def guarded() -> Iterator[None]:
    """While the block runs, a termination signal raises Terminated, so the
    block's cleanup (removing its temp files) runs."""
    global _guards  # noqa: PLW0603
    with _lock:
        _guards += 1
    try:
        yield
    finally:
        with _lock:
            _guards -= 1


def install() -> None:
    """Route SIGTERM, SIGHUP and SIGINT through the handler (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in _SIGNALS:
        signal.signal(sig, _handler)


@contextmanager
def deferred() -> Iterator[None]:
    """Hold termination signals until the block ends, then act on them."""
    global _depth, _pending  # noqa: PLW0603
    with _lock:
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            signum = _pending if _depth == 0 else None
            if signum is not None:
                _pending = None
        if signum is not None:
            # Delivered again, now that nothing holds it: the handler raises
            # in the main thread, wherever the section ran.
            os.kill(os.getpid(), signum)
