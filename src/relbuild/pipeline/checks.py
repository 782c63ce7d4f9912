"""Checks of what a build made, before anything is recorded: every binary's
ELF header(s) against its triple, no path or name of this machine inside
any artifact, every ldflags-x key a variable of its binary, and every
firmware's sanity, footprint and budgets. Each target is checked as soon as
its steps are done (beside the targets still building); any problem stops
the build with one report per kind naming them all, in the plan's order.

A check that passed depends only on the bytes and what was looked for, so
passes are remembered in the cache by content hash."""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from relbuild.binaries import firmware, formats, leaks
from relbuild.config.triples import TRIPLES
from relbuild.errors import BuildError
from relbuild.pipeline.model import Plan, Staged
from relbuild.release.dist import Footprint, hash_file


class DigestCache:
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


class _Passes:
    """Checks that passed, as marks in ``folder`` named by the content's
    SHA-256 and ``key`` (what the content was checked against)."""

    def __init__(self, folder: Path, key: str) -> None:
        self._folder, self._key = folder, key

    def known_digest(self, digest: str) -> bool:
        return (self._folder / f"{digest}-{self._key}").is_file()

    def add_digest(self, digest: str) -> None:
        self._folder.mkdir(parents=True, exist_ok=True)
        (self._folder / f"{digest}-{self._key}").touch()

    def known(self, body: bytes) -> bool:
        return self.known_digest(hashlib.sha256(body).hexdigest())

    def add(self, body: bytes) -> None:
        self.add_digest(hashlib.sha256(body).hexdigest())


@dataclass
class Findings:
    """What the checks of one target found."""

    elf: list[str] = field(default_factory=list)
    leaks: list[leaks.Leak] = field(default_factory=list)
    defines: list[str] = field(default_factory=list)
    sanity: list[str] = field(default_factory=list)
    over_budget: list[str] = field(default_factory=list)
    footprints: dict[str, Footprint] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not (self.elf or self.leaks or self.defines or self.sanity or self.over_budget)


class Checker:
    """The checks of one build; :meth:`target` runs them on a target's files."""

    def __init__(self, plan: Plan, cache: Path, digests: DigestCache) -> None:
        self._plan, self._cache, self._digests = plan, cache, digests
        machine = plan.machine.items()
        needles = leaks.machine_needles(
            [(label, value) for label, value in machine if value.startswith("/")],
            [(label, value) for label, value in machine if not value.startswith("/")],
        )
        self._scanner = leaks.Scanner(needles)
        self._needles = hashlib.sha256(b"\0".join(n.pattern for n in needles)).hexdigest()[:16]

    def target(self, staged: list[Staged]) -> Findings:
        found = Findings()
        self._digests.prefetch([s.src for s in staged])
        for s in staged:
            self._elf(s, found)
        for s in staged:
            self._leaks(s, found)
        for s in staged:
            self._defines(s, found)
        for s in staged:
            if s.kind == "firmware" and s.target:
                _firmware(s, found, self._plan.stack_waivers)
        return found

    def _elf(self, s: Staged, found: Findings) -> None:
        """The ELF header(s) must match the triple; a static library's
        members are remembered one by one (it has hundreds, and an edit
        changes a few)."""
        if s.kind not in ("executable", "staticlib", "firmware") or not s.target:
            return
        passes = _Passes(self._cache / "elf-ok", f"{s.target}-{formats.CHECKS}")
        digest = self._digests(s.src)[0]
        if passes.known_digest(digest):
            return
        problems = formats.check_file(s.src, TRIPLES[s.target], passes)
        found.elf += problems
        if not problems:
            passes.add_digest(digest)

    def _leaks(self, s: Staged, found: Findings) -> None:
        """No artifact may hold this machine's paths or names (see leaks.py);
        a component with ``allow-path-leaks`` is skipped."""
        if s.component in self._plan.leak_waivers:
            return
        passes = _Passes(self._cache / "leak-ok", self._needles)
        digest = self._digests(s.src)[0]
        if passes.known_digest(digest):
            return
        hits = self._scanner.scan_file(s.src, s.rel, passes)
        found.leaks += hits
        if not hits:
            passes.add_digest(digest)

    def _defines(self, s: Staged, found: Findings) -> None:
        """Go's linker ignores `-X name=value` for a variable that does not
        exist, and ships a binary that prints its default: every ldflags-x
        key must name a symbol of the binary it was set for."""
        if s.kind != "executable" or s.target is None or s.component is None:
            return
        plan = self._plan
        step = next(x for x in plan.steps if (x.target, x.component) == (s.target, s.component))
        if not step.defines:
            return
        passes = _Passes(self._cache / "defines-ok", _key(step.defines))
        digest = self._digests(s.src)[0]
        if passes.known_digest(digest):
            return
        symbols = formats.symbol_names(s.src, TRIPLES[s.target])
        if symbols is None:
            # No symbol table to check against (a PE file lld linked): the
            # defines cannot be checked there.
            passes.add_digest(digest)
            return
        missing = [name for name in step.defines if name not in symbols]
        if not missing:
            passes.add_digest(digest)
        for name in missing:
            package = name.rsplit(".", 1)[0]
            near = difflib.get_close_matches(
                name, [x for x in symbols if x.startswith(package + ".")], n=1
            )
            hint = f"; did you mean `{near[0]}`?" if near else ""
            found.defines.append(
                f"go.{s.component}.ldflags-x: `{name}` is no variable of {s.rel}, so the "
                f"link ignored it{hint}"
            )


def _key(names: Sequence[str]) -> str:
    return hashlib.sha256("\0".join(names).encode()).hexdigest()[:16]


def _firmware(s: Staged, found: Findings, stack_waivers: dict[str, str]) -> None:
    """Sanity, and flash and RAM against the budgets: RAM counts the worst-
    case stack, and a stack the figure may not bound fails a RAM budget
    unless the component waives it (``stack-unbounded``)."""
    assert s.target is not None
    data = s.src.read_bytes()
    found.sanity += firmware.sanity_problems(data, TRIPLES[s.target], s.rel)
    fp = firmware.footprint(data)
    if s.stack is not None:
        fp = fp.model_copy(
            update={
                "ram": fp.ram + s.stack.depth,
                "stack": s.stack.depth,
                "stack_path": s.stack.path,
                "stack_lower_bound": s.stack.lower_bound,
            }
        )
    flash_budget = s.budget.flash if s.budget else None
    ram_budget = s.budget.ram if s.budget else None
    for what, used, budget in (("flash", fp.flash, flash_budget), ("RAM", fp.ram, ram_budget)):
        if budget is not None and used > budget:
            found.over_budget.append(
                f"{s.rel}: {what} {used} B is over its budget of {budget} B "
                f"by {used - budget} B ({100 * used / max(budget, 1):.0f}% used)"
            )
    if ram_budget is not None and fp.stack_lower_bound and s.component not in stack_waivers:
        found.over_budget.append(
            f"{s.rel}: RAM {fp.ram} B (stack {fp.stack} B) is a lower bound, so its budget of "
            f"{ram_budget} B cannot be shown to hold:\n    " + "\n    ".join(fp.stack_lower_bound)
        )
    found.footprints[s.rel] = fp.model_copy(
        update={"flash_budget": flash_budget, "ram_budget": ram_budget}
    )


def verdict(findings: Iterable[Findings]) -> dict[str, Footprint]:
    """Every target's footprints, or one BuildError naming every problem of
    the first kind found (in the order the checks run)."""
    every = list(findings)
    elf = [p for f in every for p in f.elf]
    leaked = [leak for f in every for leak in f.leaks]
    defines = [p for f in every for p in f.defines]
    sanity = [p for f in every for p in f.sanity]
    over = [p for f in every for p in f.over_budget]
    if elf:
        raise BuildError("artifacts do not match their target:\n  " + "\n  ".join(elf))
    if leaked:
        raise BuildError(
            "artifacts hold paths or names of this machine, so they differ on every "
            "machine:\n  " + "\n  ".join(str(leak) for leak in leaked[:20]),
            hint='Find where the string comes from (a build script\'s env!("CARGO_MANIFEST_DIR"), '
            "a C __FILE__, a path read at build time); see docs/reproducibility.md. A component "
            'that must keep it sets allow-path-leaks = "<why>" in toolchains.toml.',
        )
    if defines:
        raise BuildError("ldflags-x set variables that do not exist:\n  " + "\n  ".join(defines))
    if sanity:
        raise BuildError("firmware failed its sanity checks:\n  " + "\n  ".join(sanity))
    if over:
        raise BuildError(
            "firmware over budget:\n  " + "\n  ".join(over),
            hint="Budgets come from toolchains.toml (`budget` of the component and of the "
            "target); `relbuild size` shows the sections and the stack's deepest path. A "
            'firmware whose stack cannot be bounded sets stack-unbounded = "<why>".',
        )
    return {rel: fp for f in every for rel, fp in f.footprints.items()}
