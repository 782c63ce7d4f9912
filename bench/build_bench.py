"""Benchmark: `relbuild build` against the same cargo and go commands run directly.

Both sides do the same work on warm caches: before each timed run the Rust
kernel's source is edited (a comment), so every target recompiles the kernel
and relinks the Go programs. The baseline runs the exact argv/env/cwd of
`relbuild plan`, one step after another, as a script would; relbuild may run
targets side by side (--jobs). Also times a no-op rebuild (nothing changed).

    .venv/bin/python bench/build_bench.py [--rounds N] [--jobs N]

Prints the timings and ratio relbuild / direct (aim: <= 1.0) and the no-op
time (aim: < 2 s).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EPOCH = "1700000000"


def relbuild(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "relbuild", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )


def touch_kernel(project: Path, n: int) -> None:
    lib = project / "crates" / "beacon-core" / "src" / "lib.rs"
    text = lib.read_text().split("\n// bench edit")[0]
    lib.write_text(f"{text}\n// bench edit {n}\n")


def run_direct(plan: dict, project_cache: Path) -> float:  # type: ignore[type-arg]
    t0 = time.perf_counter()
    for step in plan["steps"]:
        subprocess.run(
            step["argv"],
            cwd=step["cwd"],
            env=step["env"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if step["tool"] == "cargo" and step["kind"] == "staticlib":
            # What relbuild does between the steps: hand the library to cgo.
            target_dir = Path(step["env"]["CARGO_TARGET_DIR"]) / step["target"] / "release"
            lib = target_dir / f"lib{step['artifact_name']}.a"
            dest = project_cache / "cgo" / step["target"] / step["component"] / "lib"
            shutil.copyfile(lib, dest / lib.name)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=min(os.cpu_count() or 1, 4))
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="relbuild-bench-"))
    try:
        project = work / "beacon"
        shutil.copytree(
            REPO / "examples" / "beacon", project, ignore=shutil.ignore_patterns("target")
        )
        for name in ("LICENSE", "README.md"):
            shutil.copy(REPO / "examples" / "beacon" / name, project / name)
        config = work / "toolchains.toml"
        config.write_text(
            (REPO / "toolchains.toml")
            .read_text()
            .replace('root = "examples/beacon"', 'root = "beacon"')
        )
        cache = work / ".relbuild"
        env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}
        common = ["--config", str(config)]

        print(f"bench: warming caches in {work} (first build) ...", flush=True)
        t0 = time.perf_counter()
        relbuild(*common, "build", "--out", str(work / "dist"), "-j", str(args.jobs), env=env)
        print(f"bench: first build {time.perf_counter() - t0:.1f} s", flush=True)
        plan = json.loads(relbuild(*common, "plan", "--json", env=env).stdout)

        direct, tool = [], []
        for n in range(args.rounds):
            touch_kernel(project, 2 * n)
            direct.append(run_direct(plan, cache))
            touch_kernel(project, 2 * n + 1)
            t0 = time.perf_counter()
            relbuild(*common, "build", "--out", str(work / "dist"), "-j", str(args.jobs), env=env)
            tool.append(time.perf_counter() - t0)
            print(
                f"bench: round {n + 1}: direct {direct[-1]:.2f} s, relbuild {tool[-1]:.2f} s",
                flush=True,
            )
        noop = []
        for _ in range(3):
            t0 = time.perf_counter()
            relbuild(*common, "build", "--out", str(work / "dist"), "-j", str(args.jobs), env=env)
            noop.append(time.perf_counter() - t0)

        best_direct, best_tool = min(direct), min(tool)
        print()
        print(
            f"steps: {len(plan['steps'])} over {len(plan['targets'])} targets, "
            f"relbuild --jobs {args.jobs}, {os.cpu_count()} CPUs"
        )
        print(
            f"warm rebuild, direct commands one after another: {best_direct:.2f} s (best of "
            f"{args.rounds})"
        )
        print(
            f"warm rebuild, relbuild build:                    {best_tool:.2f} s (best of "
            f"{args.rounds})"
        )
        print(f"ratio relbuild / direct: {best_tool / best_direct:.2f} (aim <= 1.0)")
        print(f"no-op rebuild, relbuild build: {min(noop):.2f} s (best of 3; aim < 2 s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
