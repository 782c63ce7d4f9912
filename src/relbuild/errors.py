"""The one error hierarchy. Each class carries the exit code the CLI returns.

Exit codes (documented in README.md):
  0  success
  1  the build, a check or a comparison failed (a finding)
  2  usage or configuration error, unusable input
  3  a toolchain does not match its pin, or is missing
"""

from __future__ import annotations


class RelbuildError(Exception):
    """Base class: a problem the user can act on. Printed without traceback."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n{self.hint}"
        return self.message


class ConfigError(RelbuildError):
    """A mistake in toolchains.toml or in the command line."""

    exit_code = 2


class UsageError(RelbuildError):
    """Input the command cannot use (a missing folder, malformed JSON...)."""

    exit_code = 2


class ToolchainError(RelbuildError):
    """A tool is missing or does not match its pin.

    ``found`` is the version that was found instead, when one was.
    """

    exit_code = 3

    def __init__(self, message: str, *, hint: str | None = None, found: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.found = found


class NegativeReportError(RelbuildError):
    """A command ran and its report, already shown, says no (a finding, a
    difference, a failed test): exit with the code, say nothing more."""

    exit_code = 1

    def __init__(self) -> None:
        super().__init__("the report says no")


class ToolchainsNotReadyError(NegativeReportError):
    """doctor's report: a pin or a target need is not satisfied."""

    exit_code = 3


class ConfigNotReadyError(NegativeReportError):
    """check's report: the config or the project's locks are not ready to build."""

    exit_code = 2


class BuildError(RelbuildError):
    """A build step failed."""

    exit_code = 1


class CommandError(BuildError):
    """A child process failed; carries what is needed to report it."""

    def __init__(
        self,
        message: str,
        *,
        argv: list[str],
        returncode: int,
        log: str | None = None,
        output_tail: str = "",
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.argv = argv
        self.returncode = returncode
        self.log = log
        self.output_tail = output_tail

    def __str__(self) -> str:
        parts = [self.message]
        if self.output_tail:
            parts.append("last lines of output:\n" + self.output_tail)
        if self.log:
            parts.append(f"full log: {self.log}")
        if self.hint:
            parts.append(self.hint)
        return "\n".join(parts)


class MalformedFileError(UsageError, ValueError):
    """A file relbuild reads is malformed: an ELF file, an archive, an Intel
    HEX image. A ValueError too, so that callers which treat any unreadable
    ELF file as "not an ELF file" keep doing so."""
