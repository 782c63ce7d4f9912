"""Key and signature files written as one change, the signature formats
DSSE allows, key files that hold more than one key, and a full disk named
(issue 20, items 9 and 11)."""

from __future__ import annotations

import base64
import hashlib
import json
import resource
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from relbuild.attest import ENVELOPE_NAME, MANIFEST_SIGNATURE_NAME
from relbuild.attest.dsse import EnvelopeError, check_detached, envelope, parse_envelope
from relbuild.attest.keys import keygen, load_signer, load_verifier
from relbuild.errors import UsageError
from relbuild.release.dist import load_manifest, write_manifest
from tests.conftest import CliResult
from tests.forked import run_cli
from tests.unit.test_attest import dist, keys
from tests.unit.test_merge import TARGETS, _dist

__all__ = ["dist", "keys"]  # fixtures, used below


# --- item 9: one change or none ---------------------------------------------------------


def test_keygen_force_onto_a_folder_keeps_the_old_key(
    keys: tuple[Path, Path], relbuild: Callable[..., CliResult]
) -> None:
    key, pub = keys
    old = key.read_bytes()
    pub.unlink()
    pub.mkdir()
    code, _, err = relbuild("keygen", "-o", key.with_suffix(""), "--force")
    assert code == 2 and f"{pub} exists and is not a regular file" in err, err
    assert key.read_bytes() == old
    assert sorted(p.name for p in key.parent.iterdir()) == ["k.key", "k.pub"]  # no temp file


def test_keygen_writes_both_halves_with_their_modes(tmp_path: Path) -> None:
    keygen("ed25519", tmp_path / "n.key", tmp_path / "n.pub")
    assert (tmp_path / "n.key").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "n.pub").stat().st_mode & 0o777 == 0o644
    signer = load_signer(str(tmp_path / "n.key"))
    assert load_verifier(str(tmp_path / "n.pub")).pem() == signer.public().pem()


def test_sign_never_leaves_a_half_signed_dist(
    dist: Path, keys: tuple[Path, Path], relbuild: Callable[..., CliResult]
) -> None:
    key, _ = keys
    (dist / MANIFEST_SIGNATURE_NAME).mkdir()
    before = sorted(p.name for p in dist.iterdir())
    code, _, err = relbuild("sign", dist, "--key", key)
    assert code == 2 and MANIFEST_SIGNATURE_NAME in err, err
    assert not (dist / ENVELOPE_NAME).exists()
    assert sorted(p.name for p in dist.iterdir()) == before


# --- item 11: URL-safe base64, two keys in one file, a full disk named ---------------------


def test_url_safe_base64_envelope_is_accepted(keys: tuple[Path, Path]) -> None:
    """DSSE allows the standard and the URL-safe alphabet."""
    key, pub = keys
    signer, verifier = load_signer(str(key)), load_verifier(str(pub))
    payload = b"\xfb\xef\xbe?>"  # standard base64: "++++Pz4="
    doc = json.loads(envelope(payload, signer))
    url = {
        **doc,
        "payload": base64.urlsafe_b64encode(payload).decode(),
        "signatures": [
            {"keyid": "", "sig": base64.urlsafe_b64encode(sig).decode()}
            for sig in parse_envelope(json.dumps(doc).encode()).signatures
        ],
    }
    assert url["payload"] == "----Pz4="
    parsed = parse_envelope(json.dumps(url).encode())
    assert parsed.payload == payload and parsed.verified_by(verifier)
    # One alphabet per string: a mix of the two is base64 of neither.
    with pytest.raises(EnvelopeError, match="payload is not base64"):
        parse_envelope(json.dumps({**url, "payload": "+-+-Pz4="}).encode())
    sig = b""
    while b"-" not in base64.urlsafe_b64encode(sig):  # a signature the alphabets disagree on
        sig = signer.sign(b"data")
    assert check_detached(b"data", base64.urlsafe_b64encode(sig), verifier)


def _pem_pair(tmp_path: Path) -> tuple[bytes, bytes]:
    keygen("ed25519", tmp_path / "a.key", tmp_path / "a.pub")
    keygen("ecdsa-p256", tmp_path / "b.key", tmp_path / "b.pub")
    key = (tmp_path / "a.key").read_bytes() + (tmp_path / "b.key").read_bytes()
    pub = (tmp_path / "a.pub").read_bytes() + (tmp_path / "b.pub").read_bytes()
    return key, pub


def test_a_key_file_with_two_keys_is_refused(tmp_path: Path) -> None:
    key, pub = _pem_pair(tmp_path)
    (tmp_path / "two.key").write_bytes(key)
    (tmp_path / "two.pub").write_bytes(pub)
    for load, ref in (
        (load_signer, str(tmp_path / "two.key")),
        (load_verifier, str(tmp_path / "two.key")),
        (load_verifier, str(tmp_path / "two.pub")),
    ):
        with pytest.raises(UsageError, match=rf"--key {ref}: holds 2 PEM blocks"):
            load(ref)
    with pytest.raises(UsageError, match="--key env://K: holds 2 PEM blocks"):
        load_signer("env://K", {"K": key.decode()})


def test_full_disk_in_merge_names_the_file(tmp_path: Path) -> None:
    """A real write failure from the kernel: no file may grow past 4 KiB, and
    one artifact of a part is larger."""
    parts = [_dist(tmp_path / f"part-{i}", [t]) for i, t in enumerate(TARGETS)]
    big = b"x" * 5000
    rel = f"{TARGETS[0]}/notes-{TARGETS[0]}.txt"
    (parts[0] / rel).write_bytes(big)
    manifest = load_manifest(parts[0] / "manifest.json")
    digests = {"sha256": hashlib.sha256(big).hexdigest(), "sha512": hashlib.sha512(big).hexdigest()}
    arts = [
        a.model_copy(update={"size": len(big), **digests}) if a.path == rel else a
        for a in manifest.artifacts
    ]
    write_manifest(parts[0], manifest.model_copy(update={"artifacts": arts}))

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    outcome = run_cli("merge", *parts, "--out", tmp_path / "out", setup=small_files)
    assert outcome.exit_code == 2, outcome
    said = " ".join(outcome.stderr.split())  # as rich folded it
    assert f"error: cannot write {tmp_path}/" in said and f"{rel}: File too large" in said, said
