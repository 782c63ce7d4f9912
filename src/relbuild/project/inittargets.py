"""The targets `relbuild init` writes: the ones asked for (`--target T`,
`--targets PRESET`), else the host for programs and libraries and the
bare-metal targets suggested for each firmware. A hosted triple gets every
component that is not firmware; a bare-metal one gets the firmware."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from relbuild.config import triples
from relbuild.errors import UsageError

PRESETS: dict[str, tuple[str, ...]] = {
    "linux": ("x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"),
    "linux-musl": ("x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"),
    "linux-arm": (
        "aarch64-unknown-linux-gnu",
        "armv7-unknown-linux-gnueabihf",
        "arm-unknown-linux-gnueabihf",
    ),
    "linux-all": tuple(
        t.name for t in triples.TRIPLES.values() if not t.bare_metal and t.libc == "gnu"
    ),
    "embedded-arm": (
        "thumbv6m-none-eabi",
        "thumbv7m-none-eabi",
        "thumbv7em-none-eabihf",
        "thumbv8m.main-none-eabihf",
    ),
    "embedded-riscv": ("riscv32imac-unknown-none-elf", "riscv32imc-unknown-none-elf"),
}


def asked(targets: Sequence[str], presets: Sequence[str]) -> list[str]:
    """The triples of ``--target`` and ``--targets`` (a preset, or several
    joined by commas), in order, each once; a UsageError names an unknown
    one with the closest known."""
    chosen: list[str] = []
    for spec in presets:
        for name in filter(None, (s.strip() for s in spec.split(","))):
            if name not in PRESETS:
                raise UsageError(
                    f"--targets {name!r}: no such preset",
                    hint=f"Presets: {', '.join(PRESETS)}.",
                )
            chosen += PRESETS[name]
    for triple in targets:
        if triples.lookup(triple) is None:
            close = triples.suggest(triple)
            raise UsageError(
                f"--target {triple!r}: not a target relbuild builds"
                + (f" (did you mean {close!r}?)" if close else ""),
                hint="`relbuild init --help` lists the presets; docs/targets.md the triples.",
            )
        chosen.append(triple)
    return list(dict.fromkeys(chosen))


def assign(
    chosen: Sequence[str],
    host: str,
    hosted: Sequence[str],
    firmware: Mapping[str, Sequence[str]],
    notes: list[str],
) -> list[dict[str, Any]]:
    """The `[[targets]]` tables: for ``chosen`` triples (or, with none, the
    host and each firmware's suggested targets), the components each
    builds. A triple asked for that builds nothing is a UsageError; a
    firmware no triple builds is added to ``notes``."""
    explicit = bool(chosen)
    if not explicit:
        suggested = [t for ts in firmware.values() for t in ts]
        chosen = list(dict.fromkeys(([host] if hosted else []) + suggested))
    tables: list[dict[str, Any]] = []
    for triple in chosen:
        bare = triples.TRIPLES[triple].bare_metal
        if not bare:
            comps = list(hosted)
        elif explicit:  # the user's choice: every firmware is built for it
            comps = list(firmware)
        else:
            comps = [n for n, ts in firmware.items() if triple in ts]
        if not comps:
            what = "firmware (a no_std binary with a linker script)" if bare else "program"
            raise UsageError(
                f"--target {triple}: this project has no {what} to build for it",
                hint="Pass targets of the kind the project builds (`relbuild init --help`).",
            )
        tables.append({"triple": triple, "components": comps})
    built = {c for t in tables for c in t["components"]}
    for name, triples_of in firmware.items():
        if name not in built:
            notes.append(
                f"firmware {name} is built for no target: add one such as "
                f"{', '.join(triples_of)} (--target or --targets embedded-arm)"
            )
    return tables
