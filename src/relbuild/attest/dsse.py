"""DSSE envelopes (the in-toto signature wrapper) and detached signatures.

An envelope signs PAE(payloadType, payload):
``"DSSEv1" SP len(type) SP type SP len(body) SP body``, lengths in decimal
bytes. It is written as one line of JSON, as cosign reads it:
``{"payloadType": ..., "payload": base64, "signatures": [{"keyid": ..., "sig": base64}]}``,
one signature per signer (`relbuild sign` adds one; cosign 2.6's
verify-blob-attestation accepts such an envelope with any one signer's key).

A detached signature (``manifest.json.sig``) is the base64 of the signature
over the file's bytes, the format of `cosign sign-blob`.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from relbuild.attest import load_json
from relbuild.attest.keys import Signer, Verifier, key_id

IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
# The statement of the largest manifest relbuild reads (16 MiB, about 51,000
# artifacts) is about 15 MiB, 20 MiB in base64; its steps are the manifest's. Parsed and checked, an
# envelope takes about eight times its size at most (measured: 32 MiB, under
# 300 MB with `verify --key`; 64 MiB took 430 MB).
MAX_ENVELOPE_BYTES = 32 * 1024 * 1024
# An envelope is three keys and its signatures (one per signer: a few people
# approve a release, never thousands); the payload is one string. Counted
# before parsing: 4.4 million tiny signatures took 1.32 GB and two minutes of
# verifying.
MAX_SIGNATURES = 16
_MAX_VALUES = 64 + 4 * MAX_SIGNATURES


def pae(payload_type: str, payload: bytes) -> bytes:
    kind = payload_type.encode()
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


MAX_KEYID_CHARS = 256


def envelope(payload: bytes, signer: Signer, payload_type: str = IN_TOTO_PAYLOAD_TYPE) -> bytes:
    return Envelope(payload_type, payload, ()).countersigned(signer).to_bytes()


@dataclass(frozen=True)
class Envelope:
    payload_type: str
    payload: bytes
    signatures: tuple[bytes, ...]
    keyids: tuple[str, ...] = ()  # one per signature ("" when the signer named none)

    def verified_by(self, verifier: Verifier) -> bool:
        message = pae(self.payload_type, self.payload)
        return any(verifier.verify(message, sig) for sig in self.signatures)

    def countersigned(self, signer: Signer) -> Envelope:
        """This envelope with ``signer``'s signature of the same statement
        added after the others (keyid: keys.key_id of its public key)."""
        sig = signer.sign(pae(self.payload_type, self.payload))
        keyids = self.keyids or ("",) * len(self.signatures)
        return Envelope(
            self.payload_type,
            self.payload,
            (*self.signatures, sig),
            (*keyids, key_id(signer.public())),
        )

    def to_bytes(self) -> bytes:
        """One line of JSON, as cosign reads it."""
        keyids = self.keyids or ("",) * len(self.signatures)
        doc = {
            "payloadType": self.payload_type,
            "payload": base64.b64encode(self.payload).decode(),
            "signatures": [
                {"keyid": k, "sig": base64.b64encode(s).decode()}
                for k, s in zip(keyids, self.signatures, strict=True)
            ],
        }
        return json.dumps(doc, separators=(",", ":")).encode() + b"\n"


class EnvelopeError(ValueError):
    """Why bytes are not a DSSE envelope (one sentence)."""


def parse_envelope(data: bytes) -> Envelope:
    if len(data) > MAX_ENVELOPE_BYTES:
        raise EnvelopeError("too large to be an envelope")

    doc = load_json(data, EnvelopeError, max_values=_MAX_VALUES)
    if not isinstance(doc, dict):
        raise EnvelopeError("not a JSON object")
    kind, payload, sigs = doc.get("payloadType"), doc.get("payload"), doc.get("signatures")
    if not isinstance(kind, str) or not isinstance(payload, str) or not isinstance(sigs, list):
        raise EnvelopeError("needs payloadType and payload (strings) and signatures (a list)")
    if len(sigs) > MAX_SIGNATURES:
        raise EnvelopeError(f"{len(sigs)} signatures, more than {MAX_SIGNATURES}")
    decoded: list[bytes] = []
    keyids: list[str] = []
    for i, entry in enumerate(sigs):
        if not isinstance(entry, dict) or not isinstance(entry.get("sig"), str):
            raise EnvelopeError(f"signatures[{i}] has no sig string")
        keyid = entry.get("keyid", "")
        if not isinstance(keyid, str) or len(keyid) > MAX_KEYID_CHARS:
            raise EnvelopeError(f"signatures[{i}].keyid is not a short string")
        decoded.append(_b64(entry["sig"], f"signatures[{i}].sig"))
        keyids.append(keyid)
    if not decoded:
        raise EnvelopeError("no signatures")
    return Envelope(kind, _b64(payload, "payload"), tuple(decoded), tuple(keyids))


def _b64(text: str, what: str) -> bytes:
    decoded = _decode(text)
    if decoded is None:
        raise EnvelopeError(f"{what} is not base64 (standard or URL-safe)")
    return decoded


def _decode(text: str | bytes) -> bytes | None:
    """Base64 in the standard or the URL-safe alphabet, padded, as DSSE
    allows both (and as its Go implementation reads them); one alphabet per
    string, since a mix of the two is neither."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        pass
    if isinstance(text, str):
        text = text.encode("ascii", errors="replace")
    if b"+" in text or b"/" in text:
        return None
    try:
        return base64.b64decode(text, altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        return None


def detached(data: bytes, signer: Signer) -> bytes:
    return base64.b64encode(signer.sign(data))


def check_detached(data: bytes, signature: bytes, verifier: Verifier) -> bool:
    sig = _decode(b"".join(signature.split()))
    return sig is not None and verifier.verify(data, sig)
