"""What `relbuild verify` checks of the supply-chain files, before its usual
checks.

With a public key: manifest.json.sig must verify over manifest.json, and
the DSSE envelope over its payload; the payload must be the bytes of
provenance.intoto.json. Then, with a key or without: every subject of the
provenance must match the dist, the manifest's artifacts must all be
subjects, and every other claim of the provenance and the SBOM must be what
the manifest records (:mod:`relbuild.attest.claims`).

A subject that is an artifact of the manifest is held against the
manifest's digests, and the usual checks hold the manifest against the
files (each file is read once); manifest.json and sbom.cdx.json are hashed
here.
"""

from __future__ import annotations

import stat
from collections.abc import Sequence
from pathlib import Path

from relbuild.attest import (
    ENVELOPE_NAME,
    PROVENANCE_NAME,
    SBOM_NAME,
)
from relbuild.attest.claims import Claim, provenance_claims, sbom_claims
from relbuild.attest.dsse import IN_TOTO_PAYLOAD_TYPE, Envelope, EnvelopeError, parse_envelope
from relbuild.attest.keys import Verifier
from relbuild.attest.provenance import PREDICATE_TYPE, StatementError, read_subjects
from relbuild.release.dist import MANIFEST_NAME, Manifest, hash_file
from relbuild.release.safefs import walk_to
from relbuild.verify.approvals import count_approvals
from relbuild.verify.findings import Finding, FindingKind

MAX_BYTES = 64 * 1024 * 1024


def _read(folder: Path, name: str, findings: list[Finding], kind: FindingKind) -> bytes | None:
    """A top-level file's bytes, or None (with a finding unless absent)."""
    path, link = walk_to(folder, name)
    if link:
        findings.append(Finding(kind=kind, path=name, detail=link))
        return None
    if path is None:
        return None
    st = path.lstat()
    if not stat.S_ISREG(st.st_mode):
        findings.append(Finding(kind=kind, path=name, detail="not a regular file; not opened"))
        return None
    if st.st_size > MAX_BYTES:
        findings.append(Finding(kind=kind, path=name, detail="too large; not read"))
        return None
    return path.read_bytes()


def attestation_findings(
    folder: Path,
    manifest: Manifest,
    keys: Sequence[Verifier] = (),
    threshold: int | None = None,
) -> list[Finding]:
    """With ``keys``: the signatures, by enough of them (verify/approvals.py);
    then, with keys or without, the claims of the provenance and the SBOM."""
    findings: list[Finding] = []

    def sig(path: str, detail: str) -> None:
        findings.append(Finding(kind="signature", path=path, detail=detail))

    def att(path: str, detail: str) -> None:
        findings.append(Finding(kind="attestation", path=path, detail=detail))

    provenance = _read(folder, PROVENANCE_NAME, findings, "attestation")
    raw_envelope = _read(folder, ENVELOPE_NAME, findings, "signature")
    statement = provenance
    where = PROVENANCE_NAME
    env: Envelope | None = None
    if raw_envelope is not None:
        try:
            env = parse_envelope(raw_envelope)
        except EnvelopeError as exc:
            sig(ENVELOPE_NAME, f"not a DSSE envelope: {exc}")
    if keys:
        if raw_envelope is None and provenance is not None:
            sig(ENVELOPE_NAME, "missing: the provenance is not signed (`relbuild sign`)")
        if env is not None and env.payload_type != IN_TOTO_PAYLOAD_TYPE:
            sig(ENVELOPE_NAME, f"payloadType {env.payload_type!r}, not {IN_TOTO_PAYLOAD_TYPE}")
            env = None
        manifest_bytes = _read(folder, MANIFEST_NAME, findings, "signature") or b""
        count_approvals(
            keys,
            threshold,
            manifest_bytes,
            lambda name: _read(folder, name, findings, "signature"),
            env,
            sig,
        )
        if env is not None and any(env.verified_by(k) for k in keys):
            # What a trusted key signed is what the subjects are read from.
            statement, where = env.payload, ENVELOPE_NAME
            if provenance is not None and provenance != env.payload:
                att(PROVENANCE_NAME, "differs from the signed payload of " + ENVELOPE_NAME)
    elif env is not None and provenance is not None and provenance != env.payload:
        att(PROVENANCE_NAME, f"differs from the payload of {ENVELOPE_NAME}")

    if statement is not None:
        findings += _subject_findings(folder, manifest, statement, where)
        findings += _as_findings(provenance_claims(manifest, statement, where))
    elif keys and not any(f.path == ENVELOPE_NAME for f in findings):
        sig(PROVENANCE_NAME, "missing: no provenance to check the artifacts against")
    findings += _sbom_findings(folder, manifest)
    return findings


def _sbom_findings(folder: Path, manifest: Manifest) -> list[Finding]:
    """The SBOM's claims, and a document without the others."""
    findings: list[Finding] = []

    def att(path: str, detail: str) -> None:
        findings.append(Finding(kind="attestation", path=path, detail=detail))

    sbom = _read(folder, SBOM_NAME, findings, "attestation")
    # A build writes the provenance and the SBOM together, and signs that
    # provenance: one without the other is not what a build left.
    absent = {
        name
        for name in (PROVENANCE_NAME, SBOM_NAME, ENVELOPE_NAME)
        if walk_to(folder, name) == (None, None)
    }
    if PROVENANCE_NAME in absent:
        for other in (SBOM_NAME, ENVELOPE_NAME):
            if other not in absent:
                att(PROVENANCE_NAME, f"missing, though {other} is there (a build writes both)")
                break
    elif SBOM_NAME in absent:
        att(SBOM_NAME, f"missing, though {PROVENANCE_NAME} is there (a build writes both)")
    if sbom is not None:
        findings += _as_findings(sbom_claims(manifest, sbom))
    return findings


def _as_findings(found: list[Claim]) -> list[Finding]:
    return [
        Finding(
            kind="attestation",
            path=c.file,
            detail=f"{c.field}: {c.detail}" if c.field else c.detail,
        )
        for c in found
    ]


def _subject_findings(
    folder: Path, manifest: Manifest, statement: bytes, where: str
) -> list[Finding]:
    findings: list[Finding] = []
    try:
        predicate_type, subjects = read_subjects(statement)
    except StatementError as exc:
        return [Finding(kind="attestation", path=where, detail=f"unusable statement: {exc}")]
    if predicate_type != PREDICATE_TYPE:
        findings.append(
            Finding(
                kind="attestation",
                path=where,
                detail=f"predicateType {predicate_type!r}, not {PREDICATE_TYPE}",
            )
        )
    listed = {a.path: {"sha256": a.sha256, "sha512": a.sha512} for a in manifest.artifacts}
    for name in (MANIFEST_NAME, SBOM_NAME):
        if name in subjects:
            path, link = walk_to(folder, name)
            if path is not None and link is None and path.is_file():
                sha256, sha512, _, _ = hash_file(path)
                listed[name] = {"sha256": sha256, "sha512": sha512}
    for name, digest in sorted(subjects.items()):
        want = listed.get(name)
        if want is None:
            findings.append(
                Finding(kind="subject", path=name, detail=f"a subject of {where}, not in the dist")
            )
            continue
        if not {"sha256", "sha512"} & digest.keys():
            findings.append(
                Finding(kind="subject", path=name, detail="subject has no sha256 or sha512")
            )
            continue
        differ = [
            algo for algo in ("sha256", "sha512") if algo in digest and digest[algo] != want[algo]
        ]
        if differ:
            findings.append(
                Finding(
                    kind="subject",
                    path=name,
                    detail=f"{' and '.join(differ)} in {where}: not the digest of the file "
                    "in the dist",
                )
            )
    for art in manifest.artifacts:
        if art.path not in subjects:
            findings.append(
                Finding(
                    kind="subject",
                    path=art.path,
                    detail=f"in the manifest, not a subject of {where}",
                )
            )
    return findings
