"""Checks of what a build made, before anything is recorded: every binary's
ELF header(s) against its triple, and every firmware's sanity, footprint
and budgets. Any failure stops the build with one report naming them all."""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from relbuild import elfcheck, firmware, leaks
from relbuild.backends.base import BuildPaths
from relbuild.build.model import Plan, Staged
from relbuild.dist import AbiRecord, Footprint, hash_file
from relbuild.errors import BuildError
from relbuild.triples import TRIPLES


class Digests:
    """SHA-256 and SHA-512 of each file, computed once, several files at a
    time (hashlib releases the GIL)."""

    def __init__(self, jobs: int) -> None:
        self._jobs = max(1, jobs)
        self._done: dict[Path, tuple[str, str]] = {}

    def prefetch(self, paths: Sequence[Path]) -> None:
        todo = [p for p in dict.fromkeys(paths) if p not in self._done]
        with ThreadPoolExecutor(max_workers=self._jobs) as pool:
            for path, pair in zip(todo, pool.map(self._hash, todo), strict=True):
                self._done[path] = pair

    def __call__(self, path: Path) -> tuple[str, str]:
        if path not in self._done:
            self._done[path] = self._hash(path)
        return self._done[path]

    @staticmethod
    def _hash(path: Path) -> tuple[str, str]:
        sha256, sha512, _, _ = hash_file(path)
        return sha256, sha512


def check_elf(staged: list[Staged], memo: Path, digests: Digests) -> None:
    """Every binary's ELF header(s) must match its triple. A pass depends only
    on the bytes and the triple, so passes are remembered by content hash
    (a static library has hundreds of members to parse)."""
    problems: list[str] = []
    for s in staged:
        if s.kind not in ("executable", "staticlib", "firmware") or not s.target:
            continue
        mark = memo / f"{digests(s.src)[0]}-{s.target}"
        if mark.is_file():
            continue
        found = elfcheck.check_file(s.src, TRIPLES[s.target])
        if found:
            problems += found
        else:
            mark.parent.mkdir(parents=True, exist_ok=True)
            mark.touch()
    if problems:
        raise BuildError("artifacts do not match their target:\n  " + "\n  ".join(problems))


def check_firmware(staged: list[Staged]) -> dict[str, Footprint]:
    """Sanity checks, footprint and budgets of every firmware ELF, by its
    path in the dist."""
    problems: list[str] = []
    over: list[str] = []
    prints: dict[str, Footprint] = {}
    for s in staged:
        if s.kind != "firmware" or not s.target:
            continue
        data = s.src.read_bytes()
        problems += firmware.sanity_problems(data, TRIPLES[s.target], s.rel)
        fp = firmware.footprint(data)
        flash_budget = s.budget.flash if s.budget else None
        ram_budget = s.budget.ram if s.budget else None
        for what, used, budget in (("flash", fp.flash, flash_budget), ("RAM", fp.ram, ram_budget)):
            if budget is not None and used > budget:
                over.append(
                    f"{s.rel}: {what} {used} B is over its budget of {budget} B "
                    f"by {used - budget} B ({100 * used / max(budget, 1):.0f}% used)"
                )
        prints[s.rel] = fp.model_copy(
            update={"flash_budget": flash_budget, "ram_budget": ram_budget}
        )
    if problems:
        raise BuildError("firmware failed its sanity checks:\n  " + "\n  ".join(problems))
    if over:
        raise BuildError(
            "firmware over budget:\n  " + "\n  ".join(over),
            hint="Budgets come from toolchains.toml (`budget` of the component and of the "
            "target); `relbuild size` shows the sections.",
        )
    return prints


def check_leaks(plan: Plan, staged: list[Staged], memo: Path, digests: Digests) -> None:
    """No artifact may hold this machine's paths or names (see leaks.py);
    a component with ``allow-path-leaks`` is skipped. A clean result
    depends only on the bytes and the needles, so it is remembered."""
    needles = leaks.machine_needles(
        [(label, value) for label, value in plan.machine.items() if value.startswith("/")],
        [(label, value) for label, value in plan.machine.items() if not value.startswith("/")],
    )
    scanner = leaks.Scanner(needles)
    key = hashlib.sha256(b"\0".join(n.pattern for n in needles)).hexdigest()[:16]
    found: list[leaks.Leak] = []
    for s in staged:
        if s.component in plan.leak_waivers:
            continue
        mark = memo / f"{digests(s.src)[0]}-{key}"
        if mark.is_file():
            continue
        hits = scanner.scan_file(s.src, s.rel)
        if hits:
            found += hits
        else:
            mark.parent.mkdir(parents=True, exist_ok=True)
            mark.touch()
    if found:
        raise BuildError(
            "artifacts hold paths or names of this machine, so they differ on every "
            "machine:\n  " + "\n  ".join(str(leak) for leak in found[:20]),
            hint='Find where the string comes from (a build script\'s env!("CARGO_MANIFEST_DIR"), '
            "a C __FILE__, a path read at build time); see docs/reproducibility.md. A component "
            'that must keep it sets allow-path-leaks = "<why>" in toolchains.toml.',
        )


def check_defines(plan: Plan, staged: list[Staged], memo: Path, digests: Digests) -> None:
    """Go's linker ignores `-X name=value` for a variable that does not
    exist, and ships a binary that prints its default: every ldflags-x key
    must name a symbol of the binary it was set for (remembered by content)."""
    problems: list[str] = []
    for s in staged:
        if s.kind != "executable" or s.target is None or s.component is None:
            continue
        step = next(x for x in plan.steps if (x.target, x.component) == (s.target, s.component))
        if not step.defines:
            continue
        key = hashlib.sha256("\0".join(step.defines).encode()).hexdigest()[:16]
        mark = memo / f"{digests(s.src)[0]}-{key}"
        if mark.is_file():
            continue
        symbols = elfcheck.symbol_names(s.src)
        if all(name in symbols for name in step.defines):
            mark.parent.mkdir(parents=True, exist_ok=True)
            mark.touch()
            continue
        for name in step.defines:
            if name in symbols:
                continue
            package = name.rsplit(".", 1)[0]
            near = difflib.get_close_matches(
                name, [x for x in symbols if x.startswith(package + ".")], n=1
            )
            hint = f"; did you mean `{near[0]}`?" if near else ""
            problems.append(
                f"go.{s.component}.ldflags-x: `{name}` is no variable of {s.rel}, so the "
                f"link ignored it{hint}"
            )
    if problems:
        raise BuildError("ldflags-x set variables that do not exist:\n  " + "\n  ".join(problems))


def check_abi(plan: Plan, staged: list[Staged], paths: BuildPaths) -> list[AbiRecord]:
    """The C boundary of every staticlib that a Go program links through cgo,
    per target (docs/abi.md): a finding not accepted in the config fails the
    build; the records go into the manifest."""
    from relbuild.abi import stage as abi_stage

    targets = abi_stage.checked_targets(plan)
    if not targets:
        return []
    archives = {
        (s.target, s.component): s.src
        for s in staged
        if s.kind == "staticlib" and s.target and s.component
    }
    report = abi_stage.run(plan, paths, archives, targets)
    abi_stage.fail_on_findings(report)
    return abi_stage.records(report)
