"""The checks `relbuild verify` (verify.py) makes of what it read: each
artifact against its manifest entry (digests, size, mode, then ELF, firmware
and path leaks) and the SUMS files against the manifest."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from typing import TYPE_CHECKING

from relbuild.binaries import firmware, formats
from relbuild.binaries.leaks import Scanner, common_root_needles
from relbuild.config.triples import TRIPLES, UNIVERSAL_APPLE
from relbuild.release.dist import MAX_MANIFEST_BYTES, ArtifactRecord, Manifest
from relbuild.release.sums import SUMS, Algo, parse_sums
from relbuild.verify.walk import OPEN_FLAGS, Listing

if TYPE_CHECKING:
    from relbuild.verify.findings import FindingKind, Sink

# ELF checks read a firmware image whole; a larger one is not firmware.
MAX_FIRMWARE_BYTES = 64 << 20


def leak_scanner(manifest: Manifest) -> Callable[[Sink, int, ArtifactRecord], None]:

    waived = {w.component for w in manifest.waivers if w.check == "path-leaks"}
    scanner = Scanner(common_root_needles())

    def scan(sink: Sink, root: int, art: ArtifactRecord) -> None:
        if art.kind == "archive" or art.component in waived:
            return
        try:
            fd = os.open(art.path, OPEN_FLAGS, dir_fd=root)
        except OSError:
            return  # reported as a finding already
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return
            found = scanner.scan_stream(fh, art.path)  # in chunks, never whole
        for leak in found:
            sink.add("leak", art.path, f"{leak.where}: {leak.found!r}")

    return scan


def compare(sink: Sink, root: int, art: ArtifactRecord, result: tuple[str, str, int, int]) -> None:
    sha256, sha512, size, mode = result
    differ = [
        name for name, got in (("sha256", sha256), ("sha512", sha512)) if got != getattr(art, name)
    ]
    if differ:
        sizes = f"; size {art.size} in the manifest, {size} on disk" if size != art.size else ""
        sink.add(
            "changed",
            art.path,
            f"{' and '.join(differ)} differ{'s' if len(differ) == 1 else ''}{sizes}",
        )
    elif size != art.size:
        sink.add("size", art.path, f"size {art.size} in the manifest, {size} on disk")
    if f"0{mode:o}" != art.mode:
        sink.add("mode", art.path, f"mode 0{mode:o}, the manifest says {art.mode}")
    if not differ and art.kind in ("executable", "staticlib", "firmware") and art.target:
        for kind, detail in _elf_findings(root, art):
            sink.add(kind, art.path, detail)


def _elf_findings(root: int, art: ArtifactRecord) -> list[tuple[FindingKind, str]]:

    triple = TRIPLES.get(art.target or "")
    universal = art.target == UNIVERSAL_APPLE and art.kind == "executable"
    if triple is None and not universal:
        return []

    out: list[tuple[FindingKind, str]] = []
    try:
        fd = os.open(art.path, OPEN_FLAGS, dir_fd=root)
    except OSError as exc:
        return [("not-a-file", f"cannot open again for the ELF check: {exc.strerror}")]
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return [("not-a-file", "no longer a regular file; not read")]
        name = art.path.rpartition("/")[2]
        if triple is None:  # a universal macOS program: each slice for its triple
            return [("elf", p) for p in formats.check_universal(fh, name)]
        out += [("elf", p) for p in formats.check_stream(fh, triple, name)]
        if art.kind == "firmware" and triple.bare_metal:
            if art.size > MAX_FIRMWARE_BYTES:
                return [*out, ("firmware", f"{art.size} bytes is too large to be firmware")]
            fh.seek(0)
            data = fh.read(MAX_FIRMWARE_BYTES + 1)
            out += [("firmware", p) for p in firmware.sanity_problems(data, triple, art.path)]
    return out


def sums_findings(sink: Sink, root: int, listing: Listing, manifest: Manifest) -> None:
    for algo, name in SUMS.items():
        kind, inode = listing.seen.get(name, ("missing", 0))
        if kind != "file":
            detail = {
                "missing": "missing",
                "link": "a symbolic link; not followed",
                "dir": "not a regular file",
                "special": "not a regular file",
            }[kind]
            sink.add("sums", name, detail)
            continue
        text = _read_sums(sink, root, name, inode)
        if text is not None:
            _check_sums(sink, name, algo, text, manifest)


def _read_sums(sink: Sink, root: int, name: str, inode: int) -> str | None:
    try:
        fd = os.open(name, OPEN_FLAGS, dir_fd=root)
    except OSError as exc:
        sink.add("sums", name, f"unreadable: {exc.strerror}")
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_ino != inode:
            sink.add("sums", name, "replaced while the folder was checked; not read")
            return None
        if st.st_size > MAX_MANIFEST_BYTES:
            sink.add("sums", name, "too large to be a sums file")
            return None
        raw = os.read(fd, st.st_size + 1)
        while len(raw) <= MAX_MANIFEST_BYTES and (more := os.read(fd, 1 << 20)):
            raw += more
    except OSError as exc:
        sink.add("sums", name, f"unreadable: {exc.strerror}")
        return None
    finally:
        os.close(fd)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        sink.add("sums", name, f"not UTF-8 ({exc.reason} at byte {exc.start})")
        return raw.decode("utf-8", errors="replace")


def _check_sums(sink: Sink, name: str, algo: Algo, text: str, manifest: Manifest) -> None:
    sums = parse_sums(text, algo)
    for problem in sums.problems:
        sink.add("sums", name, problem)
    more = sums.problem_count - len(sums.problems)
    if more:
        sink.add_many("sums", name, more, f"{more} more problem(s) of this kind or another")
    entries = sums.entries
    done: set[str] = set()
    for art in manifest.artifacts:
        if art.path in done:
            continue
        done.add(art.path)
        got = entries.pop(art.path, None)
        if got is None:
            sink.add("sums", name, f"no line for {art.path}")
        elif got != getattr(art, algo):
            sink.add("sums", name, f"{art.path}: {algo} disagrees with the manifest")
    for extra in sorted(entries):
        sink.add("sums", name, f"{extra} is listed but not in the manifest")
