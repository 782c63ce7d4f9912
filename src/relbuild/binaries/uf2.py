"""UF2, the image drag-and-drop bootloaders take (Microsoft's format, as
`uf2conv` writes it from a raw image).

The raw image (the firmware's loadable segments from their lowest load
address, as :func:`relbuild.binaries.firmware.to_bin` makes it) is cut into
256-byte payloads, the last one padded with zeros. Each goes into one
512-byte block: two start magics, the flags (family ID present), its target
address, the payload size, its number, the number of blocks, the family
ID, the payload padded to 476 bytes with zeros, and the end magic.
"""

from __future__ import annotations

import struct

from relbuild.binaries import firmware
from relbuild.errors import MalformedFileError

MAGIC_START0 = 0x0A324655
MAGIC_START1 = 0x9E5D5157
MAGIC_END = 0x0AB16F30
FLAG_FAMILY_ID = 0x00002000
BLOCK = 512
PAYLOAD = 256
_DATA_FIELD = 476
_HEAD = struct.Struct("<8I")


def base_address(elf: bytes) -> int:
    """Where the raw image starts: the lowest load address with contents."""
    segs = firmware.load_segments(elf)
    if not segs:
        raise MalformedFileError("it has no loadable segment with contents")
    return segs[0].paddr


def from_bin(image: bytes, base: int, family: int) -> bytes:
    """The UF2 file of ``image`` loaded at ``base``."""
    if len(image) % PAYLOAD:
        image += bytes(PAYLOAD - len(image) % PAYLOAD)
    count = len(image) // PAYLOAD
    if base + len(image) > 1 << 32:
        raise MalformedFileError(f"an image at {base:#x} of {len(image)} bytes ends past 4 GiB")
    out = bytearray()
    for number in range(count):
        chunk = image[number * PAYLOAD : (number + 1) * PAYLOAD]
        out += _HEAD.pack(
            MAGIC_START0,
            MAGIC_START1,
            FLAG_FAMILY_ID,
            base + number * PAYLOAD,
            PAYLOAD,
            number,
            count,
            family,
        )
        out += chunk.ljust(_DATA_FIELD, b"\x00")
        out += struct.pack("<I", MAGIC_END)
    return bytes(out)


def from_elf(elf: bytes, family: int) -> bytes:
    return from_bin(firmware.to_bin(elf), base_address(elf), family)
