"""SBOM, provenance, keys, DSSE and their checks, on small dists made here
(no tool runs; the real build is in tests/integration/test_supply_chain.py)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from relbuild.attest import ENVELOPE_NAME, MANIFEST_SIGNATURE_NAME, PROVENANCE_NAME, SBOM_NAME
from relbuild.attest.contents import CRATES_IO, Contents
from relbuild.attest.dsse import envelope, pae, parse_envelope
from relbuild.attest.keys import key_id, keygen, load_signer, load_verifier
from relbuild.attest.provenance import ConfigRef, RunMetadata, make_statement
from relbuild.attest.sbom import make_sbom
from relbuild.attest.write import write_documents, write_signatures
from relbuild.backends.cargo_tree import parse_cargo_tree
from relbuild.backends.go_buildinfo import (
    BuildInfoError,
    go_contents,
    go_sum_problems,
    read_buildinfo,
)
from relbuild.errors import UsageError
from relbuild.release.deps import CrateDep, Dependencies, GoModuleDep
from relbuild.release.dist import (
    MANIFEST_NAME,
    ArtifactRecord,
    Manifest,
    ProjectRecord,
    SourceRecord,
    ToolRecord,
    load_manifest,
    write_manifest,
)
from relbuild.verify.folder import verify
from tests.conftest import CliResult

FW = "thumbv7m-none-eabi/beacon-fw-0.3.1-thumbv7m-none-eabi.elf"
LIB = "x86_64-unknown-linux-gnu/beacon-ffi-0.3.1-x86_64-unknown-linux-gnu.a"
EXE = "x86_64-unknown-linux-gnu/beacon-0.3.1-x86_64-unknown-linux-gnu"
PFLAG_H1 = "h1:jFzHGLGAlb3ruxLB8MhbI6A8+AQX/2eW4qeyNZXNp2o="
CRC_SUM = "5eb8a2a1cd12ab0d987a5d5e825195d372001a4094a0376319d5a0ad71c1ba0d"
LOCK = [
    CrateDep(name="crc", version="3.4.0", source=CRATES_IO, checksum=CRC_SUM),
    CrateDep(name="crc-catalog", version="2.5.0", source=CRATES_IO, checksum="21" * 32),
]
TREE = """\
0beacon-fw v0.3.1 (/src/beacon/crates/beacon-fw)|
1beacon-core v0.3.1 (/src/beacon/crates/beacon-core)|
2crc v3.4.0|
3crc-catalog v2.5.0|
1crc v3.4.0| (*)
"""


# --- what artifacts contain --------------------------------------------------------


def test_cargo_tree_gives_the_graph_with_lock_sources_and_relative_paths() -> None:
    top, below = parse_cargo_tree(TREE, LOCK, Path("/src/beacon"))
    assert top.name == "beacon-fw"
    assert top.depends == ("cargo:beacon-core@0.3.1", "cargo:crc@3.4.0")
    by = {p.name: p for p in below}
    assert set(by) == {"beacon-core", "crc", "crc-catalog"}
    assert by["beacon-core"].source == "path"
    assert by["beacon-core"].location == "crates/beacon-core"
    assert by["beacon-core"].purl is None
    assert by["crc"].digest == CRC_SUM
    assert by["crc"].purl == "pkg:cargo/crc@3.4.0"
    assert by["crc"].depends == ("cargo:crc-catalog@2.5.0",)


def test_path_crate_outside_the_project_records_no_machine_path() -> None:
    text = "0a v1.0.0 (/src/p/a)|\n1b v2.0.0 (/home/someone/b)|std\n"
    _, below = parse_cargo_tree(text, [], Path("/src/p"))
    assert below[0].location is None
    assert below[0].features == ("std",)


def buildinfo_blob(version: str, modinfo: str) -> bytes:
    def varstr(text: str) -> bytes:
        data = text.encode()
        n, out = len(data), bytearray()
        while n >= 0x80:
            out.append((n & 0x7F) | 0x80)
            n >>= 7
        out.append(n)
        return bytes(out) + data

    start = bytes.fromhex("3077af0c9274080241e1c107e6d618e6")
    end = bytes.fromhex("f932433186182072008242104116d8f2")
    header = b"\xff Go buildinf:" + bytes([8, 2]) + b"\0" * 16
    mod = start.decode("latin-1") + modinfo + end.decode("latin-1")
    blob = header + varstr(version) + varstr(mod)
    return b"\0" * 64 + blob + b"\0" * 32


MODINFO = (
    "path\texample.com/beacon/cmd/beacon\n"
    "mod\texample.com/beacon\t(devel)\t\n"
    f"dep\tgithub.com/spf13/pflag\tv1.0.6\t{PFLAG_H1}\n"
    "build\t-trimpath=true\nbuild\tCGO_ENABLED=1\n"
)


def test_go_build_info_is_read_from_the_bytes() -> None:
    info = read_buildinfo(buildinfo_blob("go1.26.8", MODINFO))
    assert info.go_version == "go1.26.8"
    assert info.main == "example.com/beacon"
    assert [(d.path, d.version, d.sum) for d in info.deps] == [
        ("github.com/spf13/pflag", "v1.0.6", PFLAG_H1)
    ]
    assert info.settings["CGO_ENABLED"] == "1"
    contents = go_contents(info, links=[LIB])
    assert contents.direct == ("golang:github.com/spf13/pflag@v1.0.6",)
    assert contents.packages[0].purl == "pkg:golang/github.com/spf13/pflag@v1.0.6"


def test_go_build_info_is_held_against_go_sum() -> None:
    info = read_buildinfo(buildinfo_blob("go1.26.8", MODINFO))
    good = [GoModuleDep(path="github.com/spf13/pflag", version="v1.0.6", sum=PFLAG_H1)]
    assert go_sum_problems(info, good, EXE) == []
    bad = [GoModuleDep(path="github.com/spf13/pflag", version="v1.0.6", sum="h1:AAAA")]
    (problem,) = go_sum_problems(info, bad, EXE)
    assert "github.com/spf13/pflag@v1.0.6" in problem and "h1:AAAA" in problem
    (missing,) = go_sum_problems(info, [], EXE)
    assert "go.sum does not list" in missing


def test_replaced_module_is_checked_as_its_replacement() -> None:
    text = MODINFO + "dep\tgolang.org/x/sys\tv0.1.0\t\n=>\tgolang.org/x/sys\tv0.2.0\th1:BBBB\n"
    info = read_buildinfo(buildinfo_blob("go1.26.8", text))
    sums = [
        GoModuleDep(path="github.com/spf13/pflag", version="v1.0.6", sum=PFLAG_H1),
        GoModuleDep(path="golang.org/x/sys", version="v0.2.0", sum="h1:BBBB"),
    ]
    assert go_sum_problems(info, sums, EXE) == []
    pkg = next(p for p in go_contents(info).packages if p.name == "golang.org/x/sys")
    assert (pkg.version, pkg.replaces) == ("v0.2.0", "golang.org/x/sys@v0.1.0")


def test_no_build_info_is_an_error() -> None:
    with pytest.raises(BuildInfoError):
        read_buildinfo(b"\x7fELF not really" * 10)


# --- a small dist --------------------------------------------------------------------


def manifest_for(folder: Path) -> Manifest:
    files = {FW: b"\x7fELF firmware", LIB: b"!<arch>\n", EXE: b"\x7fELF program"}
    records = []
    for rel, data in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
        os.chmod(folder / rel, 0o644)
        records.append(
            ArtifactRecord(
                path=rel,
                target=None,  # no ELF checks on these stand-ins
                component=rel.split("/")[1].split("-0.3.1")[0],
                kind="firmware" if rel == FW else "staticlib" if rel == LIB else "file",
                size=len(data),
                mode="0644",
                sha256=hashlib.sha256(data).hexdigest(),
                sha512=hashlib.sha512(data).hexdigest(),
            )
        )
    return Manifest(
        generator="relbuild test",
        project=ProjectRecord(name="beacon", version="0.3.1"),
        source=SourceRecord(
            vcs="git", revision="ab" * 20, dirty=False, source_date_epoch=1700000000
        ),
        toolchains={"rust": ToolRecord(release="1.96.0", commit="cd" * 20, sha256="12" * 32)},
        config_digest="ef" * 32,  # the config the provenance names
        artifacts=records,
        dependencies=Dependencies(
            rust=LOCK,
            go=[GoModuleDep(path="github.com/spf13/pflag", version="v1.0.6", sum=PFLAG_H1)],
        ),
    )


def contents_for() -> dict[str, Contents]:
    top, below = parse_cargo_tree(TREE, LOCK, Path("/src/beacon"))
    rust = Contents(packages=tuple(below), direct=top.depends)
    info = read_buildinfo(buildinfo_blob("go1.26.8", MODINFO))
    return {FW: rust, LIB: rust, EXE: go_contents(info, links=[LIB])}


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    folder = tmp_path / "dist"
    folder.mkdir()
    manifest = manifest_for(folder)
    write_manifest(folder, manifest)
    write_documents(folder, manifest, contents_for(), ConfigRef("toolchains.toml", "ef" * 32))
    return folder


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    keygen("ecdsa-p256", tmp_path / "k.key", tmp_path / "k.pub")
    return tmp_path / "k.key", tmp_path / "k.pub"


def test_sbom_validates_against_cyclonedx_1_6(dist: Path) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    text = (dist / SBOM_NAME).read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    doc = json.loads(text)
    assert doc["specVersion"] == "1.6"
    assert doc["metadata"]["timestamp"] == "2023-11-14T22:13:20+00:00"
    assert doc["serialNumber"].startswith("urn:uuid:")


def nested(doc: dict[str, object], path: str) -> dict[str, dict[str, object]]:
    comps = doc["components"]
    assert isinstance(comps, list)
    (comp,) = [c for c in comps if c["bom-ref"] == path]
    return {c["name"]: c for c in comp.get("components", [])}


def test_sbom_lists_what_each_artifact_contains(dist: Path) -> None:
    doc = json.loads((dist / SBOM_NAME).read_text())
    types = {c["bom-ref"]: c["type"] for c in doc["components"]}
    assert types[FW] == "firmware" and types[LIB] == "library"
    assert types["toolchain:rust"] == "application"
    fw = nested(doc, FW)
    assert set(fw) == {"beacon-core", "crc", "crc-catalog"}
    assert fw["crc"]["purl"] == "pkg:cargo/crc@3.4.0"
    assert fw["crc"]["hashes"] == [{"alg": "SHA-256", "content": CRC_SUM}]
    assert set(nested(doc, LIB)) == {"beacon-core", "crc", "crc-catalog"}
    exe = nested(doc, EXE)
    assert set(exe) == {"github.com/spf13/pflag"}
    deps = {d["ref"]: d.get("dependsOn", []) for d in doc["dependencies"]}
    assert LIB in deps[EXE]  # the Go program links the staticlib
    assert f"{FW}#cargo:crc-catalog@2.5.0" in deps[f"{FW}#cargo:crc@3.4.0"]


def test_sbom_and_provenance_are_deterministic_and_content_derived(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    manifest = manifest_for(folder)
    one = make_sbom(manifest, contents_for())
    assert make_sbom(manifest, contents_for()) == one
    other = manifest.model_copy(update={"project": ProjectRecord(name="beacon", version="0.3.2")})
    assert json.loads(make_sbom(other, {}))["serialNumber"] != json.loads(one)["serialNumber"]
    config = ConfigRef("toolchains.toml", "ef" * 32)
    assert make_statement(manifest, {}, config) == make_statement(manifest, {}, config)


def test_provenance_statement(dist: Path) -> None:
    doc = json.loads((dist / PROVENANCE_NAME).read_text())
    assert doc["_type"] == "https://in-toto.io/Statement/v1"
    assert doc["predicateType"] == "https://slsa.dev/provenance/v1"
    subjects = {s["name"]: s["digest"] for s in doc["subject"]}
    assert set(subjects) == {FW, LIB, EXE, "manifest.json", SBOM_NAME}
    assert all(set(d) == {"sha256", "sha512"} for d in subjects.values())
    build = doc["predicate"]["buildDefinition"]
    assert build["externalParameters"]["source"]["revision"] == "ab" * 20
    assert build["externalParameters"]["config"]["digest"]["sha256"] == "ef" * 32
    uris = {d["uri"]: d for d in build["resolvedDependencies"]}
    assert uris["pkg:cargo/crc@3.4.0"]["digest"] == {"sha256": CRC_SUM}
    pflag = uris["pkg:golang/github.com/spf13/pflag@v1.0.6"]["digest"]["dirHash"]
    assert pflag == base64.b64decode(PFLAG_H1[3:]).hex()
    assert uris["git:" + "ab" * 20]["digest"] == {"gitCommit": "ab" * 20}
    assert uris["pkg:generic/rust@1.96.0"]["digest"] == {
        "sha256": "12" * 32,
        "gitCommit": "cd" * 20,
    }
    run = doc["predicate"]["runDetails"]
    assert run["builder"]["id"].startswith("pkg:pypi/relbuild@")
    assert "metadata" not in run  # run-specific: only when asked for


def test_run_metadata_only_when_asked(dist: Path) -> None:
    manifest = load_manifest(dist / "manifest.json")
    data = make_statement(manifest, {}, None, RunMetadata("id-1", 1700000000, 1700000060))
    meta = json.loads(data)["predicate"]["runDetails"]["metadata"]
    assert meta == {
        "invocationId": "id-1",
        "startedOn": "2023-11-14T22:13:20Z",
        "finishedOn": "2023-11-14T22:14:20Z",
    }


# --- keys and DSSE -------------------------------------------------------------------------


def test_pae_matches_the_dsse_spec() -> None:
    assert (
        pae("http://example.com/HelloWorld", b"hello world")
        == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "ed25519"])
def test_envelope_round_trip(tmp_path: Path, key_type: str) -> None:
    keygen(key_type, tmp_path / "k.key", tmp_path / "k.pub")  # type: ignore[arg-type]
    assert (tmp_path / "k.key").stat().st_mode & 0o777 == 0o600
    signer = load_signer(str(tmp_path / "k.key"))
    data = envelope(b'{"a": 1}', signer)
    assert data.count(b"\n") == 1 and data.endswith(b"\n")
    env = parse_envelope(data)
    assert env.payload == b'{"a": 1}'
    # The keyid names the key (cosign 2.6 ignores it, tested in tests/integration).
    assert json.loads(data)["signatures"][0]["keyid"] == key_id(signer.public())
    assert env.verified_by(load_verifier(str(tmp_path / "k.pub")))
    keygen(key_type, tmp_path / "o.key", tmp_path / "o.pub")  # type: ignore[arg-type]
    assert not env.verified_by(load_verifier(str(tmp_path / "o.pub")))


def test_keys_from_variables_and_passwords(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    key, pub = keys
    env = {"SIGNING": key.read_text()}
    signer = load_signer("env://SIGNING", env)
    assert "env://SIGNING" in repr(signer) and "PRIVATE" not in repr(signer)
    assert load_verifier("env://SIGNING", env).pem() == pub.read_bytes()
    keygen("ed25519", tmp_path / "e.key", tmp_path / "e.pub", password=b"s3cret")
    assert b"ENCRYPTED" in (tmp_path / "e.key").read_bytes()
    with pytest.raises(UsageError, match="RELBUILD_KEY_PASSWORD"):
        load_signer(str(tmp_path / "e.key"), {})
    with pytest.raises(UsageError, match="wrong password"):
        load_signer(str(tmp_path / "e.key"), {"RELBUILD_KEY_PASSWORD": "nope"})
    assert load_signer(str(tmp_path / "e.key"), {"RELBUILD_KEY_PASSWORD": "s3cret"}).key_type == (
        "ed25519"
    )


def test_bad_keys_are_named_and_never_shown(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    key, pub = keys
    secret = key.read_text()
    broken = secret.replace(secret.splitlines()[2], "A" * 64)
    cases = [
        ("env://NOPE", {}, "NOPE is not set"),
        ("env://BROKEN", {"BROKEN": broken}, "not a usable PEM key"),
        (str(pub), {}, "a public key; signing needs the private key"),
        (str(tmp_path / "missing.key"), {}, "no such file"),
    ]
    for ref, env, message in cases:
        with pytest.raises(UsageError, match=message) as info:
            load_signer(ref, env)
        assert secret.splitlines()[1] not in str(info.value)
    p384 = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(UsageError, match="secp384r1"):
        load_signer("env://K", {"K": p384.decode()})


def test_keygen_never_replaces_a_key(keys: tuple[Path, Path]) -> None:
    key, pub = keys
    with pytest.raises(UsageError, match="already exists"):
        keygen("ed25519", key, pub)


# --- verify ----------------------------------------------------------------------------


def findings(folder: Path, pub: Path | None) -> list[tuple[str, str]]:
    verifier = load_verifier(str(pub)) if pub else None
    return [(f.kind, f.path) for f in verify(folder, key=verifier).findings]


def test_signed_dist_verifies_and_unsigned_checks_consistency(
    dist: Path, keys: tuple[Path, Path]
) -> None:
    key, pub = keys
    assert findings(dist, None) == []
    assert ("signature", MANIFEST_SIGNATURE_NAME) in findings(dist, pub)
    write_signatures(dist, load_signer(str(key)))
    assert findings(dist, pub) == []
    assert findings(dist, None) == []
    assert verify(dist).ok  # the signature files are not extras


def test_flipped_byte_in_the_envelope(dist: Path, keys: tuple[Path, Path]) -> None:
    key, pub = keys
    write_signatures(dist, load_signer(str(key)))
    env = json.loads((dist / ENVELOPE_NAME).read_bytes())
    payload = bytearray(base64.b64decode(env["payload"]))
    payload[payload.index(b"sha256") + 12] ^= 0x01
    env["payload"] = base64.b64encode(bytes(payload)).decode()
    (dist / ENVELOPE_NAME).write_text(json.dumps(env) + "\n")
    assert ("signature", ENVELOPE_NAME) in findings(dist, pub)
    raw = bytearray((dist / ENVELOPE_NAME).read_bytes())
    raw[5] ^= 0x20
    (dist / ENVELOPE_NAME).write_bytes(bytes(raw))
    assert ("signature", ENVELOPE_NAME) in findings(dist, pub)


def test_signature_by_another_key(dist: Path, keys: tuple[Path, Path], tmp_path: Path) -> None:
    _, pub = keys
    keygen("ed25519", tmp_path / "x.key", tmp_path / "x.pub")
    write_signatures(dist, load_signer(str(tmp_path / "x.key")))
    found = findings(dist, pub)
    assert ("signature", ENVELOPE_NAME) in found
    assert ("signature", MANIFEST_SIGNATURE_NAME) in found


def test_subject_digest_that_does_not_match(dist: Path, keys: tuple[Path, Path]) -> None:
    """An artifact swapped and the manifest and SUMS rewritten to match: the
    signed subjects (and the manifest's signature) still catch it."""
    key, pub = keys
    write_signatures(dist, load_signer(str(key)))
    evil = b"\x7fELF evil firmware"
    (dist / FW).write_bytes(evil)
    manifest = manifest_for(dist.parent / "again")
    swapped = {
        "sha256": hashlib.sha256(evil).hexdigest(),
        "sha512": hashlib.sha512(evil).hexdigest(),
        "size": len(evil),
    }
    manifest = manifest.model_copy(
        update={
            "artifacts": [
                a.model_copy(update=swapped) if a.path == FW else a for a in manifest.artifacts
            ]
        }
    )
    write_manifest(dist, manifest)
    found = findings(dist, pub)
    assert ("subject", FW) in found
    assert ("signature", MANIFEST_SIGNATURE_NAME) in found
    assert ("subject", "manifest.json") in found
    # Without a key the unsigned statements still disagree with the manifest.
    assert ("subject", FW) in findings(dist, None)
    assert ("attestation", SBOM_NAME) in findings(dist, None)


def test_provenance_edited_beside_a_valid_envelope(dist: Path, keys: tuple[Path, Path]) -> None:
    key, pub = keys
    write_signatures(dist, load_signer(str(key)))
    text = (dist / PROVENANCE_NAME).read_text().replace("0.3.1", "0.3.9")
    (dist / PROVENANCE_NAME).write_text(text)
    assert ("attestation", PROVENANCE_NAME) in findings(dist, pub)
    assert ("attestation", PROVENANCE_NAME) in findings(dist, None)


def test_cli_keygen_sign_verify(
    dist: Path, tmp_path: Path, relbuild: Callable[..., CliResult]
) -> None:
    prefix = tmp_path / "ci"
    code, _, err = relbuild("keygen", "--type", "ed25519", "-o", prefix)
    assert code == 0, err
    code, _, err = relbuild("sign", dist, "--key", f"{prefix}.key")
    assert code == 0, err
    assert (dist / ENVELOPE_NAME).is_file() and (dist / MANIFEST_SIGNATURE_NAME).is_file()
    assert os.stat(dist / ENVELOPE_NAME).st_mtime == 1700000000
    code, out, err = relbuild("verify", dist, "--key", f"{prefix}.pub", "--json")
    assert code == 0, err
    assert json.loads(out)["ok"] is True
    (dist / ENVELOPE_NAME).write_text("{}")
    code, _, err = relbuild("verify", dist, "--key", f"{prefix}.pub")
    assert code == 1 and ENVELOPE_NAME in err
    code, _, err = relbuild("verify", dist, "--key", tmp_path / "nope.pub")
    assert code == 2 and "no such file" in err and "Traceback" not in err


def test_cli_refuses_to_sign_a_changed_dist(
    dist: Path, keys: tuple[Path, Path], relbuild: Callable[..., CliResult]
) -> None:
    key, _ = keys
    (dist / LIB).write_bytes(b"!<arch>\nchanged")
    code, _, err = relbuild("sign", dist, "--key", key)
    assert code == 1 and "not signed" in err and LIB in err
    assert not (dist / ENVELOPE_NAME).exists()


def test_cli_bad_key_for_build_fails_before_building(
    tmp_path: Path, relbuild: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELBUILD_SIGNING_KEY", "-----BEGIN PRIVATE KEY-----\nZm9v\n")
    code, _, err = relbuild("build", "--sign", "env://RELBUILD_SIGNING_KEY", "--out", tmp_path)
    assert code == 2 and "env://RELBUILD_SIGNING_KEY: not a usable PEM key" in err
    assert "Zm9v" not in err


def test_signing_key_never_reaches_a_build_step(monkeypatch: pytest.MonkeyPatch) -> None:
    from relbuild.system import environ

    monkeypatch.setenv("RELBUILD_SIGNING_KEY", "secret")
    monkeypatch.setenv("RELBUILD_KEY_PASSWORD", "secret")
    assert "secret" not in json.dumps([environ.probe_env(), environ.inherited()])


def test_sbom_and_config_read_back_give_the_same_documents(dist: Path) -> None:
    """`relbuild merge` rebuilds a release's SBOM and provenance from the
    parts' own: read back and written again, they are the same bytes."""
    from relbuild.attest.readback import config_from_statement, contents_from_sbom

    manifest = load_manifest(dist / MANIFEST_NAME)
    sbom = (dist / SBOM_NAME).read_bytes()
    back = contents_from_sbom(sbom)
    assert back[EXE].links == (LIB,)
    assert make_sbom(manifest, back) == sbom
    config = config_from_statement((dist / PROVENANCE_NAME).read_bytes())
    assert config == ConfigRef("toolchains.toml", "ef" * 32)
    again = dist.parent / "again"
    again.mkdir()
    write_manifest(again, manifest)
    write_documents(again, manifest, back, config)
    assert (again / PROVENANCE_NAME).read_bytes() == (dist / PROVENANCE_NAME).read_bytes()


def test_cargo_tree_is_asked_again_only_when_what_it_reads_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from relbuild.backends import cargo_tree
    from relbuild.system import proc

    root = tmp_path / "project"
    (root / "rust" / "crates" / "a").mkdir(parents=True)
    (root / "shared").mkdir()
    (root / "rust" / "Cargo.toml").write_text('[workspace]\nmembers = ["crates/a"]\n')
    (root / "rust" / "Cargo.lock").write_text("version = 4\n")
    (root / "rust" / "crates" / "a" / "Cargo.toml").write_text('[package]\nname = "a"\n')
    (root / "shared" / "Cargo.toml").write_text('[package]\nname = "shared"\n')
    (root / "rust" / "target").mkdir()
    (root / "rust" / "target" / "CACHEDIR.TAG").write_text("")
    calls: list[list[str]] = []

    def fake_run(argv: list[str], **kwargs: object) -> proc.Result:
        calls.append(list(argv))
        return proc.Result(list(argv), 0, f"0a v0.1.0|\n{len(calls)}", "", False)

    monkeypatch.setattr(proc, "run", fake_run)
    argv = ["/nonexistent/cargo", "tree", "-p", "a"]

    def ask() -> str:
        return cargo_tree._cargo_tree(argv, {}, root / "rust", root, tmp_path / "cache")

    first = ask()
    assert ask() == first and len(calls) == 1
    (root / "rust" / "target" / "Cargo.toml").write_text("# cargo's own output: ignored")
    assert ask() == first and len(calls) == 1
    for edit in (root / "rust" / "crates" / "a" / "Cargo.toml", root / "shared" / "Cargo.toml"):
        edit.write_text(edit.read_text() + 'version = "0.2.0"\n')
        assert ask() != first
    assert len(calls) == 3
