"""Budgets inside the caps: the counts a reader accepts before it parses
further, memory flat in a file's size when scanning and listing, and SBOM
generation linear in the artifacts."""

from __future__ import annotations

import hashlib
import json
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from relbuild.attest import MAX_SBOM_VALUES, MAX_STATEMENT_VALUES, SBOM_NAME
from relbuild.attest.dsse import MAX_SIGNATURES, EnvelopeError, parse_envelope
from relbuild.attest.provenance import StatementError, read_subjects
from relbuild.attest.readback import ReadbackError, contents_from_sbom
from relbuild.attest.sbom import make_sbom
from relbuild.binaries import regions
from relbuild.binaries.leaks import Scanner, common_root_needles
from relbuild.release.dist import ArtifactRecord, Manifest, ProjectRecord, SourceRecord
from relbuild.verify.attestations import attestation_findings
from relbuild.verify.inventory import classify


def peak_mib(call: Callable[[], Any]) -> float:
    """The peak of Python allocations while ``call`` runs, in MiB."""
    tracemalloc.start()
    try:
        call()
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak / (1 << 20)


# --- readers: counted before parsing ----------------------------------------------


def test_envelope_with_many_tiny_signatures_is_refused_before_parsing() -> None:
    # 4.4 million of these took 1.32 GB and two minutes with `verify --key`.
    sigs = ",".join(['{"sig":"AA=="}'] * 200_000)
    raw = b'{"payloadType":"x","payload":"","signatures":[' + sigs.encode() + b"]}"

    def parse() -> None:
        with pytest.raises(EnvelopeError, match="JSON values"):
            parse_envelope(raw)

    assert peak_mib(parse) < 1  # nothing parsed: 200,000 dicts are ~50 MiB


def test_envelope_signatures_are_counted() -> None:
    sigs = ",".join(['{"sig":"AA=="}'] * (MAX_SIGNATURES + 1))
    raw = b'{"payloadType":"x","payload":"","signatures":[' + sigs.encode() + b"]}"
    with pytest.raises(EnvelopeError, match=f"more than {MAX_SIGNATURES}"):
        parse_envelope(raw)
    one = b'{"payloadType":"x","payload":"","signatures":[{"sig":"AA=="}]}'
    assert parse_envelope(one).signatures == (b"\0",)


def test_statement_over_its_budget_is_refused_before_parsing() -> None:
    subject = b'{"name":"a","digest":{}}'
    raw = b'{"_type":"x","subject":[' + b",".join([subject] * (MAX_STATEMENT_VALUES // 2)) + b"]}"

    def parse() -> None:
        with pytest.raises(StatementError, match="JSON values"):
            read_subjects(raw)

    assert peak_mib(parse) < 1


def empty_arrays(count: int) -> bytes:
    return b'{"bomFormat":"CycloneDX","components":[' + b",".join([b"[]"] * count) + b"]}"


def test_sbom_over_its_budget_is_refused_by_verify_and_merge(tmp_path: Path) -> None:
    # 63 MB of empty arrays took 1.65 GB.
    raw = empty_arrays(MAX_SBOM_VALUES // 2 + 10)
    (tmp_path / SBOM_NAME).write_bytes(raw)
    manifest = Manifest(generator="t", project=ProjectRecord(name="a", version="1"), artifacts=[])
    found: list[str] = []
    peak = peak_mib(
        lambda: found.extend(f.detail for f in attestation_findings(tmp_path, manifest, ()))
    )
    assert any("JSON values" in detail for detail in found)
    assert peak < len(raw) / (1 << 20) + 2  # the file's bytes, nothing parsed
    with pytest.raises(ReadbackError, match="JSON values"):
        contents_from_sbom(raw)


def test_sbom_of_4000_artifacts_is_written_in_linear_time() -> None:
    # cyclonedx-python-lib walked the whole dependency graph per artifact:
    # 4,000 artifacts took 10.7 s. Generous for a slow machine: 0.25 s here.
    records = []
    for i in range(4000):
        digest = hashlib.sha512(str(i).encode()).hexdigest()
        records.append(
            ArtifactRecord(
                path=f"bin/f{i:05d}" + (".tar.gz" if i % 1000 == 0 else ""),
                target=None,
                component=None,
                kind="archive" if i % 1000 == 0 else "executable",
                size=1,
                mode="0644",
                sha256=digest[:64],
                sha512=digest,
            )
        )
    manifest = Manifest(
        generator="relbuild test",
        project=ProjectRecord(name="many", version="1"),
        source=SourceRecord(vcs="git", revision="ab" * 20, dirty=False, source_date_epoch=1),
        artifacts=records,
    )
    started = time.perf_counter()
    doc = json.loads(make_sbom(manifest, {}))
    assert time.perf_counter() - started < 2.0
    assert len(doc["components"]) == 4000
    # An archive packs the other artifacts of its target (here all, target None).
    archive = next(d for d in doc["dependencies"] if d["ref"] == "bin/f00000.tar.gz")
    assert len(archive["dependsOn"]) == 3996


# --- streaming: memory flat in the file's size ------------------------------------


def test_leak_scan_of_a_large_file_reads_it_in_chunks(tmp_path: Path) -> None:
    # `verify --leaks` read each artifact whole: 1.1 GB for a 1 GiB file.
    big = tmp_path / "big.bin"
    with big.open("wb") as fh:
        fh.truncate(24 << 20)
        fh.seek((16 << 20) - 5)  # across the boundary of two chunks
        fh.write(b"/home/alice/src/x")
    found: list[str] = []
    peak = peak_mib(
        lambda: found.extend(x.found for x in Scanner(common_root_needles()).scan_file(big))
    )
    assert found == ["/home/alice/src/x"]
    assert peak < 4  # two chunks of 1 MiB and the overlap


def test_a_needle_across_chunks_is_found_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(regions, "CHUNK", 64)
    data = b"x" * 50 + b"/home/bob/a/b\0" + b"y" * 300 + b"/Users/carol/q\0" + b"z" * 70
    leaks = Scanner(common_root_needles()).scan_bytes(data, "f")
    assert sorted(x.found for x in leaks) == ["/Users/carol/q", "/home/bob/a/b"]


def test_inventory_of_a_static_library_reads_members_by_range(tmp_path: Path) -> None:
    # `relbuild manifest` read a static library whole to find its first object.
    body = b"\x7fELF" + bytes(16 << 20)
    header = b"big.o/".ljust(16) + b"0".ljust(12) + b"0".ljust(6) * 2 + b"644".ljust(8)
    lib = tmp_path / "libbig.a"
    lib.write_bytes(b"!<arch>\n" + header + str(len(body)).encode().ljust(10) + b"`\n" + body)
    result: list[object] = []
    peak = peak_mib(lambda: result.append(classify(lib)))
    assert result == [("staticlib", None)]  # not a readable ELF header: no triple
    assert peak < 2
