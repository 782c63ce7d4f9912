"""Benchmark: `relbuild build` against GoReleaser v2.16 on the example's Go program.

Both build go.beacon (examples/beacon, linking the Rust staticlib beacon-ffi
through cgo) for the four Linux targets with cgo. GoReleaser is given what
a careful user would write: one `builds` entry whose per-target overrides
use the zig cc wrapper, cgo flags and ldflags of `relbuild plan --json`,
after the plan's cargo commands for beacon-ffi (run side by side, --jobs at
a time, and timed as part of GoReleaser's run, with the hand-over of each
staticlib to cgo). relbuild builds the same targets and components into its
own --out with its default reuse. Each side has its own caches (cargo target
dirs, GOCACHE, zig caches); only CARGO_HOME and GOMODCACHE are shared.

Scenarios, alternating the two tools in this process, medians of the rounds:
cold (empty caches of their own), after a Go edit, after a change that
alters the staticlib, and a no-op.

GoReleaser runs `goreleaser build` (binaries only: the aim's baseline), or
with `--goreleaser-command release`, `goreleaser release --snapshot` with a
tar.gz archive per target (the LICENSE and README.md relbuild packs) and a
SHA-256 checksum file: the release folder relbuild's build makes, less
relbuild's SHA-512, checks, SBOM, provenance and manifest.

    .venv/bin/python bench/goreleaser_bench.py [--rounds N] [--cold-rounds N]
        [--scenarios cold,go-edit,staticlib,noop] [--jobs N] [--keep]
        [--goreleaser-command build|release]

Prints each median, the ratio relbuild / GoReleaser (aim: <= 1.0) and the
machine's load average at the start and the end.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from relbuild.backends.base import CcWrapper
from relbuild.backends.zig import write_cc_wrapper

REPO = Path(__file__).resolve().parent.parent
EPOCH = "1700000000"
GORELEASER = "v2.16.0"
INSTALL = f"go install github.com/goreleaser/goreleaser/v2@{GORELEASER}"
# relbuild's triple -> GoReleaser's target (what names its dist folder).
TARGETS = {
    "x86_64-unknown-linux-gnu": "linux_amd64_v1",
    "aarch64-unknown-linux-gnu": "linux_arm64_v8.0",
    "armv7-unknown-linux-gnueabihf": "linux_arm_7",
    "riscv64gc-unknown-linux-gnu": "linux_riscv64_rva20u64",
}
SCENARIOS = ("cold", "go-edit", "staticlib", "noop")
KERNEL_EDIT = "\n// bench edit"
NATIVE = re.compile(r"native-static-libs: ?(.*)")
# Keys of a Go step's environment that differ by target: in the overrides.
PER_TARGET = ("CC", "CGO_CFLAGS", "CGO_LDFLAGS")


def find_goreleaser() -> Path:
    tools = os.environ.get("RELBUILD_TOOLS")
    folders = [Path(tools) / "bin"] if tools else []
    folders.append(Path.home() / ".cache" / "relbuild" / "tools" / "bin")
    for folder in folders:
        if (folder / "goreleaser").is_file():
            return folder / "goreleaser"
    print(
        f"bench: goreleaser not found in {' or '.join(map(str, folders))}; install it with:\n"
        f"GOBIN={folders[0]} {INSTALL}",
        file=sys.stderr,
    )
    sys.exit(2)


def alter_kernel(project: Path, n: int) -> None:
    """An edit that changes the bytes of every staticlib: one more exported
    function, returning ``n`` (as bench/build_bench.py)."""
    lib = project / "crates" / "beacon-core" / "src" / "lib.rs"
    text = lib.read_text().split(KERNEL_EDIT)[0]
    lib.write_text(
        f"{text}{KERNEL_EDIT}\n#[doc(hidden)]\n#[no_mangle]\n"
        f'pub extern "C" fn beacon_bench_edit() -> u32 {{\n    {n}\n}}\n'
    )


def alter_go(project: Path, n: int) -> None:
    """A string of the Go program changes: a flag's help text."""
    main = project / "cmd" / "beacon" / "main.go"
    text, found = re.subn(
        r'"print the hex frame of this payload[^"]*"',
        f'"print the hex frame of this payload (edit {n})"',
        main.read_text(),
    )
    if found != 1:
        sys.exit(f"bench: no string to edit in {main}")
    main.write_text(text)


class Bench:
    def __init__(self, work: Path, goreleaser: Path, jobs: int, command: str = "build") -> None:
        self.work, self.goreleaser, self.jobs = work, goreleaser, jobs
        self.command = command
        self.project = work / "beacon"
        self.config = work / "toolchains.toml"
        self.rb_cache, self.rb_out = work / "relbuild-cache", work / "relbuild-dist"
        self.gr_cache, self.gr_dist = work / "goreleaser-cache", work / "goreleaser-dist"
        self.env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}
        self.select = [a for t in TARGETS for a in ("-t", t)] + ["-p", "beacon", "-p", "beacon-ffi"]
        self.plan: dict[str, Any] = {}
        self.last_relbuild = ""

    def relbuild(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "relbuild", "--config", str(self.config), *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )

    def setup(self) -> None:
        shutil.copytree(
            REPO / "examples" / "beacon", self.project, ignore=shutil.ignore_patterns("target")
        )
        self.config.write_text(
            (REPO / "toolchains.toml").read_text().replace('"examples/beacon', '"beacon')
        )
        # GoReleaser reads the commit (mod_timestamp); relbuild records it.
        git = ["git", "-C", str(self.project)]
        when = {"GIT_AUTHOR_DATE": f"@{EPOCH} +0000", "GIT_COMMITTER_DATE": f"@{EPOCH} +0000"}
        ident = ["-c", "user.name=bench", "-c", "user.email=bench@example.com"]
        for argv in (["init", "-q"], ["add", "-A"], [*ident, "commit", "-qm", "example"]):
            subprocess.run([*git, *argv], env={**self.env, **when}, check=True)
        # The plan of GoReleaser's side: the same commands over its own caches.
        out = self.relbuild("plan", "--json", *self.select, "--cache-dir", str(self.gr_cache))
        self.plan = json.loads(out.stdout)
        (self.project / ".goreleaser.yaml").write_text(self.goreleaser_config())

    def goreleaser_config(self) -> str:
        """The config as JSON, which is YAML too."""
        overrides = []
        for step in self.go_steps():
            argv = step["argv"]
            flags = argv[argv.index("build") + 1 : argv.index("-o")]
            goos, goarch, *variant = TARGETS[step["target"]].split("_")
            override: dict[str, Any] = {"goos": goos, "goarch": goarch}
            if goarch == "arm":
                override["goarm"] = variant[0]
            if goarch == "amd64":
                override["goamd64"] = variant[0]
            override["env"] = [f"{k}={step['env'][k]}" for k in PER_TARGET]
            override["flags"] = [f for f in flags if not f.startswith("-ldflags=")]
            override["ldflags"] = [
                f.removeprefix("-ldflags=") for f in flags if f.startswith("-ldflags=")
            ]
            overrides.append(override)
        config = {
            "version": 2,
            "project_name": "beacon",
            "dist": str(self.gr_dist),
            "builds": [
                {
                    "id": "beacon",
                    "main": "./cmd/beacon",
                    "binary": "beacon",
                    "env": ["CGO_ENABLED=1"],
                    "targets": list(TARGETS.values()),
                    "flags": ["-trimpath"],
                    "mod_timestamp": "{{ .CommitTimestamp }}",
                    "overrides": overrides,
                }
            ],
        }
        if self.command == "release":
            config["archives"] = [{"formats": ["tar.gz"], "files": ["LICENSE", "README.md"]}]
            config["checksum"] = {"name_template": "SHA256SUMS", "algorithm": "sha256"}
            config["changelog"] = {"disable": True}
        return json.dumps(config, indent=2) + "\n"

    def go_steps(self) -> list[dict[str, Any]]:
        return [s for s in self.plan["steps"] if s["kind"] == "go-executable"]

    def goreleaser_env(self) -> dict[str, str]:
        """The Go step's environment without what differs by target (the
        overrides set it; GoReleaser sets GOOS, GOARCH and the variant)."""
        env = dict(self.go_steps()[0]["env"])
        for key in (*PER_TARGET, "GOOS", "GOARCH", "GOARM", "GOAMD64"):
            env.pop(key, None)
        return env

    def staticlib(self, step: dict[str, Any]) -> None:
        """One cargo command of the plan, then the hand-over to cgo."""
        res = subprocess.run(
            step["argv"],
            cwd=step["cwd"],
            env=step["env"],
            capture_output=True,
            text=True,
            check=False,
        )
        if res.returncode != 0:
            sys.exit(f"bench: {' '.join(step['argv'])} failed:\n{res.stderr[-4000:]}")
        lib_name = f"lib{step['artifact_name']}.a"
        lib = Path(step["env"]["CARGO_TARGET_DIR"]) / step["target"] / "release" / lib_name
        handoff = Path(step["handoff"])
        (handoff / "lib").mkdir(parents=True, exist_ok=True)
        (handoff / "include").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(lib, handoff / "lib" / lib_name)
        header = Path(step["header"])
        shutil.copyfile(header, handoff / "include" / header.name)
        native = NATIVE.findall(res.stdout + res.stderr)
        if native:  # what the cc wrapper appends to a link, as relbuild writes it
            (handoff / "lib" / f"lib{step['artifact_name']}.native-libs").write_text(
                native[-1].strip() + "\n"
            )

    def run_goreleaser(self) -> float:
        t0 = time.perf_counter()
        for step in self.plan["steps"]:
            if step.get("cc"):
                write_cc_wrapper(CcWrapper(**step["cc"]))
        cargo = [s for s in self.plan["steps"] if s["kind"] == "staticlib"]
        with ThreadPoolExecutor(self.jobs) as pool:
            list(pool.map(self.staticlib, cargo))
        res = subprocess.run(
            [str(self.goreleaser), self.command, "--snapshot", "--clean", "-p", str(self.jobs)],
            cwd=self.project,
            check=False,
            env=self.goreleaser_env(),
            capture_output=True,
            text=True,
        )
        took = time.perf_counter() - t0
        if res.returncode != 0:
            sys.exit(f"bench: goreleaser failed:\n{res.stdout[-3000:]}{res.stderr[-3000:]}")
        missing = [
            t for t in TARGETS.values() if not (self.gr_dist / f"beacon_{t}" / "beacon").is_file()
        ]
        if missing:
            sys.exit(f"bench: goreleaser built no binary for {', '.join(missing)}")
        if self.command == "release":
            archives = list(self.gr_dist.glob("*.tar.gz"))
            if len(archives) != len(TARGETS):
                sys.exit(f"bench: goreleaser made {len(archives)} archives, not {len(TARGETS)}")
        return took

    def run_relbuild(self) -> float:
        t0 = time.perf_counter()
        res = self.relbuild(
            "build",
            *self.select,
            "--out",
            str(self.rb_out),
            "-j",
            str(self.jobs),
            "--cache-dir",
            str(self.rb_cache),
        )
        took = time.perf_counter() - t0
        lines = res.stderr.strip().splitlines()
        fresh = sum("(up to date)" in line for line in lines)
        self.last_relbuild = f"{fresh} steps up to date" if fresh else "built"
        if lines and lines[-1].startswith("up to date"):
            self.last_relbuild = "release up to date"
        return took

    def empty_caches(self, tool: str, n: int) -> None:
        """The caches and output of the side about to run, gone: a cold
        build (the download caches CARGO_HOME and GOMODCACHE stay)."""
        mine = (
            (self.gr_cache, self.gr_dist) if tool == "goreleaser" else (self.rb_cache, self.rb_out)
        )
        for folder in mine:
            shutil.rmtree(folder, ignore_errors=True)


def alternate(
    bench: Bench, name: str, rounds: int, before: Callable[[str, int], None]
) -> tuple[list[float], list[float]]:
    """``rounds`` runs of each tool, alternating which goes first; ``before(tool,
    n)`` prepares run ``n`` (an edit, or that tool's caches emptied)."""
    gr: list[float] = []
    rb: list[float] = []
    n = 0
    for r in range(rounds):
        order = [("goreleaser", gr), ("relbuild", rb)]
        for tool, times in order if r % 2 == 0 else order[::-1]:
            n += 1
            before(tool, n)
            run = bench.run_goreleaser if tool == "goreleaser" else bench.run_relbuild
            times.append(run())
            note = f" ({bench.last_relbuild})" if tool == "relbuild" else ""
            print(f"bench: {name} round {r + 1}: {tool} {times[-1]:.2f} s{note}", flush=True)
    return rb, gr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each warm scenario")
    parser.add_argument("--cold-rounds", type=int, help="rounds of the cold one (default --rounds)")
    parser.add_argument(
        "--scenarios", default=",".join(SCENARIOS), help="a comma list of " + ", ".join(SCENARIOS)
    )
    parser.add_argument("--jobs", type=int, default=min(os.cpu_count() or 1, 4))
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    parser.add_argument(
        "--goreleaser-command",
        choices=["build", "release"],
        default="build",
        help="build: binaries only (the aim's baseline); release: also archives and checksums",
    )
    args = parser.parse_args()
    chosen = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = sorted(set(chosen) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    goreleaser = find_goreleaser()
    # relbuild as pip installs it: byte-compiled (a machine that sets
    # PYTHONDONTWRITEBYTECODE would otherwise compile it on every run).
    compileall.compile_dir(REPO / "src" / "relbuild", quiet=1)
    version = subprocess.run(
        [goreleaser, "--version"], capture_output=True, text=True, check=False
    ).stdout
    if GORELEASER not in version:
        print(f"bench: warning: {goreleaser} is not {GORELEASER}", file=sys.stderr)

    load_start = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="relbuild-grbench-"))
    bench = Bench(work, goreleaser, args.jobs, args.goreleaser_command)
    results: dict[str, tuple[list[float], list[float]]] = {}
    try:
        bench.setup()
        print(f"bench: in {work}, load {load_start[0]:.2f}", flush=True)
        for scenario in SCENARIOS:
            if scenario not in chosen:
                continue
            if scenario == "cold":
                rounds = args.cold_rounds or args.rounds
                results[scenario] = alternate(bench, scenario, rounds, bench.empty_caches)
                continue
            # Both sides first build the tree as it is (untimed).
            bench.run_goreleaser()
            bench.run_relbuild()
            edit: Callable[[str, int], None] = {
                "go-edit": lambda tool, n: alter_go(bench.project, n),
                "staticlib": lambda tool, n: alter_kernel(bench.project, n),
                "noop": lambda tool, n: None,
            }[scenario]
            results[scenario] = alternate(bench, scenario, args.rounds, edit)
    finally:
        if args.keep:
            print(f"bench: kept {work}", flush=True)
        else:
            shutil.rmtree(work, ignore_errors=True)
    load_end = os.getloadavg()

    print()
    print(
        f"go.beacon + beacon-ffi, {len(TARGETS)} targets; --jobs {args.jobs}, "
        f"{os.cpu_count()} CPUs; goreleaser {args.goreleaser_command}"
    )
    for scenario, (rb, gr) in results.items():
        r, g = statistics.median(rb), statistics.median(gr)
        print(
            f"{scenario:>10}: relbuild {r:7.2f} s, GoReleaser {g:7.2f} s, "
            f"ratio {r / g:.2f} (median of {len(rb)})"
        )
    print(f"load average (1/5/15 min): start {_load(load_start)}, end {_load(load_end)}")


def _load(load: tuple[float, float, float]) -> str:
    return " ".join(f"{x:.2f}" for x in load)


if __name__ == "__main__":
    main()
