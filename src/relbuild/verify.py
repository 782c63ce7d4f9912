"""`relbuild verify`: does a dist folder match its manifest?

Safe on hostile input: nothing outside the folder is ever opened (absolute
paths, `..` and symbolic links are findings, not reads), nothing that is not
a regular file is opened (a FIFO would block), and each file is read once,
in bounded memory, for both digests, several files at a time.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, computed_field

from relbuild import elfcheck, firmware
from relbuild.attest import ATTESTATION_FILES
from relbuild.dist import (
    MANIFEST_NAME,
    SUMS,
    ArtifactRecord,
    Manifest,
    hash_file,
    load_manifest,
    locate,
    parse_sums,
    safe_relpath,
    walk_to,
)
from relbuild.errors import UsageError
from relbuild.leaks import Scanner, common_root_needles
from relbuild.triples import TRIPLES

if TYPE_CHECKING:
    from relbuild.attest.keys import Verifier

FindingKind = Literal[
    "missing",
    "changed",
    "extra",
    "mode",
    "sums",
    "unsafe-path",
    "not-a-file",
    "elf",
    "firmware",
    "duplicate",
    "leak",
    "signature",
    "subject",
    "attestation",
]


class Finding(BaseModel):
    kind: FindingKind
    path: str
    detail: str


class VerifyReport(BaseModel):
    folder: str
    manifest: str
    artifacts: int
    bytes_hashed: int
    findings: list[Finding]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return not self.findings


def _listed_files(folder: Path) -> Iterator[tuple[str, os.stat_result]]:
    """Every entry below ``folder`` that is not a folder, links included,
    never following a link."""

    def unreadable(exc: OSError) -> None:
        raise UsageError(
            f"cannot list {exc.filename}: {exc.strerror}; the folder cannot be "
            "checked for extra files"
        )

    for root, dirs, files in os.walk(folder, followlinks=False, onerror=unreadable):
        here = Path(root)
        for name in sorted(files) + sorted(d for d in dirs if (here / d).is_symlink()):
            path = here / name
            yield path.relative_to(folder).as_posix(), path.lstat()


def verify(
    arg: Path, *, allow_extra: bool = False, jobs: int | None = None, leaks: bool = False
) -> VerifyReport:
    return verify_signed(arg, None, allow_extra=allow_extra, jobs=jobs, leaks=leaks)


def verify_signed(
    arg: Path,
    key: Verifier | None,
    *,
    allow_extra: bool = False,
    jobs: int | None = None,
    leaks: bool = False,
) -> VerifyReport:
    """Check a dist against its manifest; with ``leaks``, also scan every
    artifact (but archives, whose members are artifacts too) for paths under
    the usual home and temp folders (see leaks.py). With ``key``, the
    signatures are checked first; the SBOM and the provenance (when there)
    are always held against the manifest."""
    from relbuild.attest.check import attestation_findings

    folder, manifest_path = locate(arg)
    manifest = load_manifest(manifest_path)
    findings: list[Finding] = attestation_findings(folder, manifest, key)
    waived = {w.component for w in manifest.waivers if w.check == "path-leaks"}
    scanner = Scanner(common_root_needles()) if leaks else None

    def check(art: ArtifactRecord, path: Path) -> tuple[int, list[Finding]]:
        size, found = _check_one(art, path)
        if scanner is not None and art.kind != "archive" and art.component not in waived:
            found += [
                Finding(kind="leak", path=art.path, detail=f"{leak.where}: {leak.found!r}")
                for leak in scanner.scan_file(path, art.path)
            ]
        return size, found

    seen: set[str] = set()
    to_hash: list[tuple[ArtifactRecord, Path]] = []
    for art in manifest.artifacts:
        if art.path in seen:
            findings.append(Finding(kind="duplicate", path=art.path, detail="listed twice"))
            continue
        seen.add(art.path)
        why = safe_relpath(art.path)
        if why:
            findings.append(Finding(kind="unsafe-path", path=art.path, detail=f"{why}; not opened"))
            continue
        path, link = walk_to(folder, art.path)
        if link:
            findings.append(Finding(kind="unsafe-path", path=art.path, detail=link))
            continue
        if path is None:
            findings.append(Finding(kind="missing", path=art.path, detail="listed but not there"))
            continue
        st = path.lstat()
        if not stat.S_ISREG(st.st_mode):
            findings.append(
                Finding(kind="not-a-file", path=art.path, detail="not a regular file; not opened")
            )
            continue
        to_hash.append((art, path))

    workers = jobs or min(32, (os.cpu_count() or 1))
    # Largest first, so one big file does not start last and run alone.
    order = sorted(to_hash, key=lambda item: -item[1].lstat().st_size)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda item: check(*item), order))
    total = 0
    by_path = {}
    for (art, _), (size, found) in zip(order, results, strict=True):
        total += size
        by_path[art.path] = found
    for art in manifest.artifacts:
        findings += by_path.get(art.path, [])

    findings += _sums_findings(folder, manifest)
    if not allow_extra:
        known = seen | {MANIFEST_NAME, *SUMS.values(), *ATTESTATION_FILES}
        for rel, st in _listed_files(folder):
            if rel not in known:
                what = (
                    "symbolic link"
                    if stat.S_ISLNK(st.st_mode)
                    else "file"
                    if stat.S_ISREG(st.st_mode)
                    else "special file (FIFO, socket or device)"
                )
                findings.append(
                    Finding(kind="extra", path=rel, detail=f"{what} not in the manifest")
                )
    return VerifyReport(
        folder=str(folder),
        manifest=str(manifest_path),
        artifacts=len(manifest.artifacts),
        bytes_hashed=total,
        findings=findings,
    )


def _check_one(art: ArtifactRecord, path: Path) -> tuple[int, list[Finding]]:
    out: list[Finding] = []
    try:
        sha256, sha512, size, mode = hash_file(path)
    except OSError as exc:
        return 0, [Finding(kind="not-a-file", path=art.path, detail=str(exc))]
    differ = [
        name for name, got in (("sha256", sha256), ("sha512", sha512)) if got != getattr(art, name)
    ]
    if differ:
        sizes = f"; size {art.size} in the manifest, {size} on disk" if size != art.size else ""
        out.append(
            Finding(
                kind="changed",
                path=art.path,
                detail=f"{' and '.join(differ)} differ{'s' if len(differ) == 1 else ''}{sizes}",
            )
        )
    if f"0{mode:o}" != art.mode:
        out.append(
            Finding(
                kind="mode", path=art.path, detail=f"mode 0{mode:o}, the manifest says {art.mode}"
            )
        )
    triple = TRIPLES.get(art.target or "")
    if triple is not None and art.kind in ("executable", "staticlib", "firmware") and not differ:
        for problem in elfcheck.check_file(path, triple):
            out.append(Finding(kind="elf", path=art.path, detail=problem))
        if art.kind == "firmware" and triple.bare_metal:
            for problem in firmware.sanity_problems(path.read_bytes(), triple, art.path):
                out.append(Finding(kind="firmware", path=art.path, detail=problem))
    return size, out


def _sums_findings(folder: Path, manifest: Manifest) -> list[Finding]:
    findings: list[Finding] = []
    for algo, name in SUMS.items():
        path, link = walk_to(folder, name)
        if link or path is None or not path.is_file():
            detail = link or ("missing" if path is None else "not a regular file")
            findings.append(Finding(kind="sums", path=name, detail=detail))
            continue
        if path.stat().st_size > 64 * 1024 * 1024:
            findings.append(Finding(kind="sums", path=name, detail="too large to be a sums file"))
            continue
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            findings.append(Finding(kind="sums", path=name, detail=f"unreadable: {exc.strerror}"))
            continue
        entries, bad = parse_sums(text)
        for line in bad[:20]:
            findings.append(Finding(kind="sums", path=name, detail=f"malformed line {line!r}"))
        for art in manifest.artifacts:
            want = getattr(art, algo)
            got = entries.pop(art.path, None)
            if got is None:
                findings.append(Finding(kind="sums", path=name, detail=f"no line for {art.path}"))
            elif got != want:
                findings.append(
                    Finding(
                        kind="sums",
                        path=name,
                        detail=f"{art.path}: {algo} disagrees with the manifest",
                    )
                )
        for extra in sorted(entries):
            findings.append(
                Finding(kind="sums", path=name, detail=f"{extra} is listed but not in the manifest")
            )
    return findings
