"""Benchmark: `relbuild verify`'s peak memory and time on hostile inputs.

Each manifest is as large as the reader lets it be (just under the size cap,
or under the budget of JSON values, whichever is reached first), in the
shapes that cost a JSON parser or a validator the most: empty objects and
lists, short strings, numbers, deep nesting, and valid entries for files that
are not there. Each runs as a child process (start-up included); the peak
memory is its VmHWM (resident high-water mark), written by the child at exit.

Then, beyond the manifest: `verify --leaks` on a 1 GiB artifact (a sparse
file: the scan must stream it), `verify --key` on envelopes as large as the
cap allows (tiny signatures; one signed payload of a large statement), and
the time to write the SBOM of 4,000 artifacts.

    .venv/bin/python bench/hostile_bench.py [--limit-mib 300] [--skip-manifests]
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

from relbuild.attest import ENVELOPE_NAME, MANIFEST_SIGNATURE_NAME, PROVENANCE_NAME
from relbuild.attest.dsse import MAX_ENVELOPE_BYTES, detached, envelope
from relbuild.attest.keys import keygen, load_signer
from relbuild.attest.sbom import make_sbom
from relbuild.release.dist import (
    MAX_JSON_VALUES,
    MAX_MANIFEST_BYTES,
    ArtifactRecord,
    Manifest,
    ProjectRecord,
    SourceRecord,
)

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


# The child's own high-water mark (VmHWM), written at exit: ru_maxrss from
# wait4 also holds the parent's pages from before the child's exec (vfork),
# and the shapes are built in this process.
PROBE = """
import atexit, os, runpy, sys
def _hwm():
    with open("/proc/self/status") as fh, open(os.environ["HBENCH_HWM"], "w") as out:
        out.write(next(line for line in fh if line.startswith("VmHWM:")).split()[1])
atexit.register(_hwm)
sys.argv = ["relbuild", *sys.argv[1:]]
runpy.run_module("relbuild", run_name="__main__", alter_sys=True)
"""


def peak(argv: list[str]) -> tuple[float, int, int]:
    """(seconds, exit code, peak KiB) of ``python -m relbuild ARGS``."""
    assert argv[1:3] == ["-m", "relbuild"]
    with tempfile.NamedTemporaryFile() as hwm:
        env = {**os.environ, "HBENCH_HWM": hwm.name}
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [argv[0], "-c", PROBE, *argv[3:]],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        text = Path(hwm.name).read_text().strip()
    return seconds, os.waitstatus_to_exitcode(status), int(text) if text else usage.ru_maxrss


def relbuild(*args: str) -> list[str]:
    return [sys.executable, "-m", "relbuild", *args]


def leak_dist(work: Path) -> Path:
    """A dist of one 1 GiB sparse artifact with a path in its middle."""
    folder = work / "leaks"
    folder.mkdir()
    with (folder / "big.bin").open("wb") as fh:
        fh.truncate(1 << 30)
        fh.seek((512 << 20) - 5)  # across two chunks of the scan
        fh.write(b"/home/alice/src/app")
    subprocess.run(
        relbuild("manifest", str(folder), "--name", "big", "--release-version", "1"),
        check=True,
        capture_output=True,
    )
    return folder


def envelope_dists(work: Path) -> dict[str, tuple[Path, Path]]:
    """Signed dists whose envelope is as large as the cap allows."""
    key, pub = work / "k.key", work / "k.pub"
    keygen("ed25519", key, pub)
    signer = load_signer(str(key))
    out: dict[str, tuple[Path, Path]] = {}

    def dist(name: str, envelope_bytes: bytes, statement: bytes | None) -> None:
        folder = work / name
        folder.mkdir()
        (folder / "a.txt").write_text("a\n")
        subprocess.run(
            relbuild("manifest", str(folder), "--name", "a", "--release-version", "1"),
            check=True,
            capture_output=True,
        )
        manifest = (folder / "manifest.json").read_bytes()
        (folder / MANIFEST_SIGNATURE_NAME).write_bytes(detached(manifest, signer))
        (folder / ENVELOPE_NAME).write_bytes(envelope_bytes)
        if statement is not None:
            (folder / PROVENANCE_NAME).write_bytes(statement)
        out[name] = (folder, pub)

    tiny = b'{"keyid":"","sig":"AA=="}'
    n = (MAX_ENVELOPE_BYTES - 200) // (len(tiny) + 1)
    dist(
        f"envelope: {n:,} tiny signatures",
        b'{"payloadType":"application/vnd.in-toto+json","payload":"","signatures":['
        + b",".join([tiny] * n)
        + b"]}",
        None,
    )
    # A statement whose base64 fills the cap: subjects with long names.
    room = (MAX_ENVELOPE_BYTES - 4096) * 3 // 4
    subject = '{"name": "%s", "digest": {"sha256": "%s"}}'
    head = '{"_type": "https://in-toto.io/Statement/v1", "subject": ['
    one = len(subject % ("x" * 200, "0" * 64)) + 2
    items = [subject % (f"{i:0200d}", "0" * 64) for i in range((room - len(head) - 64) // one)]
    statement = (head + ", ".join(items) + '], "predicateType": "x"}\n').encode()
    dist(
        f"envelope: one signed {len(statement) >> 20} MiB statement",
        envelope(statement, signer),
        statement,
    )
    return out


def sbom_seconds(count: int) -> float:
    records = []
    for i in range(count):
        digest = hashlib.sha512(str(i).encode()).hexdigest()
        records.append(
            ArtifactRecord(
                path=f"bin/f{i:05d}",
                target=None,
                component=None,
                kind="executable",
                size=1,
                mode="0644",
                sha256=digest[:64],
                sha512=digest,
            )
        )
    manifest = Manifest(
        generator="bench",
        project=ProjectRecord(name="many", version="1"),
        source=SourceRecord(vcs="git", revision="ab" * 20, dirty=False, source_date_epoch=1),
        artifacts=records,
    )
    t0 = time.perf_counter()
    make_sbom(manifest, {})
    return time.perf_counter() - t0


def report(name: str, size: int, argv: list[str]) -> float:
    seconds, code, rss = peak(argv)
    print(
        f"{name:44} {size / (1 << 20):7.1f} MiB  exit {code}  "
        f"{seconds:7.2f} s  peak {rss / 1024:6.1f} MiB"
    )
    return rss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit-mib", type=float, default=300.0)
    parser.add_argument("--skip-manifests", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="relbuild-hbench-"))
    worst = 0.0
    try:
        print(f"caps: {MAX_MANIFEST_BYTES >> 20} MiB, {MAX_JSON_VALUES} JSON values")
        for name, make in {} if args.skip_manifests else SHAPES.items():
            folder = work / "dist"
            folder.mkdir()
            (folder / "manifest.json").write_text(make())
            size = (folder / "manifest.json").stat().st_size
            worst = max(worst, report(name, size, relbuild("verify", str(folder))))
            shutil.rmtree(folder)
        folder = leak_dist(work)
        size = (folder / "big.bin").stat().st_size
        worst = max(
            worst,
            report(
                "verify --leaks, 1 GiB artifact", size, relbuild("verify", "--leaks", str(folder))
            ),
        )
        shutil.rmtree(folder)
        for name, (folder, pub) in envelope_dists(work).items():
            size = (folder / ENVELOPE_NAME).stat().st_size
            argv = relbuild("verify", "--key", str(pub), str(folder))
            worst = max(worst, report(f"verify --key, {name}", size, argv))
            shutil.rmtree(folder)
        verdict = "under" if worst < args.limit_mib else "OVER"
        print(f"worst peak memory: {worst:.1f} MiB ({verdict} the {args.limit_mib:.0f} MiB limit)")
        print(f"SBOM of 4,000 artifacts: {sbom_seconds(4000):.2f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
