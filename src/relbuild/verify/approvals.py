"""Who signed a dist: `relbuild verify --key A --key B [--threshold N]`.

A key approves a dist when it verifies one of the signatures of the DSSE
envelope (provenance.intoto.jsonl, one signature per signer) and the
manifest's detached signature it made: manifest.json.sig for the first
signer, manifest.json.<keyid>.sig for each later one (cosign's verify-blob
reads one signature per file). The same key given twice counts once.

Without a threshold every distinct key given must approve; with one, at
least that many. Findings name, for each key that did not approve, the file
that failed, and then how many approvals there were.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from relbuild.attest import ENVELOPE_NAME, MANIFEST_SIGNATURE_NAME, signer_signature_name
from relbuild.attest.dsse import Envelope, check_detached, pae
from relbuild.attest.keys import Verifier, key_id

Report = Callable[[str, str], None]


def distinct(keys: Sequence[Verifier]) -> list[Verifier]:
    """The keys, each public key once, in the order given."""
    seen: set[bytes] = set()
    out: list[Verifier] = []
    for k in keys:
        pem = k.pem()
        if pem not in seen:
            seen.add(pem)
            out.append(k)
    return out


def count_approvals(
    keys: Sequence[Verifier],
    threshold: int | None,
    manifest: bytes,
    detached: Callable[[str], bytes | None],
    envelope: Envelope | None,
    problem: Report,
) -> bool:
    """Did enough keys approve? ``detached(name)`` reads a signature file of
    the dist (None when absent); ``problem(path, detail)`` takes a finding."""
    keys = distinct(keys)
    need = len(keys) if threshold is None else threshold
    message = pae(envelope.payload_type, envelope.payload) if envelope is not None else b""
    approved: list[Verifier] = []
    failures: list[tuple[str, str]] = []
    for k in keys:
        own = signer_signature_name(key_id(k))
        sigs = [(n, s) for n in (MANIFEST_SIGNATURE_NAME, own) if (s := detached(n)) is not None]
        on_manifest = any(check_detached(manifest, s, k) for _, s in sigs)
        on_envelope = envelope is not None and any(
            k.verify(message, s) for s in envelope.signatures
        )
        if on_manifest and on_envelope:
            approved.append(k)
            continue
        if not on_manifest:
            if not sigs:
                failures.append(
                    (MANIFEST_SIGNATURE_NAME, "missing: the dist is not signed (`relbuild sign`)")
                )
            else:
                failures.append(
                    (
                        sigs[0][0] if len(sigs) == 1 else MANIFEST_SIGNATURE_NAME,
                        f"does not verify manifest.json with {k.source}: signed by another "
                        "key, or one of them was changed",
                    )
                )
        if envelope is not None and not on_envelope:
            failures.append(
                (
                    ENVELOPE_NAME,
                    f"no signature verifies with {k.source}: signed by another key, or the "
                    "envelope was changed",
                )
            )
    if len(approved) >= need:
        return True
    for path, detail in failures:
        problem(path, detail)
    if len(keys) > 1 or need != 1:
        problem(
            ENVELOPE_NAME,
            f"{len(approved)} approval(s) by distinct keys, {need} needed "
            f"(of {len(keys)} distinct key(s) given)",
        )
    return False
