"""`relbuild sign DIR --key KEY`: sign a dist, or add a signature to the
ones it has (a second person approves the same statement).

A dist is signed only when it checks out: every artifact matches the
manifest, and the SBOM and provenance agree with it. Signing a folder that
was changed since the build would vouch for the change.
"""

from __future__ import annotations

import os
from pathlib import Path

from relbuild.attest import ENVELOPE_NAME, PROVENANCE_NAME, is_signature_file
from relbuild.attest.keys import Signer
from relbuild.attest.write import write_signatures
from relbuild.errors import RelbuildError, UsageError
from relbuild.release.dist import load_manifest, locate
from relbuild.system.escaping import shown
from relbuild.verify.findings import VerifyReport
from relbuild.verify.folder import verify


class NotSignedError(RelbuildError):
    """The dist did not check out, so it was not signed (exit 1)."""

    exit_code = 1


def sign(location: Path, signer: Signer, *, jobs: int | None = None) -> tuple[Path, list[str]]:
    """(folder, files written). Raises NotSignedError naming the findings."""
    folder, manifest = locate(location)
    if not (folder / PROVENANCE_NAME).is_file():
        raise UsageError(
            f"{folder}: no {PROVENANCE_NAME}; `relbuild build` writes it beside the manifest"
        )
    # Old signatures are not evidence of anything here: check without them.
    report: VerifyReport = verify(folder, jobs=jobs)
    findings = [
        f
        for f in report.findings
        if not is_signature_file(f.path) and ENVELOPE_NAME not in f.detail
    ]
    if findings:
        # Paths and details come from the folder: one line each, escaped.
        lines = [f"  {f.kind}: {shown(f.path)}: {shown(f.detail)}" for f in findings[:20]]
        raise NotSignedError(
            f"{shown(folder)} does not match its manifest, so it was not signed:\n"
            + "\n".join(lines)
        )
    written = write_signatures(folder, signer)
    source = load_manifest(manifest).source
    if source is not None:  # like every other file of the dist
        for name in written:
            os.utime(folder / name, (source.source_date_epoch, source.source_date_epoch))
    return folder, written
