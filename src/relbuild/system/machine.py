"""The machine a build ran on, as far as its times depend on it: CPUs this
process may use, the CPU model and the memory. Times in the release history
are only compared between builds of one machine class (:func:`machine_class`)."""

from __future__ import annotations

import os
import platform
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class MachineInfo:
    cores: int
    cpu_model: str
    memory_bytes: int
    arch: str

    def as_dict(self) -> dict[str, str | int]:
        return asdict(self)


def _read(path: str, limit: int = 1 << 20) -> str:
    try:
        with open(path, "rb") as fh:
            return fh.read(limit).decode("utf-8", "replace")
    except OSError:
        return ""


def cpu_model(cpuinfo: str) -> str:
    """The first `model name` (x86) or `Hardware`/`CPU part` line of /proc/cpuinfo."""
    for key in ("model name", "Hardware", "CPU part", "uarch", "isa"):
        for line in cpuinfo.splitlines():
            name, sep, value = line.partition(":")
            if sep and name.strip() == key and value.strip():
                return " ".join(value.split())
    return "unknown"


def memory_bytes(meminfo: str) -> int:
    for line in meminfo.splitlines():
        if line.startswith("MemTotal:"):
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                return int(parts[1]) * 1024
    return 0


def this_machine() -> MachineInfo:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return MachineInfo(
        cores=cores or 1,
        cpu_model=cpu_model(_read("/proc/cpuinfo")),
        memory_bytes=memory_bytes(_read("/proc/meminfo")),
        arch=platform.machine() or "unknown",
    )


def machine_class(cores: int, cpu: str, memory: int, arch: str) -> str:
    """One class per CPU model, core count and memory rounded to GiB: builds
    on two such machines take comparable time."""
    return f"{arch}, {cores} x {cpu}, {round(memory / (1 << 30))} GiB"
