"""The cross-check of a release's claims: every fact provenance.intoto.json
and sbom.cdx.json share with manifest.json must agree, or `verify` exits 1
naming the file and the field, and `sign` refuses (issue 20, items 1 and 11)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from relbuild.attest import ENVELOPE_NAME, PROVENANCE_NAME, SBOM_NAME
from relbuild.attest.contents import CRATES_IO
from relbuild.attest.keys import load_signer
from relbuild.attest.provenance import ConfigRef
from relbuild.attest.write import write_documents
from relbuild.release.dist import StepRecord, TargetRecord, write_manifest
from relbuild.verify.folder import verify
from relbuild.verify.sign import NotSignedError, sign
from tests.conftest import CliResult
from tests.unit.test_attest import EXE, FW, LIB, contents_for, keys, manifest_for

__all__ = ["keys"]  # a fixture, used below

TRIPLE = "x86_64-unknown-linux-gnu"
CONFIG = "ef" * 32


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    """A dist whose manifest records targets, steps and a config digest too."""
    folder = tmp_path / "dist"
    folder.mkdir()
    manifest = manifest_for(folder).model_copy(
        update={
            "config_digest": CONFIG,
            "targets_of_config": [TRIPLE],
            "targets": [TargetRecord(triple=TRIPLE, components=["beacon", "beacon-ffi"])],
            "steps": [
                StepRecord(
                    target=TRIPLE,
                    component="beacon",
                    tool="go",
                    cwd=".",
                    argv=["${GO}", "build", "-trimpath"],
                    env={"CGO_ENABLED": "1"},
                )
            ],
        }
    )
    write_manifest(folder, manifest)
    write_documents(folder, manifest, contents_for(), ConfigRef("toolchains.toml", CONFIG))
    assert verify(folder).ok, verify(folder).findings
    return folder


def _edit(folder: Path, name: str, change: Callable[[Any], None]) -> None:
    doc = json.loads((folder / name).read_text())
    change(doc)
    (folder / name).write_text(json.dumps(doc, indent=2) + "\n")


def _build(doc: Any) -> Any:
    return doc["predicate"]["buildDefinition"]


def _resolved(doc: Any, name: str) -> Any:
    return next(d for d in _build(doc)["resolvedDependencies"] if d["name"] == name)


def _component(doc: Any, ref: str) -> Any:
    return next(c for c in doc["components"] if c["bom-ref"] == ref)


def _nested(doc: Any, art: str, name: str) -> Any:
    return next(c for c in _component(doc, art)["components"] if c["name"] == name)


def _set(obj: Any, key: str, value: object) -> None:
    obj[key] = value


def _prop(comp: Any, name: str, value: str) -> None:
    for p in comp["properties"]:
        if p["name"] == f"relbuild:{name}":
            p["value"] = value


EVIL_CRATE = {
    "bom-ref": f"{FW}#cargo:evil@1.0.0",
    "name": "evil",
    "version": "1.0.0",
    "type": "library",
    "purl": "pkg:cargo/evil@1.0.0",
    "hashes": [{"alg": "SHA-256", "content": "66" * 32}],
    "properties": [{"name": "relbuild:source", "value": CRATES_IO}],
}


def _inject_crate(doc: Any) -> None:
    _component(doc, FW)["components"].append(dict(EVIL_CRATE))
    deps = next(d for d in doc["dependencies"] if d["ref"] == FW)
    deps["dependsOn"].append(EVIL_CRATE["bom-ref"])


def _drop_crate(doc: Any) -> None:
    comp = _component(doc, FW)
    comp["components"] = [c for c in comp["components"] if c["name"] != "crc-catalog"]
    crc = f"{FW}#cargo:crc@3.4.0"
    doc["dependencies"] = [
        d for d in doc["dependencies"] if d["ref"] != f"{FW}#cargo:crc-catalog@2.5.0"
    ]
    next(d for d in doc["dependencies"] if d["ref"] == crc).pop("dependsOn")


def _artifact_twice(doc: Any) -> None:
    wrong = json.loads(json.dumps(_component(doc, LIB)))
    wrong["hashes"][0]["content"] = "00" * 32
    doc["components"].insert(0, wrong)


def _go_module_sum(doc: Any) -> None:
    _prop(_nested(doc, EXE, "github.com/spf13/pflag"), "h1", "h1:AAAA")


# (what is edited, the edit, a word the finding's field must hold)
PROVENANCE_EDITS: list[tuple[str, Callable[[Any], None], str]] = [
    ("revision", lambda d: _set(_build(d)["externalParameters"]["source"], "revision", "f" * 40),
     "source.revision"),
    ("dirty", lambda d: _set(_build(d)["externalParameters"]["source"], "dirty", True),
     "source.dirty"),
    ("epoch", lambda d: _set(_build(d)["externalParameters"]["source"], "sourceDateEpoch", 1),
     "sourceDateEpoch"),
    ("vcs", lambda d: _set(_build(d)["externalParameters"]["source"], "vcs", "hg"), "source.vcs"),
    ("version", lambda d: _set(_build(d)["externalParameters"]["project"], "version", "9.9.9"),
     "project.version"),
    ("project", lambda d: _set(_build(d)["externalParameters"]["project"], "name", "evil"),
     "project.name"),
    ("config digest",
     lambda d: _set(_build(d)["externalParameters"]["config"]["digest"], "sha256", "00" * 32),
     "config.digest.sha256"),
    ("config name", lambda d: _set(_build(d)["externalParameters"]["config"], "path", "../x.toml"),
     "config.path"),
    ("targets", lambda d: _set(_build(d)["externalParameters"]["targets"][0], "triple", "evil"),
     "targets"),
    ("steps", lambda d: _set(_build(d)["internalParameters"]["steps"][0], "argv", ["evil"]),
     "steps"),
    ("toolchain digest",
     lambda d: _set(_resolved(d, "toolchain:rust")["digest"], "sha256", "00" * 32),
     "pkg:generic/rust"),
    ("toolchain release",
     lambda d: _set(_resolved(d, "toolchain:rust"), "uri", "pkg:generic/rust@1"),
     "pkg:generic/rust"),
    ("source commit", lambda d: _set(_resolved(d, "source")["digest"], "gitCommit", "e" * 40),
     "digest.gitCommit"),
    ("crate digest", lambda d: _set(_resolved(d, "crc")["digest"], "sha256", "00" * 32),
     "crc@3.4.0"),
    ("crate dropped",
     lambda d: _build(d)["resolvedDependencies"].remove(_resolved(d, "crc-catalog")),
     "crc-catalog@2.5.0"),
    ("builder", lambda d: _set(d["predicate"]["runDetails"]["builder"], "id", "pkg:pypi/evil@1"),
     "builder.id"),
    ("builder version",
     lambda d: _set(d["predicate"]["runDetails"]["builder"]["version"], "relbuild", "9.9"),
     "builder.version"),
    ("build type", lambda d: _set(_build(d), "buildType", "urn:evil"), "buildType"),
    ("extra parameter",
     lambda d: _set(_build(d)["externalParameters"], "extra", {"x": 1}),
     "externalParameters.extra"),
]  # fmt: skip

SBOM_EDITS: list[tuple[str, Callable[[Any], None], str]] = [
    ("crate injected", _inject_crate, "evil"),
    # The manifest does not record which artifact holds which package: a
    # crate dropped from one is caught by the serial number no longer being
    # the document's (the signature is what holds a signed SBOM).
    ("crate dropped", _drop_crate, "serialNumber"),
    ("artifact twice", _artifact_twice, LIB),
    ("artifact digest",
     lambda d: _set(_component(d, EXE)["hashes"][1], "content", "00" * 64), EXE),
    ("crate digest",
     lambda d: _set(_nested(d, FW, "crc")["hashes"][0], "content", "00" * 32), "crc"),
    ("go module sum", _go_module_sum, "pflag"),
    ("version", lambda d: _set(d["metadata"]["component"], "version", "9.9.9"), "version"),
    ("revision",
     lambda d: _prop(d["metadata"]["component"], "source.revision", "f" * 40), "source.revision"),
    ("dirty", lambda d: _prop(d["metadata"]["component"], "source.dirty", "true"), "source.dirty"),
    ("epoch", lambda d: _set(d["metadata"], "timestamp", "2030-01-01T00:00:00+00:00"),
     "timestamp"),
    ("tool version",
     lambda d: _set(d["metadata"]["tools"]["components"][0], "version", "9.9"), "tool:relbuild"),
    ("toolchain digest",
     lambda d: _set(_component(d, "toolchain:rust")["hashes"][0], "content", "00" * 32),
     "toolchain:rust"),
    ("toolchain commit", lambda d: _prop(_component(d, "toolchain:rust"), "commit", "0" * 40),
     "toolchain:rust"),
    ("artifact kind", lambda d: _prop(_component(d, FW), "kind", "file"), FW),
    ("go crate under a Go program",
     lambda d: _component(d, EXE)["components"].append(
         {**EVIL_CRATE, "bom-ref": f"{EXE}#cargo:crc@3.4.0", "name": "crc", "version": "3.4.0",
          "purl": "pkg:cargo/crc@3.4.0",
          "hashes": [{"alg": "SHA-256", "content": contents_for()[FW].packages[1].digest}]}),
     "crc"),
]  # fmt: skip


def _cases() -> list[Any]:
    return [
        pytest.param(PROVENANCE_NAME, change, field, id=f"provenance-{what}")
        for what, change, field in PROVENANCE_EDITS
    ] + [
        pytest.param(SBOM_NAME, change, field, id=f"sbom-{what}")
        for what, change, field in SBOM_EDITS
    ]


@pytest.mark.parametrize(("name", "change", "field"), _cases())
def test_one_edited_field_is_a_finding_and_is_not_signed(
    dist: Path,
    keys: tuple[Path, Path],
    name: str,
    change: Callable[[Any], None],
    field: str,
) -> None:
    _edit(dist, name, change)
    report = verify(dist)
    assert not report.ok
    mine = [f for f in report.findings if f.path == name and f.kind == "attestation"]
    assert any(field in f.detail for f in mine), report.findings
    with pytest.raises(NotSignedError, match=name):
        sign(dist, load_signer(str(keys[0])))
    assert not (dist / ENVELOPE_NAME).exists()


def test_a_finding_names_the_field_and_both_values(dist: Path) -> None:
    _edit(dist, PROVENANCE_NAME, PROVENANCE_EDITS[0][1])
    (finding,) = [f for f in verify(dist).findings if f.path == PROVENANCE_NAME]
    assert "externalParameters.source.revision" in finding.detail
    assert '"' + "f" * 40 + '"' in finding.detail and '"' + "ab" * 20 + '"' in finding.detail


def test_cli_verify_exits_1_and_sign_refuses(
    dist: Path, keys: tuple[Path, Path], relbuild: Callable[..., CliResult]
) -> None:
    _edit(dist, SBOM_NAME, _inject_crate)
    code, _, err = relbuild("verify", dist)
    assert code == 1 and "evil" in err and SBOM_NAME in err
    code, _, err = relbuild("sign", dist, "--key", keys[0])
    assert code == 1 and "not signed" in err and "Traceback" not in err
    assert not (dist / ENVELOPE_NAME).exists()


def test_sbom_without_provenance_is_a_finding(dist: Path) -> None:
    (dist / PROVENANCE_NAME).unlink()
    found = [(f.kind, f.path) for f in verify(dist).findings]
    assert ("attestation", PROVENANCE_NAME) in found


def test_provenance_without_sbom_is_a_finding(dist: Path) -> None:
    (dist / SBOM_NAME).unlink()
    found = [(f.kind, f.path) for f in verify(dist).findings]
    assert ("attestation", SBOM_NAME) in found


def test_envelope_without_provenance_is_a_finding(dist: Path, keys: tuple[Path, Path]) -> None:
    sign(dist, load_signer(str(keys[0])))
    (dist / PROVENANCE_NAME).unlink()
    (dist / SBOM_NAME).unlink()
    found = [(f.kind, f.path) for f in verify(dist).findings]
    assert ("attestation", PROVENANCE_NAME) in found


def test_signed_then_edited_beside_a_valid_envelope(dist: Path, keys: tuple[Path, Path]) -> None:
    """With no key, an envelope does not vouch for its payload: its claims
    are held against the manifest as well."""
    sign(dist, load_signer(str(keys[0])))
    assert verify(dist).ok
    _edit(dist, SBOM_NAME, _inject_crate)
    assert not verify(dist).ok


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda d: _component(d, FW)["components"].append("x"), id="string-component"),
        pytest.param(lambda d: _set(_nested(d, FW, "crc"), "hashes", ["x"]), id="hashes-strings"),
        pytest.param(lambda d: _set(d["dependencies"][1], "dependsOn", 5), id="dependsOn-number"),
        pytest.param(lambda d: _set(_component(d, FW), "properties", 5), id="properties-number"),
        pytest.param(lambda d: _set(d, "dependencies", {"a": 1}), id="dependencies-object"),
        pytest.param(lambda d: _set(_nested(d, FW, "crc"), "name", ""), id="empty-name"),
        pytest.param(lambda d: _set(_nested(d, FW, "crc"), "version", 3), id="number-version"),
    ],
)
def test_malformed_sbom_is_a_finding_not_a_traceback(
    dist: Path, change: Callable[[Any], None]
) -> None:
    _edit(dist, SBOM_NAME, change)
    report = verify(dist)
    assert any(f.path == SBOM_NAME for f in report.findings), report.findings
