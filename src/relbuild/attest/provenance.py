"""`provenance.intoto.json`: an in-toto Statement v1 whose predicate is SLSA
Provenance v1.

- ``subject``: every artifact of the manifest, and manifest.json and
  sbom.cdx.json themselves, each with ``sha256`` and ``sha512``.
- ``buildDefinition.buildType``: :data:`BUILD_TYPE` (docs/supply-chain.md
  says what its parameters mean).
- ``externalParameters``: the config (its file name and SHA-256), the
  source revision and dirty flag, SOURCE_DATE_EPOCH, the targets and their
  components.
- ``internalParameters``: every step's argv and environment as the
  manifest records them (machine paths replaced by placeholders).
- ``resolvedDependencies``: the source (``gitCommit``), each toolchain, and
  every locked crate (its SHA-256) and Go module (``dirHash``: its h1: sum
  in hex).
- ``runDetails.builder``: relbuild and its version. ``runDetails.metadata``
  (invocation id, start and finish times) differs on every run, so it is
  written only when asked for.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from relbuild.attest import MAX_STATEMENT_VALUES, load_json
from relbuild.release.dist import Manifest

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "urn:relbuild:build:v1"
BUILDER_ID = "pkg:pypi/relbuild"


@dataclass(frozen=True)
class ConfigRef:
    name: str  # the config file's name, as given on the command line (no folder)
    sha256: str


@dataclass(frozen=True)
class RunMetadata:
    invocation_id: str
    started: float  # seconds since the epoch
    finished: float


def relbuild_version(manifest: Manifest) -> str:
    """The relbuild release that made the manifest, as its generator names it:
    the builder the provenance and the SBOM name (a merge by a newer relbuild
    names the release that built the parts)."""
    return manifest.generator.removeprefix("relbuild ")


def _time(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _dir_hash(h1: str | None) -> dict[str, str]:
    if not h1 or not h1.startswith("h1:"):
        return {}
    try:
        return {"dirHash": base64.b64decode(h1[3:], validate=True).hex()}
    except (binascii.Error, ValueError):
        return {}


def make_statement(
    manifest: Manifest,
    extra_subjects: dict[str, tuple[str, str]],
    config: ConfigRef | None,
    run: RunMetadata | None = None,
) -> bytes:
    """The statement's bytes (sorted keys, two-space indent, final newline);
    ``extra_subjects`` maps more file names to their (sha256, sha512)."""
    subjects = {a.path: (a.sha256, a.sha512) for a in manifest.artifacts} | extra_subjects
    source = manifest.source
    external: dict[str, Any] = {
        "project": {"name": manifest.project.name, "version": manifest.project.version},
        "targets": [
            {"triple": t.triple, "components": list(t.components)} for t in manifest.targets
        ],
    }
    if config is not None:
        external["config"] = {"path": config.name, "digest": {"sha256": config.sha256}}
    if source is not None:
        external["source"] = {
            "vcs": source.vcs,
            "revision": source.revision,
            "dirty": source.dirty,
            "sourceDateEpoch": source.source_date_epoch,
        }

    resolved: list[dict[str, Any]] = []
    if source is not None and source.revision:
        entry: dict[str, Any] = {
            "name": "source",
            "uri": f"{source.vcs or 'vcs'}:{source.revision}",
        }
        if source.vcs == "git":
            entry["digest"] = {"gitCommit": source.revision}
        if source.dirty:
            entry["annotations"] = {"dirty": True}
        resolved.append(entry)
    for name, tool in sorted(manifest.toolchains.items()):
        entry = {"name": f"toolchain:{name}", "uri": f"pkg:generic/{name}@{tool.release}"}
        digest = {"sha256": tool.sha256} if tool.sha256 else {}
        if tool.commit:
            digest["gitCommit"] = tool.commit
        if digest:
            entry["digest"] = digest
        if tool.details:
            entry["annotations"] = dict(tool.details)
        resolved.append(entry)
    for crate in manifest.dependencies.rust:
        entry = {"name": crate.name, "uri": f"pkg:cargo/{crate.name}@{crate.version}"}
        if crate.checksum:
            entry["digest"] = {"sha256": crate.checksum}
        entry["annotations"] = {"source": crate.source}
        resolved.append(entry)
    for mod in manifest.dependencies.go:
        entry = {"name": mod.path, "uri": f"pkg:golang/{mod.path}@{mod.version}"}
        digest = _dir_hash(mod.sum)
        if digest:
            entry["digest"] = digest
        resolved.append(entry)

    version = relbuild_version(manifest)
    run_details: dict[str, Any] = {
        "builder": {"id": f"{BUILDER_ID}@{version}", "version": {"relbuild": version}}
    }
    if run is not None:
        run_details["metadata"] = {
            "invocationId": run.invocation_id,
            "startedOn": _time(run.started),
            "finishedOn": _time(run.finished),
        }
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": [
            {"name": name, "digest": {"sha256": s256, "sha512": s512}}
            for name, (s256, s512) in sorted(subjects.items())
        ],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": external,
                "internalParameters": {
                    "steps": [s.model_dump(mode="json") for s in manifest.steps],
                },
                "resolvedDependencies": resolved,
            },
            "runDetails": run_details,
        },
    }
    return (json.dumps(statement, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


class StatementError(ValueError):
    """Why bytes are not a usable provenance statement (one sentence)."""


def read_subjects(data: bytes) -> tuple[str, dict[str, dict[str, str]]]:
    """(predicateType, {subject name: digest set}) of a statement."""

    doc = load_json(data, StatementError, max_values=MAX_STATEMENT_VALUES)
    if not isinstance(doc, dict) or doc.get("_type") != STATEMENT_TYPE:
        raise StatementError(f"not an in-toto statement (_type is not {STATEMENT_TYPE})")
    subjects = doc.get("subject")
    if not isinstance(subjects, list):
        raise StatementError("has no subject list")
    out: dict[str, dict[str, str]] = {}
    for i, subject in enumerate(subjects):
        name = subject.get("name") if isinstance(subject, dict) else None
        digest = subject.get("digest") if isinstance(subject, dict) else None
        if not isinstance(name, str) or not isinstance(digest, dict):
            raise StatementError(f"subject[{i}] needs a name and a digest")
        if name in out:
            raise StatementError(f"subject {name!r} is listed twice")
        out[name] = {str(k): str(v) for k, v in digest.items()}
    return str(doc.get("predicateType")), out
