"""The build's data: the options of one build, the plan (every fact the
later stages need, so none of them reads the config again), what staging
made, and what `relbuild build --json` reports."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from relbuild.backends.base import Budget, Step
from relbuild.binaries.stack import StackReport
from relbuild.pipeline.measure import ChecksumTime, Machine
from relbuild.release.deps import Dependencies
from relbuild.release.dist import (
    ArtifactKind,
    ArtifactRecord,
    ImageRecord,
    SourceRecord,
    ToolRecord,
)
from relbuild.system.sandbox import Layout


class McubootPlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    header_size: int
    slot_size: int
    security_counter: int
    version: str  # as imgtool takes it: major.minor.revision+build
    key: str | None = None  # absolute, to read
    key_shown: str | None = None  # as the config names it, for the manifest
    signature: Literal["ed25519", "ecdsa", "rsa"] | None = None


class FirmwareImages(BaseModel):
    model_config = ConfigDict(frozen=True)

    uf2_family: str | None = None
    mcuboot: McubootPlan | None = None


class Plan(BaseModel):
    model_config = ConfigDict(frozen=True)

    project: str
    version: str
    source_date_epoch: int
    cache: str
    steps: list[Step]
    targets: list[str]
    # The glibc floor of each -gnu target (the oldest glibc its programs need).
    glibc: dict[str, str] = {}
    # What a merge of parts checks: the config's digest and all its targets.
    config_digest: str = ""
    targets_of_config: list[str] = []
    components_selected: list[str] = []
    # What the stages after planning need, taken from the config, the
    # toolchains and the project once.
    root: str
    source: SourceRecord
    toolchains: dict[str, ToolRecord]
    # Machine paths and their ${PLACEHOLDERS}, for the manifest's steps.
    places: dict[str, str]
    license_files: list[str]
    dependencies: Dependencies
    # Where the steps see the project, caches and toolchains (the sandbox's
    # mounts; none when the build runs at the host's own paths).
    layout: Layout = Layout()
    offline: bool = False
    # This machine's paths and names, by label: what no artifact may hold.
    machine: dict[str, str] = {}
    # Components whose artifacts skip the leak scan, with the reason.
    leak_waivers: dict[str, str] = {}
    # Firmware whose stack may be unbounded (stack-unbounded), with the reason.
    stack_waivers: dict[str, str] = {}
    # ABI check findings accepted on purpose: component -> symbol -> reason.
    abi_allow: dict[str, dict[str, str]] = {}
    # The bootloader images of each firmware component (UF2, MCUboot).
    images: dict[str, FirmwareImages] = {}
    # project.universal: a universal2 macOS file of each program built for
    # both Apple triples (pipeline/universal.py).
    universal: bool = False

    def steps_for(self, triple: str) -> list[Step]:
        return [s for s in self.steps if s.target == triple]


@dataclass
class Staged:
    """A file in the staging folder, on its way into the dist."""

    src: Path
    rel: str  # path in the dist folder
    kind: ArtifactKind
    target: str | None
    component: str | None
    mode: int
    budget: Budget | None = None
    # Firmware: its worst-case stack, read from the ELF cargo made (the
    # shipped one has no .stack_sizes).
    stack: StackReport | None = None
    image: ImageRecord | None = None


class StepTiming(BaseModel):
    target: str
    component: str
    tool: str
    seconds: float
    log: str
    # User + system time of the step's whole process tree (0 when up to date).
    cpu_seconds: float = 0.0


class BuildResult(BaseModel):
    """What `relbuild build --json` prints. Timings live here, never in the
    manifest."""

    out: str
    manifest: str
    artifacts: list[ArtifactRecord]
    steps: list[StepTiming]
    seconds: float
    # The release in `out` was already the one these inputs make: nothing
    # was rebuilt (pipeline/fresh.py); `seconds` is the build that made it.
    up_to_date: bool = False
    # For the release history (relbuild history): the steps' CPU time in
    # total, the time to checksum the dist, and the machine that built it.
    cpu_seconds: float = 0.0
    checksum: ChecksumTime | None = None
    machine: Machine | None = None
