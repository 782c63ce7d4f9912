"""The ABI boundary check: a staticlib's C header, its real exports (symbol
table and DWARF) and the cgo declarations of the Go programs that link it,
held against each other per target. See docs/abi.md."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from relbuild.abi.model import AbiReport
    from relbuild.config import LoadedConfig


def abi(
    loaded: LoadedConfig,
    targets: Sequence[str] = (),
    *,
    cache: Path | None = None,
    offline: bool = False,
) -> AbiReport:
    """`relbuild abi`: build the staticlibs that cgo programs link, then check
    each target's C boundary."""
    from relbuild.pipeline.abi import standalone

    return standalone(loaded, targets, cache=cache, offline=offline)
