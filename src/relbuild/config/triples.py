"""What relbuild knows about each supported target triple.

One table maps a Rust triple to its Go port, its zig C target for cgo, the
ELF header its binaries must carry and the QEMU that runs them. A triple
outside the table is refused at config time, with the closest known one.
"""

from __future__ import annotations

import difflib
import platform
from dataclasses import dataclass, field
from typing import Literal

Endian = Literal["little", "big"]
FloatAbi = Literal["hard", "soft"]
# The object format of a triple's programs: ELF (Linux, bare metal), PE
# (Windows) or Mach-O (macOS).
BinaryFormat = Literal["elf", "pe", "macho"]


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
    # The C library of a hosted triple: "gnu" (glibc, linked dynamically
    # against a floor version, as users of -gnu binaries expect) or "musl"
    # (linked statically).
    libc: Literal["gnu", "musl"] | None = None
    # zig's C target for cgo and for linking Rust executables, without the
    # glibc floor (see :func:`zig_target`).
    zig_target: str | None = None
    # Where Debian's libc6-<arch>-cross puts the glibc that QEMU needs to
    # run a dynamically linked -gnu program of another architecture.
    gnu_sysroot: str | None = None
    # QEMU: the user-mode emulator for hosted triples, the system emulator
    # and its default machine for bare-metal ones.
    qemu_user: str | None = None
    qemu_system: str | None = None
    qemu_machine: str | None = None
    note: str = ""
    # Windows and macOS: the object format, the machine its header names
    # (pefile's IMAGE_FILE_MACHINE_* name, or LIEF's Mach-O CPU type), the
    # executable's suffix, the oldest OS release it runs on (macOS:
    # LC_BUILD_VERSION's minos, the deployment target rustc links for).
    binary_format: BinaryFormat = "elf"
    machine: str = ""
    exe_suffix: str = ""
    min_os: str | None = None

    @property
    def env_suffix(self) -> str:
        """The triple as cargo spells it in CARGO_TARGET_<TRIPLE>_* variables."""
        return self.name.upper().replace("-", "_").replace(".", "_")


# Hosted Linux, one row per architecture: the triple's first part and the
# ABIs it is built for, Rust's target_arch, e_machine, ELF class, GOARCH and
# Go's environment for it. qemu-user and zig's C target follow from the arch
# and the ABI; an ABI ending in "hf" is hard-float.
_HOSTED: list[tuple[str, tuple[str, ...], str, str, Literal[32, 64], str, str]] = [
    ("x86_64", ("gnu", "musl"), "x86_64", "EM_X86_64", 64, "amd64", "GOAMD64=v1"),
    ("aarch64", ("gnu", "musl"), "aarch64", "EM_AARCH64", 64, "arm64", ""),
    ("armv7", ("gnueabihf", "musleabihf"), "arm", "EM_ARM", 32, "arm", "GOARM=7"),
    ("arm", ("gnueabihf",), "arm", "EM_ARM", 32, "arm", "GOARM=6"),
    ("riscv64gc", ("gnu", "musl"), "riscv64", "EM_RISCV", 64, "riscv64", "GORISCV64=rva20u64"),
]

# Bare metal: the triple, QEMU's default machine for it and what it is. The
# arch, ELF header, float ABI ("hf": hard) and qemu-system follow from the name.
_BARE: list[tuple[str, str, str]] = [
    ("thumbv6m-none-eabi", "microbit", "Cortex-M0/M0+"),
    ("thumbv7m-none-eabi", "lm3s6965evb", "Cortex-M3"),
    ("thumbv7em-none-eabi", "mps2-an386", "Cortex-M4/M7, soft float"),
    ("thumbv7em-none-eabihf", "mps2-an386", "Cortex-M4F/M7F"),
    ("thumbv8m.main-none-eabi", "mps2-an505", "Cortex-M33"),
    ("thumbv8m.main-none-eabihf", "mps2-an505", "Cortex-M33 with FPU"),
    ("riscv32imac-unknown-none-elf", "virt", ""),
    ("riscv32imc-unknown-none-elf", "virt", ""),
    ("riscv32i-unknown-none-elf", "virt", ""),
]


def _hosted() -> list[Triple]:
    out = []
    for prefix, abis, arch, machine, cls, goarch, go_env in _HOSTED:
        for abi in abis:
            hard = abi.endswith("hf")
            libc: Literal["gnu", "musl"] = "gnu" if abi.startswith("gnu") else "musl"
            eabi = "eabihf" if hard else ""
            out.append(
                Triple(
                    name=f"{prefix}-unknown-linux-{abi}",
                    arch=arch,
                    bare_metal=False,
                    elf_machine=machine,
                    elf_class=cls,
                    float_abi="hard" if hard else None,
                    goos="linux",
                    goarch=goarch,
                    go_env=dict([go_env.split("=")]) if go_env else {},
                    libc=libc,
                    zig_target=f"{arch}-linux-{libc}{eabi}",
                    gnu_sysroot=f"/usr/{arch}-linux-gnu{eabi}" if libc == "gnu" else None,
                    qemu_user=f"qemu-{arch}",
                )
            )
    return out


def _bare() -> list[Triple]:
    out = []
    for name, qemu_machine, note in _BARE:
        arm = name.startswith("thumb")
        arch = "arm" if arm else "riscv32"
        hard = name.endswith("hf")
        out.append(
            Triple(
                name=name,
                arch=arch,
                bare_metal=True,
                elf_machine="EM_ARM" if arm else "EM_RISCV",
                elf_class=32,
                float_abi=("hard" if hard else "soft") if arm else None,
                qemu_system=f"qemu-system-{arch}",
                qemu_machine=qemu_machine,
                note=note,
            )
        )
    return out


# Windows and macOS: triple, Rust's target_arch, GOOS, GOARCH, Go's
# environment, zig's C target, header machine and minimum OS. The Windows
# triples are the GNU ABI ones (MinGW import libraries, which zig ships);
# arm64 Windows is `gnullvm`, the LLVM flavour of that ABI zig's libc++ and
# libunwind match. macOS needs no SDK for programs that use only libSystem
# (zig carries its stubs); the minimum OS is Go's (1.26 needs macOS 12),
# which Rust programs are linked for too (rustc's own default is older), so
# every program of a release runs on the same macOS.
_DESKTOP: list[tuple[str, str, str, str, str, str, str, str | None]] = [
    ("x86_64-pc-windows-gnu", "x86_64", "windows", "amd64", "GOAMD64=v1",
     "x86_64-windows-gnu", "IMAGE_FILE_MACHINE_AMD64", None),
    ("aarch64-pc-windows-gnullvm", "aarch64", "windows", "arm64", "",
     "aarch64-windows-gnu", "IMAGE_FILE_MACHINE_ARM64", None),
    ("x86_64-apple-darwin", "x86_64", "darwin", "amd64", "GOAMD64=v1",
     "x86_64-macos", "x86_64", "12.0"),
    ("aarch64-apple-darwin", "aarch64", "darwin", "arm64", "",
     "aarch64-macos", "ARM64", "12.0"),
]  # fmt: skip


def _desktop() -> list[Triple]:
    out = []
    for name, arch, goos, goarch, go_env, zig, machine, min_os in _DESKTOP:
        windows = goos == "windows"
        out.append(
            Triple(
                name=name,
                arch=arch,
                bare_metal=False,
                elf_machine="",
                elf_class=64,
                goos=goos,
                goarch=goarch,
                go_env=dict([go_env.split("=")]) if go_env else {},
                zig_target=f"{zig}.{min_os}" if min_os else zig,
                binary_format="pe" if windows else "macho",
                machine=machine,
                exe_suffix=".exe" if windows else "",
                min_os=min_os,
            )
        )
    return out


TRIPLES: dict[str, Triple] = {t.name: t for t in [*_hosted(), *_desktop(), *_bare()]}

# A universal macOS program (`project.universal`): one Mach-O file holding
# the programs of both Apple triples, recorded under this target name
# (not a triple: nothing is built for it, it is made of what was).
UNIVERSAL_APPLE = "universal2-apple-darwin"
UNIVERSAL_SLICES = ("x86_64-apple-darwin", "aarch64-apple-darwin")

# The glibc a -gnu binary needs at least, unless the target sets `glibc`:
# 2.28 (2018) runs on every supported Debian, Ubuntu and RHEL 8.
DEFAULT_GLIBC = "2.28"


def zig_target(triple: Triple, glibc: str | None = None) -> str | None:
    """zig's -target for ``triple``: with the glibc floor on -gnu triples
    (``aarch64-linux-gnu.2.28``)."""
    if triple.zig_target is None:
        return None
    if triple.libc == "gnu":
        return f"{triple.zig_target}.{glibc or DEFAULT_GLIBC}"
    return triple.zig_target


def lookup(name: str) -> Triple | None:
    return TRIPLES.get(name)


def suggest(name: str) -> str | None:
    close = difflib.get_close_matches(name, list(TRIPLES), n=1, cutoff=0.6)
    return close[0] if close else None


_MACHINE_ARCH = {
    "x86_64": "x86_64",
    "amd64": "x86_64",
    "aarch64": "aarch64",
    "arm64": "aarch64",
    "riscv64": "riscv64",
}


def host_arch() -> str:
    """This machine's architecture, as Rust's target_arch names it."""
    machine = platform.machine().lower()
    return _MACHINE_ARCH.get(machine, machine)


def runs_here(triple: Triple) -> bool:
    """Whether this machine runs a hosted triple's programs as they are,
    without QEMU or Wine: Linux programs on Linux, macOS ones on a Mac (a
    `macos-` CI runner), of this machine's architecture."""
    native = {"Linux": "elf", "Darwin": "macho"}.get(platform.system())
    return not triple.bare_metal and triple.binary_format == native and host_arch() == triple.arch


def is_windows(triple: Triple) -> bool:
    return triple.binary_format == "pe"


def is_apple(triple: Triple) -> bool:
    return triple.binary_format == "macho"
