"""DSSE envelopes (the in-toto signature wrapper) and detached signatures.

An envelope signs PAE(payloadType, payload):
``"DSSEv1" SP len(type) SP type SP len(body) SP body``, lengths in decimal
bytes. It is written as one line of JSON, as cosign reads it:
``{"payloadType": ..., "payload": base64, "signatures": [{"keyid": "", "sig": base64}]}``.

A detached signature (``manifest.json.sig``) is the base64 of the signature
over the file's bytes, the format of `cosign sign-blob`.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from relbuild.attest import load_json
from relbuild.attest.keys import Signer, Verifier

IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
# The statement of the largest manifest relbuild reads (16 MiB, about 51,000
# artifacts) is about 15 MiB, 20 MiB in base64; its steps are the manifest's. Parsed and checked, an
# envelope takes about eight times its size at most (measured: 32 MiB, under
# 300 MB with `verify --key`; 64 MiB took 430 MB).
MAX_ENVELOPE_BYTES = 32 * 1024 * 1024
# An envelope is three keys and its signatures (relbuild writes one); the
# payload is one string. Counted before parsing: 4.4 million tiny signatures
# took 1.32 GB and two minutes of verifying.
MAX_SIGNATURES = 16
_MAX_VALUES = 64 + 4 * MAX_SIGNATURES


def pae(payload_type: str, payload: bytes) -> bytes:
    kind = payload_type.encode()
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


def envelope(payload: bytes, signer: Signer, payload_type: str = IN_TOTO_PAYLOAD_TYPE) -> bytes:
    sig = signer.sign(pae(payload_type, payload))
    doc = {
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": "", "sig": base64.b64encode(sig).decode()}],
    }
    return json.dumps(doc, separators=(",", ":")).encode() + b"\n"


@dataclass(frozen=True)
class Envelope:
    payload_type: str
    payload: bytes
    signatures: tuple[bytes, ...]

    def verified_by(self, verifier: Verifier) -> bool:
        message = pae(self.payload_type, self.payload)
        return any(verifier.verify(message, sig) for sig in self.signatures)


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
    for i, entry in enumerate(sigs):
        if not isinstance(entry, dict) or not isinstance(entry.get("sig"), str):
            raise EnvelopeError(f"signatures[{i}] has no sig string")
        decoded.append(_b64(entry["sig"], f"signatures[{i}].sig"))
    if not decoded:
        raise EnvelopeError("no signatures")
    return Envelope(kind, _b64(payload, "payload"), tuple(decoded))


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
