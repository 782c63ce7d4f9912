"""``<firmware>.size.json``: a firmware's flash split by crate and its
largest symbols, written beside the ELF and listed in the manifest (kind
``file``), so `relbuild size --crates/--symbols/--compare` and `relbuild
diff` can say which crate and which function grew.

Written with sorted keys and a fixed order of symbols (largest first, then
by name), so two builds of the same sources give the same bytes; read back
with bounds, a hostile file is a UsageError (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from relbuild.errors import UsageError
from relbuild.release.safefs import read_regular, safe_relpath, walk_to
from relbuild.system import bounded

SUFFIX = ".size.json"
MAX_SIZE_FILE_BYTES = 8 * 1024 * 1024
MAX_JSON_VALUES = 200_000
MAX_SYMBOLS = 2000


class SymbolSize(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(max_length=4096, description="demangled")
    crate: str = Field(max_length=256, description="'?' where the name does not say")
    section: str = Field(max_length=256)
    size: int = Field(ge=0)


class SizeFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["relbuild-size-1"] = "relbuild-size-1"
    firmware: str = Field(description="the ELF's name in the dist")
    flash: int = Field(ge=0)
    crates: dict[str, int] = Field(description="flash bytes per crate; they add up to flash")
    symbols: list[SymbolSize] = Field(
        max_length=MAX_SYMBOLS, description=f"the {MAX_SYMBOLS} largest in flash, largest first"
    )

    def to_bytes(self) -> bytes:
        data = self.model_dump(mode="json")
        return (json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def size_file_name(elf_rel: str) -> str:
    return elf_rel.removesuffix(".elf") + SUFFIX


def read_size_file(folder: Path, rel: str) -> SizeFile | None:
    """The size file at ``rel`` in the dist ``folder``, None where there is
    no such file (a manifest compared without its folder); UsageError for a
    path that leaves the folder, a link, an oversized or malformed file."""
    why = safe_relpath(rel)
    path, link = walk_to(folder, rel) if why is None else (None, why)
    if path is None and (why or link):
        raise UsageError(f"{folder / rel}: {link or why}; not a usable size file")
    if path is None or not path.exists():
        return None
    try:
        raw = read_regular(path, MAX_SIZE_FILE_BYTES)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        data = bounded.loads(raw, max_values=MAX_JSON_VALUES)
        return bounded.validate(SizeFile, data, limit=5)
    except bounded.DocumentError as exc:
        raise UsageError(f"{path}: {exc}; not a usable size file") from None
    except bounded.Problems as exc:
        lines = [f"  {bounded.format_loc(loc)}: {msg}" for loc, msg in exc.problems]
        raise UsageError(f"{path}: not a valid size file:\n" + "\n".join(lines)) from None
    except RecursionError:
        raise UsageError(f"{path}: nested too deeply to be a size file") from None
