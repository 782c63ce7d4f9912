"""The one helper that starts child processes.

Every tool relbuild runs goes through :func:`run`: the argv is resolved to an
absolute path on the *child's* PATH, the environment is explicit, output is
captured (and teed to a per-step log when one is given), and a failure is
raised as :class:`~relbuild.errors.CommandError` naming the command, its exit
code, the log and the tail of the output.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from relbuild.errors import CommandError, ToolchainError

TAIL_LINES = 25


@dataclass(frozen=True)
class Result:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool = False
    # CPU seconds (user + system) of the child and every descendant it
    # waited for: its own rusage from wait4, right whatever else runs in
    # other threads of this process (RUSAGE_CHILDREN deltas are not).
    cpu_seconds: float = 0.0

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class _Popen(subprocess.Popen[str]):
    """Popen that reaps its child with wait4, keeping the child's rusage.
    ``_try_wait`` is where every ``wait()`` of CPython's POSIX Popen reaps."""

    cpu_seconds = 0.0

    def _try_wait(self, wait_flags: int) -> tuple[int, int]:
        try:
            pid, status, usage = os.wait4(self.pid, wait_flags)
        except ChildProcessError:
            return self.pid, 0
        if pid == self.pid:
            self.cpu_seconds = usage.ru_utime + usage.ru_stime
        return pid, status


def quote(argv: Sequence[str]) -> str:
    return shlex.join(argv)


def which(tool: str, env: Mapping[str, str] | None = None) -> str | None:
    """Absolute path of ``tool`` on the PATH the child will see."""
    if os.path.isabs(tool):
        return tool if os.access(tool, os.X_OK) and os.path.isfile(tool) else None
    path = (env if env is not None else os.environ).get("PATH", os.defpath)
    found = shutil.which(tool, path=path)
    return os.path.abspath(found) if found else None


def tail(text: str, lines: int = TAIL_LINES) -> str:
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    log: Path | None = None,
    check: bool = True,
    timeout: float | None = None,
    on_line: Callable[[str], None] | None = None,
    input_text: str | None = None,
    umask: int = -1,
) -> Result:
    """Run ``argv`` and return its output.

    With ``log`` (or ``on_line``) stdout and stderr are merged in the order the
    child wrote them and streamed to the log file (and the callback); without,
    both are captured separately, which is what probes such as
    ``rustc -vV`` want. ``timeout`` kills the child's whole process group.
    """
    args = [os.fspath(a) for a in argv]
    exe = which(args[0], env)
    if exe is None:
        if os.path.isabs(args[0]):
            raise ToolchainError(f"`{args[0]}` does not exist or is not an executable file")
        raise ToolchainError(
            f"`{args[0]}` was not found",
            hint=f"looked on PATH={(env or os.environ).get('PATH', '')!r}",
        )
    args[0] = exe
    merged = log is not None or on_line is not None
    try:
        proc = _Popen(
            args,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merged else subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,
            umask=umask,
        )
    except OSError as exc:
        raise ToolchainError(f"cannot start `{quote(args)}`: {exc.strerror or exc}") from exc

    timed_out = False
    try:
        if merged:
            stdout, stderr = _stream(proc, log, on_line, timeout, input_text)
        else:
            stdout, stderr = proc.communicate(input=input_text, timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill(proc)
        stdout, stderr = proc.communicate()
        stdout = stdout or ""
        stderr = (stderr or "") + f"\n[relbuild] killed after {timeout:g} s timeout\n"
    except BaseException:
        # Ctrl-C or any other interruption: never leave a build running behind.
        _kill(proc)
        proc.wait()
        raise
    result = Result(
        args, proc.returncode, stdout or "", stderr or "", timed_out, round(proc.cpu_seconds, 3)
    )
    if check and (proc.returncode != 0 or timed_out):
        what = "timed out" if timed_out else f"exited with code {proc.returncode}"
        raise CommandError(
            f"`{quote(args)}` {what}",
            argv=args,
            returncode=proc.returncode,
            log=str(log) if log else None,
            output_tail=tail(result.output),
        )
    return result


def _stream(
    proc: _Popen,
    log: Path | None,
    on_line: Callable[[str], None] | None,
    timeout: float | None,
    input_text: str | None,
) -> tuple[str, str]:
    if timeout is not None or input_text is not None:
        # Simple and bounded: collect, then write; used for short commands.
        out, _ = proc.communicate(input=input_text, timeout=timeout)
        if log is not None:
            with log.open("a", encoding="utf-8") as logf:
                logf.write(out)
        if on_line is not None:
            for line in out.splitlines():
                on_line(line)
        return out, ""
    assert proc.stdout is not None
    chunks: list[str] = []
    with contextlib.ExitStack() as stack:
        fh: TextIO | None = None
        if log is not None:
            fh = stack.enter_context(log.open("a", encoding="utf-8"))
        for line in proc.stdout:
            chunks.append(line)
            if fh is not None:
                fh.write(line)
            if on_line is not None:
                on_line(line.rstrip("\n"))
    proc.wait()
    return "".join(chunks), ""


def _kill(proc: _Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
