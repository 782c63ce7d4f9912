"""A dist folder: its manifest (the one pydantic model of what a build
made), the SUMS files beside it, and safe access to what it holds.

manifest.json holds no wall-clock time, no absolute path, no host or user
name, and lists everything in a fixed order, so two builds of the same
sources and pins give the same bytes. SHA256SUMS and SHA512SUMS beside it
use the coreutils format (`sha256sum -c SHA256SUMS` works in the folder).

A dist may be hostile: the manifest is read with bounds, a listed path is
checked before it is opened (absolute paths, `..` and symbolic links are
never followed), and :func:`hash_file` is the one routine that computes
SHA-256 and SHA-512, reading each file once.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from relbuild.deps import Dependencies
from relbuild.errors import UsageError
from relbuild.fsutil import atomic_write, read_text

SCHEMA_VERSION = 1
MANIFEST_NAME = "manifest.json"
Algo = Literal["sha256", "sha512"]
SUMS: dict[Algo, str] = {"sha256": "SHA256SUMS", "sha512": "SHA512SUMS"}

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
    (.data, .bss, ...). Budgets are those that applied at build time."""

    flash: int
    ram: int
    sections: dict[str, int]
    flash_budget: int | None = None
    ram_budget: int | None = None


class ArtifactRecord(Frozen):
    path: str = Field(description="relative to the manifest's folder, '/'-separated")
    target: str | None
    component: str | None
    kind: ArtifactKind
    size: int = Field(ge=0)
    mode: str = Field(pattern=r"^0[0-7]{3}$")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    sha512: str = Field(pattern=r"^[0-9a-f]{128}$")
    footprint: Footprint | None = None


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

    def to_bytes(self) -> bytes:
        data = self.model_dump(mode="json")
        return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def sums_text(artifacts: list[ArtifactRecord], algo: Algo) -> str:
    # Binary-mode marker '*' is what coreutils writes for non-text files.
    return "".join(f"{getattr(a, algo)} *{a.path}\n" for a in artifacts)


def write_manifest(folder: Path, manifest: Manifest) -> None:
    """SUMS files first and the manifest last, each atomically: a folder
    with a manifest is a folder whose build finished."""
    for algo, name in SUMS.items():
        atomic_write(folder / name, sums_text(manifest.artifacts, algo).encode())
    atomic_write(folder / MANIFEST_NAME, manifest.to_bytes())


# --- reading a manifest that may be hostile -----------------------------------

MAX_MANIFEST_BYTES = 64 * 1024 * 1024


def load_manifest(path: Path) -> Manifest:
    """Read and validate a manifest; every problem is a UsageError (exit 2)
    with one clear sentence, whatever the file holds."""
    from pydantic import ValidationError

    from relbuild.config.loader import format_loc

    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise UsageError(f"{path}: no such manifest") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    if not path.is_file():
        raise UsageError(f"{path}: not a regular file")
    if path.is_symlink():
        raise UsageError(f"{path}: a symbolic link; a manifest is read only as a regular file")
    if size > MAX_MANIFEST_BYTES:
        raise UsageError(
            f"{path}: {size} bytes is more than a manifest may be "
            f"({MAX_MANIFEST_BYTES // (1024 * 1024)} MiB); refusing to read it"
        )
    text = read_text(path, UsageError)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{path}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except RecursionError:
        raise UsageError(f"{path}: JSON nested too deeply to be a manifest") from None
    except ValueError as exc:  # e.g. an integer with thousands of digits
        raise UsageError(f"{path}: not a usable JSON document: {exc}") from None
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
        return Manifest.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        lines = [f"{path}: not a valid manifest ({len(errors)} problem(s)):"]
        for err in errors[:10]:
            lines.append(f"  {format_loc(tuple(err['loc']))}: {err['msg']}")
        if len(errors) > 10:
            lines.append(f"  ... and {len(errors) - 10} more")
        raise UsageError("\n".join(lines)) from None
    except RecursionError:
        raise UsageError(f"{path}: nested too deeply to be a manifest") from None


# --- finding and reading what a dist holds --------------------------------------

CHUNK = 1 << 20


def locate(arg: Path) -> tuple[Path, Path]:
    """(folder, manifest) from a dist folder or a manifest file."""
    if arg.is_dir():
        return arg, arg / MANIFEST_NAME
    if arg.exists() or arg.name.endswith(".json"):
        return arg.parent, arg
    raise UsageError(f"{arg}: no such folder or manifest")


def safe_relpath(rel: str) -> str | None:
    """Why ``rel`` may not be opened inside the folder, or None if it may."""
    if not rel or "\0" in rel or "\\" in rel or not rel.isprintable():
        return "not a plain relative path"
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return "not valid UTF-8"
    if len(rel) > 1024 or any(len(part) > 255 for part in rel.split("/")):
        return "path too long"
    if rel.startswith("/") or PurePosixPath(rel).is_absolute():
        return "absolute path"
    parts = rel.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return "path with '..', '.' or an empty part"
    return None


def walk_to(folder: Path, rel: str) -> tuple[Path | None, str | None]:
    """Follow ``rel`` from ``folder`` without following any symbolic link."""
    current = folder
    for part in rel.split("/"):
        current = current / part
        try:
            st = current.lstat()
        except (FileNotFoundError, NotADirectoryError):
            return None, None
        if stat.S_ISLNK(st.st_mode):
            target = os.readlink(current)
            inside = os.path.realpath(current).startswith(os.path.realpath(folder) + os.sep)
            where = "inside" if inside else "outside"
            return None, f"symbolic link to {target!r} ({where} the folder); not followed"
    return current, None


def hash_file(path: Path) -> tuple[str, str, int, int]:
    """(sha256, sha512, size, mode) of a regular file, read once, without
    following a link that appeared since it was checked."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(f"{path} is not a regular file")
        h256, h512 = hashlib.sha256(), hashlib.sha512()
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        size = 0
        with os.fdopen(fd, "rb", buffering=0, closefd=False) as fh:
            while n := fh.readinto(buf):
                chunk = view[:n]
                h256.update(chunk)
                h512.update(chunk)
                size += n
        return h256.hexdigest(), h512.hexdigest(), size, stat.S_IMODE(st.st_mode)
    finally:
        os.close(fd)


def parse_sums(text: str) -> tuple[dict[str, str], list[str]]:
    """coreutils checksum lines -> ({path: digest}, [malformed lines])."""
    entries: dict[str, str] = {}
    bad: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        digest, sep, rest = line.partition(" ")
        hexdigit = all(c in "0123456789abcdefABCDEF" for c in digest)
        if not sep or not rest or rest[0] not in " *" or not digest or not hexdigit:
            bad.append(line)
            continue
        entries[rest[1:]] = digest.lower()
    return entries, bad
