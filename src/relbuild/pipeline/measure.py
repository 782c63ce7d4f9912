"""What a build measures beyond its steps' times, for the build report and
the release history: the time to compute the dist's SHA-256 and SHA-512
(the "checksum generation duration"), and the machine it ran on."""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import BaseModel

from relbuild.release.digest import hash_file
from relbuild.release.dist import ArtifactRecord
from relbuild.system.machine import machine_class, this_machine


class Machine(BaseModel):
    cores: int
    cpu_model: str
    memory_bytes: int
    arch: str

    @property
    def klass(self) -> str:
        return machine_class(self.cores, self.cpu_model, self.memory_bytes, self.arch)


class ChecksumTime(BaseModel):
    """SHA-256 and SHA-512 of every artifact, one file after another in one
    thread: wall time and that thread's CPU time."""

    seconds: float
    cpu_seconds: float
    bytes: int


def machine() -> Machine:
    return Machine.model_validate(this_machine().as_dict())


def checksum_time(folder: Path, artifacts: list[ArtifactRecord]) -> ChecksumTime:
    wall, cpu = time.perf_counter(), time.thread_time()
    total = 0
    for art in artifacts:
        total += hash_file(folder / art.path)[2]
    return ChecksumTime(
        seconds=round(time.perf_counter() - wall, 4),
        cpu_seconds=round(time.thread_time() - cpu, 4),
        bytes=total,
    )
