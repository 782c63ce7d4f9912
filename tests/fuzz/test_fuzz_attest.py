"""The cross-check of a release's claims and `merge` on mutated SBOMs and
provenances: a list of claims or a UsageError (exit 2) naming the part,
never another exception; a document the mutation left as it was gives no
claim, and a merge that succeeds writes a release that verifies.
(tests/unit/test_claims.py edits each field the manifest records, one by one.)"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from relbuild.attest import PROVENANCE_NAME, SBOM_NAME
from relbuild.attest.claims import Claim, claims
from relbuild.attest.provenance import ConfigRef
from relbuild.attest.readback import ReadbackError, contents_from_sbom
from relbuild.attest.write import write_documents
from relbuild.ci.merge import merge
from relbuild.errors import RelbuildError
from relbuild.release.dist import Manifest, write_manifest
from relbuild.verify.folder import verify
from tests.fuzz.conftest import examples
from tests.fuzz.mutate import dumps, mutated_bytes, mutated_json
from tests.unit.test_attest import FW, contents_for, manifest_for
from tests.unit.test_merge import TARGETS, _attest, _dist, _reseal


def _seed() -> tuple[Manifest, bytes, bytes]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        manifest = manifest_for(folder)
        write_manifest(folder, manifest)
        write_documents(folder, manifest, contents_for(), ConfigRef("toolchains.toml", "ef" * 32))
        return manifest, (folder / PROVENANCE_NAME).read_bytes(), (folder / SBOM_NAME).read_bytes()


MANIFEST, PROVENANCE, SBOM = _seed()
SBOM_DOC: dict[str, Any] = json.loads(SBOM)
PROVENANCE_DOC: dict[str, Any] = json.loads(PROVENANCE)


def test_seeds_have_no_claims() -> None:
    assert claims(MANIFEST, PROVENANCE, SBOM) == []


def _check(provenance: bytes, sbom: bytes) -> None:
    found = claims(MANIFEST, provenance, sbom)
    assert all(isinstance(c, Claim) and c.file in (PROVENANCE_NAME, SBOM_NAME) for c in found)
    assert all(c.detail.isprintable() and c.field.isprintable() for c in found)
    if _parsed(provenance) == PROVENANCE_DOC and _parsed(sbom) == SBOM_DOC:
        assert found == []


def _parsed(data: bytes) -> object:
    try:
        return json.loads(data)
    except ValueError:
        return None


_NESTED_STRING = json.loads(SBOM)
next(c for c in _NESTED_STRING["components"] if c["bom-ref"] == FW)["components"].append("x")
_DEPENDS_NUMBER = {**SBOM_DOC, "dependencies": [{"ref": FW, "dependsOn": 5}]}
# A hostile name never reaches a message raw.
_CONTROL_PATH = json.loads(SBOM.replace(f'"value": "{FW}"'.encode(), b'"value": "a\\u001b[2Jb"'))
_CONTROL_NAME = json.loads(SBOM.replace(b'"name": "crc"', b'"name": "\\u0000\\n"'))


@settings(max_examples=examples(150))
@given(st.one_of(mutated_json(SBOM_DOC).map(dumps), mutated_bytes(SBOM)))
@example(dumps(_NESTED_STRING))
@example(dumps(_DEPENDS_NUMBER))
@example(dumps(_CONTROL_PATH))
@example(dumps(_CONTROL_NAME))
@example(b'{"bomFormat": "CycloneDX", "components": [{"components": [{"hashes": ["x"]}]}]}')
def test_sbom_claims(sbom: bytes) -> None:
    _check(PROVENANCE, sbom)
    with contextlib.suppress(ReadbackError):
        contents_from_sbom(sbom)


@settings(max_examples=examples(150))
@given(st.one_of(mutated_json(PROVENANCE_DOC).map(dumps), mutated_bytes(PROVENANCE)))
@example(dumps({**PROVENANCE_DOC, "predicate": []}))
def test_provenance_claims(provenance: bytes) -> None:
    _check(provenance, SBOM)


# --- merge -------------------------------------------------------------------------------


def _parts(tmp: Path) -> list[Path]:
    return [_attest(_dist(tmp / f"part-{i}", [t])) for i, t in enumerate(TARGETS[:2])]


def _part_seed() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        doc: dict[str, Any] = json.loads((_parts(Path(tmp))[1] / SBOM_NAME).read_text())
        return doc


PART_SBOM = _part_seed()


@settings(max_examples=examples(25))
@given(mutated_json(PART_SBOM, max_edits=2))
@example({**PART_SBOM, "dependencies": 5})
def test_merge_of_a_mutated_part(sbom: Any) -> None:
    tmp = Path(tempfile.mkdtemp())
    try:
        parts = _parts(tmp)
        (parts[1] / SBOM_NAME).write_bytes(dumps(sbom))
        _reseal(parts[1])  # as one who edits an unsigned part would
        try:
            report = merge(parts, tmp / "merged", allow_partial=True)
        except RelbuildError as exc:
            assert exc.exit_code == 2
            assert f"part {parts[1]}" in str(exc)
            return
        # Only what the manifest backs was written.
        assert verify(Path(report.out)).ok
    finally:
        shutil.rmtree(tmp)
