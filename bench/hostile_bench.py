"""Benchmark: `relbuild verify`'s peak memory and time on hostile manifests.

Each manifest is as large as the reader lets it be (just under the size cap,
or under the budget of JSON values, whichever is reached first), in the
shapes that cost a JSON parser or a validator the most: empty objects and
lists, short strings, numbers, deep nesting, and valid entries for files that
are not there. Each runs as a child process (start-up included); the peak
memory is its max RSS, from wait4.

    .venv/bin/python bench/hostile_bench.py [--limit-mib 300]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from relbuild.release.dist import MAX_JSON_VALUES, MAX_MANIFEST_BYTES

HEAD = '{"schema_version": 1, "generator": "x", "project": {"name": "a", "version": "1"}, '


def repeated(item: str, values_per_item: int = 1) -> str:
    """An artifacts list of ``item`` as long as both bounds allow."""
    by_size = (MAX_MANIFEST_BYTES - len(HEAD) - 64) // (len(item) + 1)
    by_values = (MAX_JSON_VALUES - 64) // values_per_item
    n = min(by_size, by_values)
    return HEAD + '"artifacts": [' + ",".join([item] * n) + "]}"


def missing_entries() -> str:
    """Valid entries for files that are not there, up to the size cap."""
    entries = []
    size = len(HEAD) + 20
    i = 0
    while True:
        digest = hashlib.sha512(str(i).encode()).hexdigest()
        entry = json.dumps(
            {"path": f"gone/f{i:07d}", "target": None, "component": None, "kind": "file",
             "size": 4096, "mode": "0644", "sha256": digest[:64], "sha512": digest}
        )  # fmt: skip
        if size + len(entry) + 2 >= MAX_MANIFEST_BYTES:
            break
        entries.append(entry)
        size += len(entry) + 2
        i += 1
    return HEAD + '"artifacts": [' + ", ".join(entries) + "]}"


SHAPES: dict[str, Callable[[], str]] = {
    "empty objects [{}, ...]": lambda: repeated("{}", 2),
    "empty objects, past the budget": lambda: (
        HEAD + '"artifacts": [' + ",".join(["{}"] * ((MAX_MANIFEST_BYTES - 200) // 3)) + "]}"
    ),
    "empty lists [[], ...]": lambda: repeated("[]", 2),
    "short strings": lambda: repeated('"ab"'),
    "strings of 8": lambda: repeated('"abcdefgh"'),
    "numbers": lambda: repeated("1.5"),
    "nested lists": lambda: HEAD + '"artifacts": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "valid entries, files missing": missing_entries,
}


def peak(argv: list[str]) -> tuple[float, int, int]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - t0, os.waitstatus_to_exitcode(status), usage.ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit-mib", type=float, default=300.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="relbuild-hbench-"))
    worst = 0.0
    try:
        print(f"caps: {MAX_MANIFEST_BYTES >> 20} MiB, {MAX_JSON_VALUES} JSON values")
        for name, make in SHAPES.items():
            folder = work / "dist"
            folder.mkdir()
            (folder / "manifest.json").write_text(make())
            size = (folder / "manifest.json").stat().st_size
            seconds, code, rss = peak([sys.executable, "-m", "relbuild", "verify", str(folder)])
            worst = max(worst, rss / 1024)
            print(
                f"{name:34} {size / (1 << 20):6.1f} MiB  exit {code}  "
                f"{seconds:6.2f} s  peak {rss / 1024:6.1f} MiB"
            )
            shutil.rmtree(folder)
        verdict = "under" if worst < args.limit_mib else "OVER"
        print(f"worst peak memory: {worst:.1f} MiB ({verdict} the {args.limit_mib:.0f} MiB limit)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
