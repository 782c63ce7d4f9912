"""Supply-chain files of a dist: a CycloneDX SBOM, an in-toto SLSA
provenance statement, and offline signatures over it and the manifest.

The data flows build -> dist -> attest:

- ``contents``: what each artifact really contains (the crates cargo
  resolved for its target and features, the Go modules in a binary's build
  info, checked against go.sum);
- ``sbom``: ``sbom.cdx.json``, CycloneDX 1.6;
- ``provenance``: ``provenance.intoto.json``, in-toto Statement v1 with the
  SLSA Provenance v1 predicate;
- ``keys`` and ``dsse``: key pairs, signatures, the DSSE envelope
  (``provenance.intoto.jsonl``) and the manifest's signature
  (``manifest.json.sig``);
- ``record``: what a build calls to write them; ``sign``: `relbuild sign`;
- ``check``: what `relbuild verify` adds.

All of them are deterministic: the same manifest and contents give the
same bytes, and nothing holds a wall-clock time unless asked for.
"""

from __future__ import annotations

import re

from relbuild.system import bounded

SBOM_NAME = "sbom.cdx.json"
PROVENANCE_NAME = "provenance.intoto.json"
ENVELOPE_NAME = "provenance.intoto.jsonl"
MANIFEST_SIGNATURE_NAME = "manifest.json.sig"

# Files beside manifest.json that are not in it: statements about the
# artifacts, written after them (the manifest lists what the build made).
ATTESTATION_FILES = (SBOM_NAME, PROVENANCE_NAME, ENVELOPE_NAME, MANIFEST_SIGNATURE_NAME)
# The manifest's detached signature by each signer after the first (cosign's
# verify-blob reads one signature per file); keyid from keys.key_id.
_SIGNER_SIGNATURE = re.compile(r"manifest\.json\.[0-9a-f]{16}\.sig")


def signer_signature_name(keyid: str) -> str:
    return f"{MANIFEST_SIGNATURE_NAME.removesuffix('.sig')}.{keyid}.sig"


def is_signature_file(name: str) -> bool:
    """The envelope or a detached signature of the manifest."""
    return name in (ENVELOPE_NAME, MANIFEST_SIGNATURE_NAME) or (
        _SIGNER_SIGNATURE.fullmatch(name) is not None
    )


def is_attestation_file(name: str) -> bool:
    """A top-level file a dist holds beside its manifest, not listed in it."""
    return name in ATTESTATION_FILES or _SIGNER_SIGNATURE.fullmatch(name) is not None


# Budgets of JSON values (see relbuild.system.bounded), counted in the raw bytes
# before anything is parsed. A statement restates about as much as the
# manifest it is about (a subject per artifact, the steps, the dependencies);
# an SBOM lists each artifact's packages under it, so it holds more. Each
# value costs up to about 80 bytes of memory parsed (an empty list or dict).
MAX_STATEMENT_VALUES = 1_000_000
MAX_SBOM_VALUES = 2_000_000


def load_json(data: bytes, error: type[ValueError], *, max_values: int) -> object:
    """``data`` as JSON within a budget of ``max_values`` values, or
    ``error`` with one sentence (too many values, not UTF-8, not JSON, a key
    twice)."""
    try:
        return bounded.loads(data, max_values=max_values)
    except bounded.DocumentError as exc:
        raise error(str(exc)) from None
