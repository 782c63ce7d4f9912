"""Images bootloaders take, made beside a firmware's .bin and .hex:

- UF2 (``uf2 = { family = ... }``), written by relbuild
  (:mod:`relbuild.binaries.uf2`) at the ELF's lowest load address;
- MCUboot (``mcuboot = { header-size, slot-size, key, security-counter }``),
  made by MCUboot's own ``imgtool sign`` with the release version: the
  unsigned image always, and the signed one when a key is given. imgtool is
  found beside the Python that runs relbuild (``pip install
  relbuild[firmware]`` puts it there), else on PATH.

Ed25519 signatures are a function of key and image; ECDSA and RSA ones are
new on every run, so those images are recorded with ``randomized`` and the
proofs compare their digest, not their bytes.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from relbuild.backends import imgtool
from relbuild.binaries import uf2
from relbuild.config import LoadedConfig
from relbuild.errors import BuildError, ConfigError
from relbuild.pipeline.model import FirmwareImages, McubootPlan
from relbuild.release.dist import ImageRecord
from relbuild.system import environ, proc

# imgtool's version field: major.minor (one byte each), revision (two
# bytes), build number (four bytes).
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:\+(\d+))?$")
_LIMITS = (0xFF, 0xFF, 0xFFFF, 0xFFFFFFFF)
_DIGEST = re.compile(r"^Image digest: ([0-9a-f]{64})$", re.MULTILINE)
Signature = Literal["ed25519", "ecdsa", "rsa"]


@dataclass(frozen=True)
class Image:
    name: str  # suffix after the firmware's base name
    data: bytes
    record: ImageRecord


def plan_images(loaded: LoadedConfig, version: str, built: set[str]) -> dict[str, FirmwareImages]:
    """The images of each firmware component in ``built``: every setting
    checked now (version, key), so a mistake stops the build before it runs."""
    out: dict[str, FirmwareImages] = {}
    for name, comp in loaded.config.rust.items():
        if name not in built or (comp.uf2 is None and comp.mcuboot is None):
            continue
        mcuboot = None
        if comp.mcuboot is not None:
            where = f"{loaded.path}: rust.{name}.mcuboot"
            key = comp.mcuboot.key
            mcuboot = McubootPlan(
                header_size=comp.mcuboot.header_size,
                slot_size=comp.mcuboot.slot_size,
                security_counter=comp.mcuboot.security_counter,
                version=imgtool_version(version, where),
                key=str((loaded.base / key).resolve()) if key else None,
                key_shown=key,
                signature=key_kind(loaded.base / key, f"{where}.key") if key else None,
            )
        out[name] = FirmwareImages(
            uf2_family=comp.uf2.family if comp.uf2 else None, mcuboot=mcuboot
        )
    return out


def imgtool_version(version: str, where: str) -> str:
    m = _VERSION.match(version)
    if m is None or any(int(v or 0) > top for v, top in zip(m.groups(), _LIMITS, strict=True)):
        raise ConfigError(
            f"{where}: the release version '{version}' is not one MCUboot's header holds "
            "(major.minor.revision[+build], at most 255.255.65535+4294967295)",
            hint="Set [project] version to such a version, or remove `mcuboot`.",
        )
    return version if m.group(4) else f"{version}+0"


def key_kind(path: Path, where: str) -> Signature:
    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read {path}: {exc.strerror or exc}") from None
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"{where}: {path} is not an unencrypted PEM private key ({exc})",
            hint="imgtool keygen -t ed25519 -k key.pem makes one.",
        ) from None
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "ecdsa"
    if isinstance(key, rsa.RSAPrivateKey):
        return "rsa"
    raise ConfigError(
        f"{where}: {path} is a {type(key).__name__}; MCUboot signs with Ed25519, ECDSA or RSA keys"
    )


def make(spec: FirmwareImages, elf: bytes, image: bytes, log: Path) -> list[Image]:
    """The bootloader images of one firmware (``image`` is its .bin)."""
    out: list[Image] = []
    if spec.uf2_family is not None:
        base = uf2.base_address(elf)
        family = int(spec.uf2_family, 16)
        out.append(
            Image(
                ".uf2",
                uf2.from_bin(image, base, family),
                ImageRecord(format="uf2", address=base, family=f"0x{family:08X}"),
            )
        )
    if spec.mcuboot is not None:
        out += _mcuboot(spec.mcuboot, image, log)
    return out


def _mcuboot(m: McubootPlan, image: bytes, log: Path) -> list[Image]:
    tool = imgtool.find()
    env = environ.probe_env()
    version = proc.run([tool, "version"], env=env).stdout.strip()
    common = [
        "--version", m.version,
        "--security-counter", str(m.security_counter),
        "--header-size", str(m.header_size),
        "--slot-size", str(m.slot_size),
        "--pad-header",
    ]  # fmt: skip
    record = ImageRecord(
        format="mcuboot",
        version=m.version,
        security_counter=m.security_counter,
        header_size=m.header_size,
        slot_size=m.slot_size,
        tool=f"imgtool {version}",
    )
    log.parent.mkdir(parents=True, exist_ok=True)
    out: list[Image] = []
    with tempfile.TemporaryDirectory(prefix="relbuild-mcuboot-") as tmp:
        src = Path(tmp) / "image.bin"
        src.write_bytes(image)
        unsigned = Path(tmp) / "unsigned.bin"
        proc.run([tool, "sign", *common, src, unsigned], env=env, log=log)
        digest = _verify(tool, unsigned, None, env)
        name = ".mcuboot-unsigned.bin" if m.key else ".mcuboot.bin"
        out.append(Image(name, unsigned.read_bytes(), record.model_copy(update={"digest": digest})))
        if m.key is not None:
            signed = Path(tmp) / "signed.bin"
            proc.run([tool, "sign", "--key", m.key, *common, src, signed], env=env, log=log)
            signed_digest = _verify(tool, signed, m.key, env)
            update = {
                "digest": signed_digest,
                "key": m.key_shown,
                "signature": m.signature,
                "randomized": m.signature != "ed25519",
            }
            out.append(Image(".mcuboot.bin", signed.read_bytes(), record.model_copy(update=update)))
    return out


def _verify(tool: str, image: Path, key: str | None, env: dict[str, str]) -> str:
    """imgtool's own check of the image, and the digest it reports."""
    argv: list[str | Path] = [tool, "verify", *(["--key", key] if key else []), image]
    res = proc.run(argv, env=env, check=False)
    found = _DIGEST.search(res.stdout)
    if res.returncode != 0 or found is None:
        raise BuildError(
            f"imgtool does not accept the MCUboot image it made: {proc.tail(res.output)}"
        )
    return found.group(1)
