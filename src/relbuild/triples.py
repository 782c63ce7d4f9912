"""What relbuild knows about each supported target triple.

One table maps a Rust triple to its Go port, its zig C target for cgo, the
ELF header its binaries must carry and the QEMU that runs them. A triple
outside the table is refused at config time, with the closest known one.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Literal

Endian = Literal["little", "big"]
FloatAbi = Literal["hard", "soft"]


@dataclass(frozen=True)
class Triple:
    name: str
    arch: str  # Rust's target_arch
    bare_metal: bool
    # ELF header every binary built for the triple carries.
    elf_machine: str  # pyelftools' e_machine name
    elf_class: Literal[32, 64]
    endian: Endian = "little"
    float_abi: FloatAbi | None = None  # checked from e_flags on ARM
    # Go port, for hosted triples.
    goos: str | None = None
    goarch: str | None = None
    go_env: dict[str, str] = field(default_factory=dict)
    # zig's C target for cgo (static musl, so the programs run anywhere).
    zig_target: str | None = None
    # QEMU: the user-mode emulator for hosted triples, the system emulator
    # and its default machine for bare-metal ones.
    qemu_user: str | None = None
    qemu_system: str | None = None
    qemu_machine: str | None = None
    note: str = ""

    @property
    def env_suffix(self) -> str:
        """The triple as cargo spells it in CARGO_TARGET_<TRIPLE>_* variables."""
        return self.name.upper().replace("-", "_").replace(".", "_")


def _linux(
    name: str,
    arch: str,
    machine: str,
    cls: Literal[32, 64],
    goarch: str,
    zig: str,
    qemu: str | None,
    go_env: dict[str, str],
    float_abi: FloatAbi | None = None,
) -> Triple:
    return Triple(
        name=name,
        arch=arch,
        bare_metal=False,
        elf_machine=machine,
        elf_class=cls,
        float_abi=float_abi,
        goos="linux",
        goarch=goarch,
        go_env=go_env,
        zig_target=zig,
        qemu_user=qemu,
    )


def _bare(
    name: str,
    arch: str,
    machine: str,
    qemu: str,
    qemu_machine: str | None,
    float_abi: FloatAbi | None = None,
    note: str = "",
) -> Triple:
    return Triple(
        name=name,
        arch=arch,
        bare_metal=True,
        elf_machine=machine,
        elf_class=32,
        float_abi=float_abi,
        qemu_system=qemu,
        qemu_machine=qemu_machine,
        note=note,
    )


_AMD64 = {"GOAMD64": "v1"}
_ARM64: dict[str, str] = {}
_RV64 = {"GORISCV64": "rva20u64"}

TRIPLES: dict[str, Triple] = {
    t.name: t
    for t in [
        _linux(
            "x86_64-unknown-linux-gnu",
            "x86_64",
            "EM_X86_64",
            64,
            "amd64",
            "x86_64-linux-musl",
            "qemu-x86_64",
            _AMD64,
        ),
        _linux(
            "x86_64-unknown-linux-musl",
            "x86_64",
            "EM_X86_64",
            64,
            "amd64",
            "x86_64-linux-musl",
            "qemu-x86_64",
            _AMD64,
        ),
        _linux(
            "aarch64-unknown-linux-gnu",
            "aarch64",
            "EM_AARCH64",
            64,
            "arm64",
            "aarch64-linux-musl",
            "qemu-aarch64",
            _ARM64,
        ),
        _linux(
            "aarch64-unknown-linux-musl",
            "aarch64",
            "EM_AARCH64",
            64,
            "arm64",
            "aarch64-linux-musl",
            "qemu-aarch64",
            _ARM64,
        ),
        _linux(
            "armv7-unknown-linux-gnueabihf",
            "arm",
            "EM_ARM",
            32,
            "arm",
            "arm-linux-musleabihf",
            "qemu-arm",
            {"GOARM": "7"},
            float_abi="hard",
        ),
        _linux(
            "armv7-unknown-linux-musleabihf",
            "arm",
            "EM_ARM",
            32,
            "arm",
            "arm-linux-musleabihf",
            "qemu-arm",
            {"GOARM": "7"},
            float_abi="hard",
        ),
        _linux(
            "arm-unknown-linux-gnueabihf",
            "arm",
            "EM_ARM",
            32,
            "arm",
            "arm-linux-musleabihf",
            "qemu-arm",
            {"GOARM": "6"},
            float_abi="hard",
        ),
        _linux(
            "riscv64gc-unknown-linux-gnu",
            "riscv64",
            "EM_RISCV",
            64,
            "riscv64",
            "riscv64-linux-musl",
            "qemu-riscv64",
            _RV64,
        ),
        _linux(
            "riscv64gc-unknown-linux-musl",
            "riscv64",
            "EM_RISCV",
            64,
            "riscv64",
            "riscv64-linux-musl",
            "qemu-riscv64",
            _RV64,
        ),
        _bare(
            "thumbv6m-none-eabi",
            "arm",
            "EM_ARM",
            "qemu-system-arm",
            "microbit",
            float_abi="soft",
            note="Cortex-M0/M0+",
        ),
        _bare(
            "thumbv7m-none-eabi",
            "arm",
            "EM_ARM",
            "qemu-system-arm",
            "lm3s6965evb",
            float_abi="soft",
            note="Cortex-M3",
        ),
        _bare(
            "thumbv7em-none-eabi",
            "arm",
            "EM_ARM",
            "qemu-system-arm",
            "mps2-an386",
            float_abi="soft",
            note="Cortex-M4/M7, soft float",
        ),
        _bare(
            "thumbv7em-none-eabihf",
            "arm",
            "EM_ARM",
            "qemu-system-arm",
            "mps2-an386",
            float_abi="hard",
            note="Cortex-M4F/M7F",
        ),
        _bare(
            "thumbv8m.main-none-eabi",
            "arm",
            "EM_ARM",
            "qemu-system-arm",
            "mps2-an505",
            float_abi="soft",
            note="Cortex-M33",
        ),
        _bare(
            "thumbv8m.main-none-eabihf",
            "arm",
            "EM_ARM",
            "qemu-system-arm",
            "mps2-an505",
            float_abi="hard",
            note="Cortex-M33 with FPU",
        ),
        _bare("riscv32imac-unknown-none-elf", "riscv32", "EM_RISCV", "qemu-system-riscv32", "virt"),
        _bare("riscv32imc-unknown-none-elf", "riscv32", "EM_RISCV", "qemu-system-riscv32", "virt"),
        _bare("riscv32i-unknown-none-elf", "riscv32", "EM_RISCV", "qemu-system-riscv32", "virt"),
    ]
}

HOST_TRIPLE = "x86_64-unknown-linux-gnu"


def lookup(name: str) -> Triple | None:
    return TRIPLES.get(name)


def suggest(name: str) -> str | None:
    close = difflib.get_close_matches(name, list(TRIPLES), n=1, cutoff=0.6)
    return close[0] if close else None
