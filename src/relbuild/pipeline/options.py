"""What one build is asked for: the options of `relbuild build` and of the
library's `build()`. Kept free of heavy imports, so that `relbuild build`
can ask whether the last release is up to date (fresh.py) before it
imports the pipeline's stages."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from relbuild.release.archive import ArchiveFormat
from relbuild.release.dist import PreviousRecord

if TYPE_CHECKING:
    from relbuild.attest.keys import Signer


def default_jobs() -> int:
    """Targets built side by side unless told: the CPUs, at most 4."""
    return min(os.cpu_count() or 1, 4)


@dataclass(frozen=True)
class AttestOptions:
    """What `relbuild build` was asked for beyond the defaults."""

    signer: Signer | None = None
    # Add the run-specific invocation id and times to the provenance (it
    # then differs on every build).
    run_metadata: bool = False
    started: float = field(default_factory=time.time)


@dataclass
class BuildOptions:
    out: Path
    targets: Sequence[str] = ()
    components: Sequence[str] = ()
    offline: bool = False
    jobs: int = 1
    archive: ArchiveFormat | None = None
    source_date_epoch: str | None = None
    cache: Path | None = None
    # For trees exported without .git (rebuilds, source tarballs).
    source_revision: str | None = None
    source_dirty: bool | None = None
    # The release's version (--release-version), before an exact v* tag on HEAD,
    # project.version and the first crate's version.
    version: str | None = None
    # Reuse the last build's release when nothing it read has changed
    # (pipeline/fresh.py); False builds anyway.
    reuse: bool = True
    # Key and run metadata for the SBOM, provenance and signatures.
    attest: AttestOptions | None = None
    # The release this one replaces (--previous): recorded in the manifest,
    # and its version must be lower (release/chain.py).
    previous: PreviousRecord | None = None
