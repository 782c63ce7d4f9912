"""The attest stage: what each artifact contains, as its backend says
(crates from cargo, modules from a Go binary's build information), then
the SBOM, the provenance and, with a key, the signatures, written beside
the manifest in the staging folder."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from relbuild.attest.contents import Contents, union
from relbuild.attest.provenance import RunMetadata
from relbuild.attest.write import config_ref, write_documents, write_signatures
from relbuild.backends import BACKENDS
from relbuild.backends.base import Probe
from relbuild.config.triples import UNIVERSAL_APPLE, UNIVERSAL_SLICES
from relbuild.pipeline.options import AttestOptions
from relbuild.release.dist import Manifest


def collect_contents(probe: Probe, manifest: Manifest, folder: Path) -> dict[str, Contents]:
    """Artifact path -> what it holds, in the manifest's order. A universal
    macOS program holds what its two slices hold (the backends are asked
    about triples only)."""
    built = manifest.model_copy(
        update={"artifacts": [a for a in manifest.artifacts if a.target != UNIVERSAL_APPLE]}
    )
    found: dict[str, Contents] = {}
    for backend in BACKENDS.values():
        found.update(backend.contents(probe, built, folder))
    for art in manifest.artifacts:
        if art.target == UNIVERSAL_APPLE:
            slices = [
                found[a.path]
                for a in manifest.artifacts
                if a.target in UNIVERSAL_SLICES and a.component == art.component
                and a.kind == art.kind and a.path in found
            ]  # fmt: skip
            if slices:
                found[art.path] = union(slices)
    return {a.path: found[a.path] for a in manifest.artifacts if a.path in found}


def attest_build(
    folder: Path, manifest: Manifest, probe: Probe, options: AttestOptions | None
) -> None:
    """Called once manifest.json is written in the staging folder."""
    options = options or AttestOptions()
    contents = collect_contents(probe, manifest, folder)
    run = (
        RunMetadata(str(uuid.uuid4()), options.started, time.time())
        if options.run_metadata
        else None
    )
    write_documents(folder, manifest, contents, config_ref(probe.loaded), run)
    if options.signer is not None:
        write_signatures(folder, options.signer)
