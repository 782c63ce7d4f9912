"""Benchmark: `relbuild verify` against `sha256sum` then `sha512sum`.

Makes a dist of about 1 GiB (a few large files, many medium and small ones),
writes its manifest, warms the page cache, then times in one run, best of
--rounds, each command as a child process (relbuild's start-up included):

  - baseline: sha256sum FILES; sha512sum FILES
  - relbuild verify DIR (both digests of every file, read once, in parallel)

Prints both times, the ratio relbuild / baseline (aim <= 0.35 on 2 cores)
and relbuild's peak memory (max RSS, from wait4).

    .venv/bin/python bench/verify_bench.py [--mib 1024] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make_files(folder: Path, total_mib: int) -> list[Path]:
    block = os.urandom(1 << 20)
    # 60 % in 96 MiB files, 30 % in 4 MiB files, 10 % in 64 KiB files,
    # rounded up so the total is at least total_mib.
    plan = [
        ("big", 96 << 20, -(-total_mib * 6 // 10 // 96)),
        ("mid", 4 << 20, -(-total_mib * 3 // 10 // 4)),
        ("small", 64 << 10, -(-total_mib * 16 // 10)),
    ]
    files = []
    for name, size, count in plan:
        sub = folder / name
        sub.mkdir(parents=True)
        for i in range(max(1, count)):
            path = sub / f"{name}-{i:04d}.bin"
            with path.open("wb") as fh:
                left = size
                salt = i.to_bytes(4, "little")
                while left > 0:
                    n = min(left, len(block))
                    fh.write(salt + block[4:n])
                    left -= n
            path.chmod(0o644)
            files.append(path)
    return files


def timed(argv: list[str], cwd: Path) -> tuple[float, int, int]:
    """Wall seconds, exit code and peak RSS in KiB of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return seconds, proc.returncode, usage.ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="relbuild-vbench-"))
    try:
        dist = work / "dist"
        files = make_files(dist, args.mib)
        size = sum(f.stat().st_size for f in files)
        rel = [str(f.relative_to(dist)) for f in files]
        subprocess.run(
            [
                sys.executable,
                "-m",
                "relbuild",
                "manifest",
                str(dist),
                "--name",
                "bench",
                "--version",
                "1",
            ],
            check=True,
            capture_output=True,
        )
        for f in files:  # warm the page cache for both sides
            with f.open("rb") as fh:
                while fh.read(1 << 22):
                    pass
        base_times, tool_times, peaks = [], [], []
        for _ in range(args.rounds):
            t256, rc1, _ = timed(["sha256sum", *rel], dist)
            t512, rc2, _ = timed(["sha512sum", *rel], dist)
            assert rc1 == rc2 == 0
            base_times.append(t256 + t512)
            t, rc, peak = timed([sys.executable, "-m", "relbuild", "verify", str(dist)], work)
            assert rc == 0, "relbuild verify found something on an untouched dist"
            tool_times.append(t)
            peaks.append(peak)
        base, tool = min(base_times), min(tool_times)
        print(f"data: {len(files)} files, {size / (1 << 30):.2f} GiB, {os.cpu_count()} CPUs")
        print(f"sha256sum then sha512sum: {base:.2f} s (best of {args.rounds})")
        print(f"relbuild verify:          {tool:.2f} s (best of {args.rounds}, start-up included)")
        print(f"ratio relbuild / coreutils: {tool / base:.3f} (aim <= 0.35)")
        print(f"relbuild verify peak memory (max RSS): {max(peaks) / 1024:.1f} MiB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
