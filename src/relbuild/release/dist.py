"""A dist folder: its manifest (the one pydantic model of what a build
made), read and written; the SUMS files beside it are :mod:`relbuild.release.sums`,
safe access to what it holds :mod:`relbuild.release.safefs`.

manifest.json holds no wall-clock time, no absolute path, no host or user
name, and lists everything in a fixed order, so two builds of the same
sources and pins give the same bytes. SHA256SUMS and SHA512SUMS beside it
use the coreutils format (`sha256sum -c SHA256SUMS` works in the folder);
:mod:`relbuild.release.sums` writes and reads them.

A dist may be hostile: the manifest is read with bounds, a listed path is
checked before it is opened (absolute paths, `..` and symbolic links are
never followed: :mod:`relbuild.release.safefs`), and :func:`hash_file` / :func:`hash_fd` (from
:mod:`relbuild.release.digest`, re-exported here) are the one routine that computes
SHA-256 and SHA-512, reading each file once.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from relbuild.errors import UsageError
from relbuild.release.deps import Dependencies

# Re-exported: the one digest routine.
from relbuild.release.digest import CHUNK as CHUNK  # noqa: PLC0414
from relbuild.release.digest import SMALL as SMALL  # noqa: PLC0414
from relbuild.release.digest import hash_fd as hash_fd  # noqa: PLC0414
from relbuild.release.digest import hash_file as hash_file  # noqa: PLC0414
from relbuild.release.safefs import read_regular
from relbuild.release.sums import MAX_PROBLEMS, SUMS, sums_text
from relbuild.system import bounded
from relbuild.system.fsutil import atomic_write_many, remove_orphans, temp_name_pattern

SCHEMA_VERSION = 1
MANIFEST_NAME = "manifest.json"

ArtifactKind = Literal["executable", "staticlib", "header", "firmware", "image", "archive", "file"]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProjectRecord(Frozen):
    name: str
    version: str


class SourceRecord(Frozen):
    vcs: str | None
    revision: str | None
    dirty: bool
    source_date_epoch: int
    tag: str | None = None  # the exact v* tag on HEAD, when there is one


class ToolRecord(Frozen):
    """What identifies a toolchain, the same on every machine: how it was
    found (PATH, rustup, a download) goes to the build log, not here."""

    release: str
    commit: str | None = None
    # SHA-256 of its main executable (rustc, go, zig).
    sha256: str | None = None
    details: dict[str, str] = {}


class WaiverRecord(Frozen):
    component: str
    check: str
    reason: str


class TargetRecord(Frozen):
    triple: str
    components: list[str]
    # -gnu: the oldest glibc the programs run on (what zig linked against).
    glibc: str | None = None
    # macOS: the oldest macOS the programs run on (LC_BUILD_VERSION's minos,
    # which the header check holds every program to).
    macos: str | None = None


class StepRecord(Frozen):
    target: str
    component: str
    tool: str
    cwd: str = Field(description="relative to the project root")
    argv: list[str] = Field(description="absolute paths replaced by ${PLACEHOLDERS}")
    env: dict[str, str]


class Footprint(Frozen):
    """Bytes of flash and RAM a firmware image takes, from its sections:
    flash = every allocated section with contents (vector table, .text,
    .rodata, .data's initial values); RAM = every writable allocated section
    (.data, .bss, a heap section, ...) plus the worst-case stack where it was
    measured. Budgets are those that applied at build time."""

    flash: int
    ram: int
    sections: dict[str, int]
    flash_budget: int | None = None
    ram_budget: int | None = None
    stack: int | None = Field(
        default=None, description="worst-case stack bytes (docs/embedded.md), counted in ram"
    )
    stack_path: list[str] = Field(default=[], description="the deepest call path, entry first")
    stack_lower_bound: list[str] = Field(
        default=[],
        description="why the stack may be deeper than `stack` (recursion, indirect calls, "
        "functions without a frame size); empty when the figure is a bound",
    )


class ImageRecord(Frozen):
    """What a bootloader image was made with (docs/embedded.md): UF2's base
    address and family, MCUboot's settings, key (as the config names it)
    and image digest, the SHA-256 imgtool reports over header and payload."""

    format: Literal["uf2", "mcuboot"]
    address: int | None = None
    family: str | None = None
    version: str | None = None
    security_counter: int | None = None
    header_size: int | None = None
    slot_size: int | None = None
    key: str | None = None
    signature: Literal["ed25519", "ecdsa", "rsa"] | None = None
    # ECDSA and RSA signatures are new on every run: the image's bytes do
    # not reproduce, its digest (and the unsigned image) do.
    randomized: bool = False
    digest: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    tool: str | None = None


class ArtifactRecord(Frozen):
    path: str = Field(description="relative to the manifest's folder, '/'-separated")
    target: str | None = Field(
        description="its triple; universal2-apple-darwin for a universal macOS program "
        "made of both Apple triples' (project.universal)"
    )
    component: str | None
    kind: ArtifactKind
    size: int = Field(ge=0)
    mode: str = Field(pattern=r"^0[0-7]{3}$")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    sha512: str = Field(pattern=r"^[0-9a-f]{128}$")
    footprint: Footprint | None = None
    image: ImageRecord | None = None


class AbiSymbol(Frozen):
    name: str = Field(description="a function, or 'struct name'")
    kind: Literal["function", "struct"]
    signature: str = Field(
        description="as the staticlib's DWARF has it for this target, e.g. 'fn(*u8, u64) -> u32'"
    )
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the signature")


class AbiWaiver(Frozen):
    symbol: str
    reason: str = Field(description="from `abi-allow` in toolchains.toml")
    finding: str


class AbiRecord(Frozen):
    """The C boundary of one staticlib on one target, as `relbuild build`
    checked it (docs/abi.md)."""

    target: str
    component: str
    symbols: list[AbiSymbol]
    waived: list[AbiWaiver] = []


class PreviousRecord(Frozen):
    """The release this one replaces: one link of the hash chain
    (docs/releases.md, "The hash chain")."""

    version: str = Field(max_length=256)
    manifest_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class PrebuiltRecord(Frozen):
    """A library committed to the tree where the sources link it, compared
    with the one the release built from source and linked instead."""

    path: str  # relative to the project root
    component: str  # the component that built it
    target: str
    why: str  # the directive (file:line) or key that names the path
    matches: bool
    sha256_committed: str
    sha256_built: str
    differences: list[str] = []  # archive members that differ


class Manifest(Frozen):
    schema_version: Literal[1] = 1
    generator: str
    project: ProjectRecord
    source: SourceRecord | None = None
    toolchains: dict[str, ToolRecord] = {}
    # "bwrap": every step ran at the canonical paths of relbuild's sandbox;
    # "none": at the building machine's own paths.
    sandbox: Literal["bwrap", "none"] | None = None
    # Checks a component opted out of, and the written reason.
    waivers: list[WaiverRecord] = []
    # SHA-256 of the toolchains.toml the build read, and every target it
    # names in its order: what a merge checks parts against.
    config_digest: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    targets_of_config: list[str] = []
    # The targets built (``targets``) are fewer than ``targets_of_config``:
    # one runner's part of a split release, or a build with --target.
    partial: bool = False
    # The components asked for with --component (none: all of them).
    components_selected: list[str] = []
    targets: list[TargetRecord] = []
    steps: list[StepRecord] = []
    artifacts: list[ArtifactRecord]
    dependencies: Dependencies = Dependencies()
    abi: list[AbiRecord] = []
    # `relbuild build --previous DIST`: the release before, by its manifest's digest.
    previous: PreviousRecord | None = None
    # Libraries committed to the tree at a path the sources link, checked
    # against the ones built from source (binaries/prebuilt.py).
    prebuilt: list[PrebuiltRecord] = []

    def to_bytes(self) -> bytes:
        # Without a previous release or committed libraries the bytes are
        # those of a manifest from before the fields existed.
        unset = {"previous"} if self.previous is None else set()
        unset |= set() if self.prebuilt else {"prebuilt"}
        data = self.model_dump(mode="json", exclude=unset or None)
        return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


# Temp names of the files below while they are written (relbuild.system.fsutil):
# a writer killed by SIGKILL may leave one; it is never an artifact.
ORPHAN = temp_name_pattern([MANIFEST_NAME, *SUMS.values()])


def is_orphan(rel: str) -> bool:
    """Is ``rel`` a temp file an interrupted manifest write left behind?"""
    return ORPHAN.fullmatch(rel) is not None


def write_manifest(folder: Path, manifest: Manifest) -> None:
    """The SUMS files and the manifest as one change (all written and synced,
    then renamed into place, the manifest last): a full disk or a signal
    leaves the old three, a folder with a manifest is one whose write
    finished, and temp files a killed writer left are cleared."""
    atomic_write_many(
        [
            *(
                (folder / name, sums_text(manifest.artifacts, algo).encode())
                for algo, name in SUMS.items()
            ),
            (folder / MANIFEST_NAME, manifest.to_bytes()),
        ]
    )
    remove_orphans(folder, ORPHAN)


# --- reading a manifest that may be hostile -----------------------------------

# Bounds for hostile input, chosen so that reading any manifest under them
# stays well under 300 MB (bench/hostile_bench.py measures it). A manifest
# takes about 300 bytes and 12 JSON values per artifact, so these allow
# some 50,000 artifacts.
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
MAX_JSON_VALUES = 2_000_000
# Validation reports the first MAX_PROBLEMS (from relbuild.release.sums) problems.


def load_manifest(path: Path) -> Manifest:
    """Read and validate a manifest; every problem is a UsageError (exit 2)
    with one clear sentence, whatever the file holds. Types are strict (the
    size "12" is not a number) and validation stops at the first
    ``MAX_PROBLEMS`` problems."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such manifest") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    if stat.S_ISLNK(st.st_mode):
        raise UsageError(f"{path}: a symbolic link; a manifest is read only as a regular file")
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{path}: not a regular file")
    if st.st_size > MAX_MANIFEST_BYTES:
        raise UsageError(
            f"{path}: {st.st_size} bytes is more than a manifest may be "
            f"({MAX_MANIFEST_BYTES // (1024 * 1024)} MiB); refusing to read it"
        )
    try:
        raw = read_regular(path, MAX_MANIFEST_BYTES)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return parse_manifest(raw, path)


def parse_manifest(raw: bytes, path: Path) -> Manifest:
    """The manifest in ``raw`` (read from ``path``, named in messages): a
    UsageError for anything else, in bounded memory."""

    if len(raw) > MAX_MANIFEST_BYTES:
        raise UsageError(f"{path}: more than a manifest may be; refusing to read it")
    try:
        data = bounded.loads(raw, max_values=MAX_JSON_VALUES)
    except bounded.DocumentError as exc:
        raise UsageError(f"{path}: {exc}; not a usable manifest") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: a manifest is a JSON object, this is {type(data).__name__}")
    if "schema_version" not in data:
        raise UsageError(f"{path}: not a relbuild manifest (it has no schema_version)")
    version = data.get("schema_version")
    if type(version) is not int or version != SCHEMA_VERSION:
        raise UsageError(
            f"{path}: unknown schema_version {version!r}; this relbuild reads "
            f"schema_version {SCHEMA_VERSION}",
            hint="Use the relbuild release that wrote the manifest, or a newer one.",
        )
    try:
        return bounded.validate(Manifest, data, limit=MAX_PROBLEMS)
    except bounded.Problems as exc:
        count = (
            f"{len(exc.problems)} problem(s)"
            if exc.complete
            else f"the first {len(exc.problems)} problems; stopped there"
        )
        lines = [f"{path}: not a valid manifest ({count}):"]
        lines += [f"  {bounded.format_loc(loc)}: {msg}" for loc, msg in exc.problems]
        raise UsageError("\n".join(lines)) from None
    except RecursionError:
        raise UsageError(f"{path}: nested too deeply to be a manifest") from None


def duplicates(artifacts: list[ArtifactRecord]) -> list[tuple[int, int, str]]:
    """(index, index of the first entry, path) of every artifact whose path
    an earlier entry has already."""
    first: dict[str, int] = {}
    out: list[tuple[int, int, str]] = []
    for i, art in enumerate(artifacts):
        j = first.setdefault(art.path, i)
        if j != i:
            out.append((i, j, art.path))
    return out


# --- finding a dist -------------------------------------------------------------


def locate(arg: Path) -> tuple[Path, Path]:
    """(folder, manifest) from a dist folder or a manifest file."""
    if arg.is_dir():
        return arg, arg / MANIFEST_NAME
    if arg.exists() or arg.name.endswith(".json"):
        return arg.parent, arg
    raise UsageError(f"{arg}: no such folder or manifest")
