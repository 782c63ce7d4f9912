"""Whether a Rust binary is firmware, as `relbuild init` decides it: its
root file says ``#![no_std]`` (also inside ``#![cfg_attr(..., no_std)]``)
and the crate has a linker script (a ``memory.x`` or ``link.x`` beside its
manifest or its workspace's, a ``-T`` its build.rs passes, or a ``-T`` in
the rustflags of a ``.cargo/config.toml``). Such a binary is built for
bare-metal targets only; the ones suggested come from the ``[build]
target`` of ``.cargo/config.toml``, else from the architecture the crate
names (cortex-m or riscv). Files are read as text, bounded, never run.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from relbuild.backends.cargo_meta import Crate
from relbuild.config import triples
from relbuild.project import treescan
from relbuild.project.buildrs import passes_linker_script

ARM = "thumbv7em-none-eabihf"  # Cortex-M4F/M7F: the most common Cortex-M
RISCV = "riscv32imac-unknown-none-elf"
SCRIPTS = ("memory.x", "link.x")
_ATTR_SPAN = 2000  # characters of one `#![...]` attribute looked at
_CARGO_CONFIGS = (".cargo/config.toml", ".cargo/config")
_RUSTFLAGS_T = re.compile(r"""link-arg=-T|["']-T""")


@dataclass(frozen=True)
class Firmware:
    why: str  # the linker script found, said in a note
    triples: tuple[str, ...]  # bare-metal targets suggested for it
    guessed: bool  # no architecture named anywhere: a Cortex-M guess

    def note(self, name: str) -> str:
        guess = " (a guess: the crate names no architecture)" if self.guessed else ""
        return (
            f"{name} is no_std with a linker script ({self.why}): kind = 'firmware', built "
            f"for {', '.join(self.triples)}{guess}; choose others with --target or "
            "--targets embedded-arm"
        )


def no_std(text: str) -> bool:
    """Whether a crate root's inner attributes include ``no_std``; linear
    in the text (each ``#![`` looks at most a fixed span ahead)."""
    start = text.find("#![")
    while start >= 0:
        end = text.find("]", start + 3, start + _ATTR_SPAN)
        if end > 0:
            attr = text[start + 3 : end]
            words = re.findall(r"\w+", attr)
            if words[:1] == ["no_std"] or (words[:1] == ["cfg_attr"] and "no_std" in words):
                return True
        start = text.find("#![", start + 3)
    return False


def firmware_of(root: Path, workspace: Path, crate: Crate, src_path: str) -> Firmware | None:
    """The firmware facts of the binary of ``crate`` whose root file is
    ``src_path``, or None when it is an ordinary program."""
    crate_dir = Path(crate.manifest_path).parent
    if not no_std(_text(root, Path(src_path), treescan.SOURCE_LIMIT)):
        return None
    build_rs = next((t.src_path for t in crate.targets if "custom-build" in t.kinds), "")
    build_text = _text(root, Path(build_rs), treescan.MANIFEST_LIMIT) if build_rs else ""
    configs = [
        _text(root, folder / name, treescan.MANIFEST_LIMIT)
        for folder in dict.fromkeys((crate_dir, workspace, root))
        for name in _CARGO_CONFIGS
    ]
    why = next(
        (
            f"{_shown(root, folder / name)}"
            for folder in dict.fromkeys((crate_dir, workspace))
            for name in SCRIPTS
            if (folder / name).is_file()
        ),
        None,
    )
    if why is None and build_text and passes_linker_script(build_text):
        why = f"{_shown(root, Path(build_rs))} passes -T"
    if why is None and any(_RUSTFLAGS_T.search(c) for c in configs):
        why = ".cargo/config.toml passes -T"
    if why is None:
        return None
    chosen = [t for c in configs for t in _build_targets(c)]
    if chosen:
        return Firmware(why, tuple(dict.fromkeys(chosen)), guessed=False)
    manifest = _text(root, Path(crate.manifest_path), treescan.MANIFEST_LIMIT)
    named = (manifest + build_text).lower()
    found = [
        t
        for t, words in ((ARM, ("cortex-m", '"arm"')), (RISCV, ("riscv",)))
        if any(w in named for w in words)
    ]
    return Firmware(why, tuple(found or [ARM]), guessed=not found)


def _build_targets(config: str) -> list[str]:
    """The bare-metal triples of a cargo config's ``[build] target``."""
    try:
        build = tomllib.loads(config).get("build")
    except (tomllib.TOMLDecodeError, RecursionError):
        return []
    target = build.get("target") if isinstance(build, dict) else None
    names = [target] if isinstance(target, str) else target if isinstance(target, list) else []
    return [n for n in names if isinstance(n, str) and (t := triples.lookup(n)) and t.bare_metal]


def _text(root: Path, path: Path, limit: int) -> str:
    try:
        return treescan.read_text(root, path, limit)
    except (treescan.Unreadable, OSError):
        return ""


def _shown(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
