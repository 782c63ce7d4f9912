"""Signing keys: ECDSA P-256 or Ed25519, PEM, from a file or a variable.

A key reference is a path, or ``env://NAME`` for the PEM text in the
environment variable NAME (as cosign spells it), so CI can keep the key in
a secret and never write it to disk. An encrypted private key takes its
password from ``RELBUILD_KEY_PASSWORD``.

Key material never appears in a message: errors name the file or the
variable and say what is wrong, nothing more. Signatures are the ones
cosign makes and checks: ECDSA with SHA-256 (DER), or pure Ed25519.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from relbuild.errors import UsageError
from relbuild.system.fsutil import atomic_write_many

KeyType = Literal["ecdsa-p256", "ed25519"]
KEY_TYPES: tuple[KeyType, ...] = ("ecdsa-p256", "ed25519")
ENV_PREFIX = "env://"
PASSWORD_VARIABLE = "RELBUILD_KEY_PASSWORD"  # noqa: S105 - the name of a variable
MAX_KEY_BYTES = 64 * 1024

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey


@dataclass(frozen=True)
class Signer:
    """A private key and where it came from (a path or env://NAME)."""

    key: PrivateKey
    source: str

    @property
    def key_type(self) -> KeyType:
        return "ed25519" if isinstance(self.key, ed25519.Ed25519PrivateKey) else "ecdsa-p256"

    def sign(self, data: bytes) -> bytes:
        if isinstance(self.key, ed25519.Ed25519PrivateKey):
            return self.key.sign(data)
        return self.key.sign(data, ec.ECDSA(hashes.SHA256()))

    def public(self) -> Verifier:
        return Verifier(self.key.public_key(), self.source)

    def __repr__(self) -> str:  # never the key itself, whatever prints this
        return f"Signer({self.key_type} from {self.source})"


@dataclass(frozen=True)
class Verifier:
    key: PublicKey
    source: str

    def verify(self, data: bytes, signature: bytes) -> bool:
        try:
            if isinstance(self.key, ed25519.Ed25519PublicKey):
                self.key.verify(signature, data)
            else:
                self.key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True

    def pem(self) -> bytes:
        return self.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def key_id(verifier: Verifier) -> str:
    """16 hex digits of the SHA-256 of the public key (SubjectPublicKeyInfo,
    DER): the DSSE keyid of its signatures, and the name of its files."""
    der = verifier.key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()[:16]


def generate(key_type: KeyType) -> PrivateKey:
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    return ec.generate_private_key(ec.SECP256R1())


def keygen(
    key_type: KeyType,
    private_path: Path,
    public_path: Path,
    *,
    password: bytes | None = None,
    force: bool = False,
) -> None:
    """Write a new key pair: the private key 0600 (PKCS#8, encrypted when a
    password is given), the public key 0644 (SubjectPublicKeyInfo)."""
    for path in (private_path, public_path):
        if path.exists() and not force:
            raise UsageError(f"{path} already exists; refusing to replace a key (use --force)")
    key = generate(key_type)
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    public_pem = Signer(key, str(private_path)).public().pem()
    # One change: both halves are checked and written before either is
    # renamed into place, so a failure keeps the old pair whole.
    atomic_write_many(
        [(private_path, private_pem), (public_path, public_pem)],
        modes=[0o600, 0o644],
        make_parents=False,
    )


def _read(ref: str, env: Mapping[str, str]) -> bytes:
    if ref.startswith(ENV_PREFIX):
        name = ref.removeprefix(ENV_PREFIX)
        if not name:
            raise UsageError(f"--key {ref}: name the variable, e.g. env://RELBUILD_SIGNING_KEY")
        value = env.get(name)
        if not value:
            raise UsageError(f"--key {ref}: the environment variable {name} is not set or empty")
        return _one_block(ref, value.encode())
    path = Path(ref)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise UsageError(f"--key {ref}: no such file") from None
    except OSError as exc:
        raise UsageError(f"--key {ref}: cannot read: {exc.strerror}") from None
    if not path.is_file():
        raise UsageError(f"--key {ref}: not a regular file")
    if size > MAX_KEY_BYTES:
        raise UsageError(f"--key {ref}: {size} bytes is too large to be a PEM key")
    try:
        return _one_block(ref, path.read_bytes())
    except OSError as exc:
        raise UsageError(f"--key {ref}: cannot read: {exc.strerror}") from None


def _one_block(ref: str, data: bytes) -> bytes:
    """A key file holds one key: with two, which one signs would be a guess
    (the PEM loader silently takes the first)."""
    blocks = data.count(b"-----BEGIN ")
    if blocks > 1:
        raise UsageError(f"--key {ref}: holds {blocks} PEM blocks; a key file holds one key")
    return data


def _password(env: Mapping[str, str]) -> bytes | None:
    value = env.get(PASSWORD_VARIABLE)
    return value.encode() if value else None


def _check_type(ref: str, key: object) -> None:
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise UsageError(
                f"--key {ref}: an ECDSA key on {key.curve.name}; relbuild signs with "
                "ECDSA P-256 (secp256r1) or Ed25519"
            )
        return
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return
    raise UsageError(
        f"--key {ref}: a {type(key).__name__.lstrip('_')} key; relbuild signs with "
        "ECDSA P-256 or Ed25519"
    )


def load_signer(ref: str, env: Mapping[str, str] | None = None) -> Signer:
    """The private key at ``ref`` (a path or env://NAME)."""
    env = os.environ if env is None else env
    data = _read(ref, env)
    if b"PRIVATE KEY-----" not in data:
        kind = "a public key" if b"PUBLIC KEY-----" in data else "not a PEM private key"
        raise UsageError(f"--key {ref}: {kind}; signing needs the private key")
    password = _password(env)
    encrypted = b"ENCRYPTED PRIVATE KEY-----" in data
    if encrypted and password is None:
        raise UsageError(
            f"--key {ref}: the private key is encrypted; set {PASSWORD_VARIABLE} to its password"
        )
    try:
        key = serialization.load_pem_private_key(data, password if encrypted else None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        why = "wrong password, or not a usable PEM key" if encrypted else "not a usable PEM key"
        raise UsageError(f"--key {ref}: {why}") from None
    _check_type(ref, key)
    assert isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey)
    return Signer(key, ref)


def load_verifier(ref: str, env: Mapping[str, str] | None = None) -> Verifier:
    """The public key at ``ref``; a private key is accepted too (its public
    half is used), so one secret can serve a job that signs and checks."""
    env = os.environ if env is None else env
    data = _read(ref, env)
    if b"PRIVATE KEY-----" in data:
        return load_signer(ref, env).public()
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise UsageError(f"--key {ref}: not a PEM public key") from None
    _check_type(ref, key)
    assert isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey)
    return Verifier(key, ref)
