"""Coverage figures of a unit-test run: Go's cover profile (statements, as
`go tool cover -func` totals them) and Rust's LLVM profiles (lines, through
llvm-profdata and llvm-cov of rustc's own LLVM release)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from relbuild.errors import ToolchainError
from relbuild.system import environ, proc

# Lines of the compiler's sources and of dependencies are not the project's.
_NOT_OURS = r"(^/cargo/|^/rustc/|/\.cargo/registry/|/rustlib/)"


def clear(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)


def go_statements(profile: Path) -> float | None:
    """Percent of statements run, from a ``-coverprofile`` file; None when
    it lists none."""
    blocks: dict[str, tuple[int, bool]] = {}
    for line in profile.read_text(errors="replace").splitlines()[1:]:
        block, _, rest = line.rpartition(" ")
        where, _, stmts = block.rpartition(" ")
        if not where or not stmts.isdigit() or not rest.isdigit():
            continue
        # A block seen by several test binaries counts once, run if any ran it.
        was = blocks.get(where, (0, False))
        blocks[where] = (int(stmts), was[1] or int(rest) > 0)
    total = sum(n for n, _ in blocks.values())
    return 100.0 * sum(n for n, hit in blocks.values() if hit) / total if total else None


def llvm_tool(name: str, llvm_version: str) -> str:
    major = llvm_version.split(".", maxsplit=1)[0]
    for candidate in (f"{name}-{major}", f"/usr/lib/llvm-{major}/bin/{name}"):
        found = proc.which(candidate)
        if found is not None:
            return found
    raise ToolchainError(
        f"{name}-{major} is needed for Rust coverage (rustc is built with LLVM {llvm_version})",
        hint=f"Debian: apt-get install llvm-{major}",
    )


def rust_lines(profiles: Path, tests: list[str], llvm_version: str, merged: Path) -> float | None:
    """Percent of the workspace's lines the test binaries ran."""
    raw = sorted(str(p) for p in profiles.glob("*.profraw"))
    if not raw or not tests:
        return None
    env = environ.probe_env()
    profdata = llvm_tool("llvm-profdata", llvm_version)
    cov = llvm_tool("llvm-cov", llvm_version)
    proc.run([profdata, "merge", "-sparse", *raw, "-o", str(merged)], env=env)
    objects = [a for t in tests[1:] for a in ("-object", t)]
    res = proc.run(
        [cov, "export", "-summary-only", f"-instr-profile={merged}",
         f"-ignore-filename-regex={_NOT_OURS}", tests[0], *objects],
        env=env,
    )  # fmt: skip
    try:
        lines = json.loads(res.stdout)["data"][0]["totals"]["lines"]
        count, covered = int(lines["count"]), int(lines["covered"])
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise ToolchainError(f"llvm-cov export gave no line totals ({exc})") from None
    return 100.0 * covered / count if count else None
