"""Benchmark: `relbuild build` against the same cargo and go commands run directly.

The case measured is a warm rebuild after a change that alters the Rust
staticlib: before each timed run a new exported function is added to the
kernel crate (beacon-core), so every target recompiles the kernel, every
staticlib changes and every Go program relinks. The baseline ("raw") runs
the exact argv/env/cwd of `relbuild plan`, one step after another, as a
script would, handing each staticlib to cgo as relbuild does; relbuild may
run targets side by side (--jobs). Both run in this process, alternately,
on the same caches. Also times a no-op rebuild (nothing changed).

    .venv/bin/python bench/build_bench.py [--rounds N] [--jobs N]

Prints the timings and the ratio relbuild / raw (aim: <= 1.1) and the no-op
time (aim: < 2 s).
"""

from __future__ import annotations

import argparse
import compileall
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
EPOCH = "1700000000"
EDIT = "\n// bench edit"


def relbuild(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "relbuild", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )


def alter_kernel(project: Path, n: int) -> None:
    """An edit that changes the bytes of every staticlib: one more exported
    function, returning ``n``."""
    lib = project / "crates" / "beacon-core" / "src" / "lib.rs"
    text = lib.read_text().split(EDIT)[0]
    lib.write_text(
        f"{text}{EDIT}\n#[doc(hidden)]\n#[no_mangle]\n"
        f'pub extern "C" fn beacon_bench_edit() -> u32 {{\n    {n}\n}}\n'
    )


def staticlib_digests(plan: dict[str, Any]) -> dict[str, str]:
    """SHA-256 of each staticlib handed to cgo, by target."""
    out = {}
    for step in plan["steps"]:
        if step["kind"] == "staticlib":
            lib = handoff(plan, step) / "lib" / f"lib{step['artifact_name']}.a"
            out[step["target"]] = hashlib.sha256(lib.read_bytes()).hexdigest()
    return out


def handoff(plan: dict[str, Any], step: dict[str, Any]) -> Path:
    """Where relbuild hands a staticlib to cgo (plans before the handoff
    field named it only by convention)."""
    default = Path(plan["cache"]) / "cgo" / step["target"] / step["component"]
    return Path(step.get("handoff") or default)


def run_raw(plan: dict[str, Any]) -> float:
    from relbuild.backends.base import CcWrapper
    from relbuild.backends.zig import write_cc_wrapper

    t0 = time.perf_counter()
    for step in plan["steps"]:
        if step.get("cc"):
            # relbuild writes the wrapper with the sandbox's paths; the raw
            # commands run at the host's own.
            write_cc_wrapper(CcWrapper(**step["cc"]))
        subprocess.run(
            step["argv"],
            cwd=step["cwd"],
            env=step["env"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if step["kind"] == "staticlib":
            # What relbuild does between the steps: hand the library to cgo.
            target_dir = Path(step["env"]["CARGO_TARGET_DIR"]) / step["target"] / "release"
            lib = target_dir / f"lib{step['artifact_name']}.a"
            shutil.copyfile(lib, handoff(plan, step) / "lib" / lib.name)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=min(os.cpu_count() or 1, 4))
    args = parser.parse_args()
    # relbuild as pip installs it: byte-compiled (a machine that sets
    # PYTHONDONTWRITEBYTECODE would otherwise compile it on every run).
    compileall.compile_dir(REPO / "src" / "relbuild", quiet=1)

    work = Path(tempfile.mkdtemp(prefix="relbuild-bench-"))
    try:
        project = work / "beacon"
        shutil.copytree(
            REPO / "examples" / "beacon", project, ignore=shutil.ignore_patterns("target")
        )
        config = work / "toolchains.toml"
        config.write_text(
            (REPO / "toolchains.toml").read_text().replace('"examples/beacon', '"beacon')
        )
        env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}
        common = ["--config", str(config)]
        build = [*common, "build", "--out", str(work / "dist"), "-j", str(args.jobs)]

        print(f"bench: warming caches in {work} (first build) ...", flush=True)
        t0 = time.perf_counter()
        relbuild(*build, env=env)
        print(f"bench: first build {time.perf_counter() - t0:.1f} s", flush=True)
        plan = json.loads(relbuild(*common, "plan", "--json", env=env).stdout)

        raw, tool = [], []
        before = staticlib_digests(plan)
        for n in range(args.rounds):
            alter_kernel(project, 2 * n + 1)
            raw.append(run_raw(plan))
            after_raw = staticlib_digests(plan)
            alter_kernel(project, 2 * n + 2)
            t0 = time.perf_counter()
            relbuild(*build, env=env)
            tool.append(time.perf_counter() - t0)
            after_tool = staticlib_digests(plan)
            changed = all(
                before[t] != after_raw[t] != after_tool[t] for t in before
            )  # every staticlib changed in both runs
            before = after_tool
            print(
                f"bench: round {n + 1}: raw {raw[-1]:.2f} s, relbuild {tool[-1]:.2f} s "
                f"(every staticlib changed: {'yes' if changed else 'NO'})",
                flush=True,
            )
        noop = []
        for _ in range(3):
            t0 = time.perf_counter()
            relbuild(*build, env=env)
            noop.append(time.perf_counter() - t0)

        best_raw, best_tool = min(raw), min(tool)
        print()
        print(
            f"steps: {len(plan['steps'])} over {len(plan['targets'])} targets, "
            f"relbuild --jobs {args.jobs}, {os.cpu_count()} CPUs"
        )
        best = f"best of {args.rounds}"
        print(f"staticlib-altering rebuild, raw cargo and go commands: {best_raw:.2f} s ({best})")
        print(f"staticlib-altering rebuild, relbuild build:            {best_tool:.2f} s ({best})")
        print(f"ratio relbuild / raw: {best_tool / best_raw:.2f} (aim <= 1.1)")
        print(f"no-op rebuild, relbuild build: {min(noop):.2f} s (best of 3; aim < 2 s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
