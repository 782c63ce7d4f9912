"""Benchmark: `relbuild verify` against `sha256sum -c` then `sha512sum -c`.

Three dist folders, each with its manifest and SUMS files, page cache warm;
in one run, best of --rounds, every command as a child process (start-up
included), the baseline and relbuild timed side by side:

  - small: many small files (default 20,000 of 4 KiB), where the cost per
    file is what counts (aim: ratio <= 1.0);
  - large: one large file (default 2 GiB), where hashing is what counts
    (aim: about 0.5: both digests from one read, OpenSSL's SHA);
  - mixed: about 1 GiB in large, medium and small files.

Prints the times, the ratio relbuild / coreutils of each, and relbuild's peak
memory (max RSS, from wait4). relbuild runs as it chooses (its helper process
only when a CPU is free), then with the helper forced on and off.

    .venv/bin/python bench/verify_bench.py [--small 20000] [--large-mib 2048]
        [--mixed-mib 1024] [--rounds 3] [--only small,large,mixed]
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


def write(path: Path, size: int, salt: int, block: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        left = size
        prefix = salt.to_bytes(8, "little")
        while left > 0:
            n = min(left, len(block))
            fh.write((prefix + block[8:n]) if n > 8 else prefix[:n])
            left -= n
    path.chmod(0o644)


def make_small(folder: Path, count: int) -> None:
    block = os.urandom(4096)
    for i in range(count):
        write(folder / f"d{i // 1000:02d}" / f"f{i:05d}.bin", 4096, i, block)


def make_large(folder: Path, mib: int) -> None:
    write(folder / "big.bin", mib << 20, 1, os.urandom(1 << 20))


def make_mixed(folder: Path, total_mib: int) -> None:
    block = os.urandom(1 << 20)
    # 60 % in 96 MiB files, 30 % in 4 MiB files, 10 % in 64 KiB files.
    plan = [
        ("big", 96 << 20, -(-total_mib * 6 // 10 // 96)),
        ("mid", 4 << 20, -(-total_mib * 3 // 10 // 4)),
        ("small", 64 << 10, -(-total_mib * 16 // 10)),
    ]
    for name, size, count in plan:
        for i in range(max(1, count)):
            write(folder / name / f"{name}-{i:04d}.bin", size, i, block)


def timed(argv: list[str], cwd: Path) -> tuple[float, int, int]:
    """Wall seconds, exit code and peak RSS in KiB of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - t0, os.waitstatus_to_exitcode(status), usage.ru_maxrss


def warm(folder: Path) -> tuple[int, int]:
    files = size = 0
    for path in folder.rglob("*"):
        if path.is_file():
            files += 1
            with path.open("rb") as fh:
                while chunk := fh.read(1 << 22):
                    size += len(chunk)
    return files, size


def run(name: str, folder: Path, rounds: int) -> tuple[float, float, int]:
    relbuild = [sys.executable, "-m", "relbuild"]
    subprocess.run(
        [*relbuild, "manifest", str(folder), "--name", "bench", "--release-version", "1"],
        check=True,
        capture_output=True,
    )
    files, size = warm(folder)
    base_times: list[float] = []
    tool_times: list[float] = []
    with_times: list[float] = []
    without_times: list[float] = []
    peaks: list[int] = []
    for _ in range(rounds):
        t256, rc1, _ = timed(["sha256sum", "-c", "--quiet", "--strict", "SHA256SUMS"], folder)
        t512, rc2, _ = timed(["sha512sum", "-c", "--quiet", "--strict", "SHA512SUMS"], folder)
        assert rc1 == rc2 == 0
        base_times.append(t256 + t512)
        t, rc, peak = timed([*relbuild, "verify", str(folder)], folder.parent)
        assert rc == 0, "relbuild verify found something on an untouched dist"
        tool_times.append(t)
        peaks.append(peak)
        for choice, times in (("1", with_times), ("0", without_times)):
            os.environ["RELBUILD_PREFETCH"] = choice
            t, rc, _ = timed([*relbuild, "verify", str(folder)], folder.parent)
            del os.environ["RELBUILD_PREFETCH"]
            assert rc == 0
            times.append(t)
    base, tool = min(base_times), min(tool_times)
    print(f"{name}: {files - 3} files, {size / (1 << 20):.0f} MiB")
    print(f"  sha256sum -c then sha512sum -c: {base:7.3f} s (best of {rounds})")
    print(f"  relbuild verify:                {tool:7.3f} s (best of {rounds})")
    print(f"    with its helper process:      {min(with_times):7.3f} s (RELBUILD_PREFETCH=1)")
    print(f"    without it:                   {min(without_times):7.3f} s (RELBUILD_PREFETCH=0)")
    print(
        f"  ratio relbuild / coreutils: {tool / base:.3f}; peak memory {max(peaks) / 1024:.1f} MiB"
    )
    return base, tool, max(peaks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=20_000, help="number of 4 KiB files")
    parser.add_argument("--large-mib", type=int, default=2048)
    parser.add_argument("--mixed-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="small,large,mixed")
    args = parser.parse_args()
    chosen = args.only.split(",")
    makers = {
        "small": lambda f: make_small(f, args.small),
        "large": lambda f: make_large(f, args.large_mib),
        "mixed": lambda f: make_mixed(f, args.mixed_mib),
    }
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")
    ratios = {}
    for name in chosen:
        work = Path(tempfile.mkdtemp(prefix=f"relbuild-vbench-{name}-"))
        try:
            folder = work / "dist"
            makers[name](folder)
            base, tool, _ = run(name, folder, args.rounds)
            ratios[name] = tool / base
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print("ratios relbuild / coreutils: " + ", ".join(f"{k} {v:.2f}" for k, v in ratios.items()))


if __name__ == "__main__":
    main()
