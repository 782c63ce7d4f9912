"""Boot cost in guest instructions, a figure that does not move with the
machine's load.

The firmware's smoke test runs in qemu-system with ``-icount
shift=0,sleep=off`` (the virtual clock advances one nanosecond per guest
instruction and never waits for the host, so timers fire at the same
instruction on every run), one instruction per translation block
(``-singlestep``) and block chaining off, with QEMU's ``exec`` log on: each
executed instruction is one ``Trace`` line. The log goes to a FIFO that a
thread counts as QEMU writes it, so a long run costs no disk. The count
runs to the firmware's exit through semihosting, which the smoke test
requires right after the expected line.

Debian's QEMU 7.2 ships no TCG plugins (libinsn.so), hence the log.
"""

from __future__ import annotations

import contextlib
import os
import select
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

_MARK = b"Trace "


def counting_args(log: Path) -> list[str]:
    """QEMU options that make the run count its instructions into ``log``."""
    return [
        "-icount", "shift=0,align=off,sleep=off",
        "-singlestep",
        "-d", "exec,nochain",
        "-D", str(log),
    ]  # fmt: skip


@dataclass
class Counter:
    fifo: Path
    count: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        # Read and write: opening never blocks, whether QEMU opens its end
        # or not, and the stop event (not EOF) ends the loop once drained.
        fd = os.open(self.fifo, os.O_RDWR | os.O_NONBLOCK)
        carry = b""
        try:
            while True:
                ready, _, _ = select.select([fd], [], [], 0.05)
                if not ready:
                    if self._stop.is_set():
                        return
                    continue
                data = carry + os.read(fd, 1 << 16)
                self.count += data.count(_MARK)
                # A mark cut in two by the chunk's end is counted next time;
                # the bytes kept are too few to hold a whole one again.
                carry = data[-(len(_MARK) - 1) :]
        finally:
            os.close(fd)


@contextlib.contextmanager
def counting() -> Iterator[tuple[list[str], Counter]]:
    """QEMU options to add, and the counter whose ``count`` holds the
    number of instructions once the block has ended."""
    with tempfile.TemporaryDirectory(prefix="relbuild-boot-") as tmp:
        fifo = Path(tmp) / "exec.log"
        os.mkfifo(fifo, 0o600)
        counter = Counter(fifo)
        thread = threading.Thread(target=counter.run, daemon=True)
        thread.start()
        try:
            yield counting_args(fifo), counter
        finally:
            counter._stop.set()
            thread.join()
