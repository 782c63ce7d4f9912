"""imgtool, MCUboot's own image tool: found beside the Python that runs
relbuild (the `relbuild[firmware]` extra installs it there), else on PATH.
doctor asks it for a target whose firmware has an `mcuboot` image; the
build's image stage (pipeline/images.py) runs it."""

from __future__ import annotations

import sys
from pathlib import Path

from relbuild.backends.base import Check, need
from relbuild.config import LoadedConfig, TargetConfig
from relbuild.errors import ToolchainError
from relbuild.system import proc

IMGTOOL = "imgtool"
HINT = "pip install imgtool==2.5.0 (or relbuild[firmware])"


def which() -> str | None:
    beside = Path(sys.executable).parent / IMGTOOL
    return str(beside) if beside.is_file() else proc.which(IMGTOOL)


def find() -> str:
    found = which()
    if found is None:
        raise ToolchainError("imgtool (MCUboot) is needed to make the MCUboot images", hint=HINT)
    return found


def checks(loaded: LoadedConfig, target: TargetConfig) -> list[Check]:
    """imgtool, where a firmware of ``target`` asks for an MCUboot image."""
    rust = loaded.config.rust
    if not any(c in rust and rust[c].mcuboot is not None for c in target.components):
        return []
    found = which()
    detail = found or "not found beside relbuild's Python nor on PATH"
    return [need(target.triple, "imgtool (MCUboot images)", found is not None, detail, HINT)]
