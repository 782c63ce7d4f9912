"""The supply-chain files a dist holds beside its manifest: the SBOM, the
provenance and, with a key, the DSSE envelope and the manifest's signature,
written from the manifest and what each artifact contains (which the
backends say; pipeline/attest.py gathers it for a build).

Called once the manifest is in the staging folder, so a dist is swapped
into place with all of them or none. They are not listed in the manifest
(it lists what the build made; these describe it); the provenance names
the manifest and the SBOM as subjects, so its signature covers both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

from relbuild.attest import (
    ENVELOPE_NAME,
    MANIFEST_SIGNATURE_NAME,
    PROVENANCE_NAME,
    SBOM_NAME,
    signer_signature_name,
)
from relbuild.attest.contents import Contents
from relbuild.attest.dsse import (
    IN_TOTO_PAYLOAD_TYPE,
    MAX_ENVELOPE_BYTES,
    MAX_SIGNATURES,
    Envelope,
    EnvelopeError,
    detached,
    parse_envelope,
)
from relbuild.attest.keys import Signer, key_id
from relbuild.attest.provenance import ConfigRef, RunMetadata, make_statement
from relbuild.attest.sbom import make_sbom
from relbuild.config import LoadedConfig
from relbuild.errors import UsageError
from relbuild.release.dist import MANIFEST_NAME, Manifest, hash_file
from relbuild.release.safefs import read_regular
from relbuild.system.fsutil import atomic_write, atomic_write_many


def config_ref(loaded: LoadedConfig) -> ConfigRef:
    return ConfigRef(loaded.path.name, hashlib.sha256(loaded.path.read_bytes()).hexdigest())


def write_documents(
    folder: Path,
    manifest: Manifest,
    contents: Mapping[str, Contents],
    config: ConfigRef | None,
    run: RunMetadata | None = None,
) -> None:
    """sbom.cdx.json, then provenance.intoto.json (which names the SBOM and
    the manifest as subjects), into ``folder`` beside manifest.json."""
    atomic_write(folder / SBOM_NAME, make_sbom(manifest, contents))
    extra = {}
    for name in (MANIFEST_NAME, SBOM_NAME):
        sha256, sha512, _, _ = hash_file(folder / name)
        extra[name] = (sha256, sha512)
    atomic_write(folder / PROVENANCE_NAME, make_statement(manifest, extra, config, run))


def write_signatures(folder: Path, signer: Signer) -> list[str]:
    """Sign the dist in ``folder``: ``signer``'s signature of
    provenance.intoto.json added to its DSSE envelope (a new envelope when
    there is none, or when the one there signs another statement), and its
    detached signature of manifest.json: manifest.json.sig for the first
    signer, manifest.json.<keyid>.sig for each later one. Returns the files
    written; none when ``signer``'s key has signed this statement already."""
    statement = (folder / PROVENANCE_NAME).read_bytes()
    base = Envelope(IN_TOTO_PAYLOAD_TYPE, statement, ())
    existing = folder / ENVELOPE_NAME
    if existing.is_file() and not existing.is_symlink():
        try:
            old = parse_envelope(read_regular(existing, MAX_ENVELOPE_BYTES))
        except (EnvelopeError, OSError):
            old = None  # not an envelope: replaced, as before multi-signer dists
        if old is not None and (old.payload_type, old.payload) == (IN_TOTO_PAYLOAD_TYPE, statement):
            base = old
    if base.verified_by(signer.public()):
        return []
    if len(base.signatures) >= MAX_SIGNATURES:
        raise UsageError(f"{ENVELOPE_NAME} has {MAX_SIGNATURES} signatures, as many as are read")
    detached_name = (
        signer_signature_name(key_id(signer.public()))
        if base.signatures
        else MANIFEST_SIGNATURE_NAME
    )
    # One change: a dist is signed whole or left as it was, never with a new
    # envelope beside an old (or no) manifest signature.
    atomic_write_many(
        [
            (existing, base.countersigned(signer).to_bytes()),
            (folder / detached_name, detached((folder / MANIFEST_NAME).read_bytes(), signer)),
        ]
    )
    return [ENVELOPE_NAME, detached_name]
