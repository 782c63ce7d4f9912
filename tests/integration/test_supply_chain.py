"""SBOM, provenance and signatures on the real build of the example (the
session's `dist`), checked against the CycloneDX 1.6 schema, `go version -m`
and cosign."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from relbuild.backends.base import ResolvedToolchains
from tests.conftest import CONFIG
from tests.integration.conftest import relbuild_cmd

SBOM = "sbom.cdx.json"
PROVENANCE = "provenance.intoto.json"
ENVELOPE = "provenance.intoto.jsonl"
RUST_CONTENTS = {"beacon-core", "crc", "crc-catalog"}
HOST_PROGRAM = "x86_64-unknown-linux-gnu/beacon-0.3.1-x86_64-unknown-linux-gnu"
COSIGN_VERSION = "v2.6.5"  # scripts/setup.sh builds this one


def load(folder: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / name).read_text())
    return data


def nested_names(component: dict[str, Any]) -> set[str]:
    return {c["name"] for c in component.get("components", [])}


def test_sbom_is_valid_cyclonedx_and_lists_what_each_artifact_contains(dist: Path) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    text = (dist / SBOM).read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    doc = json.loads(text)
    manifest = load(dist, "manifest.json")
    by_ref = {c["bom-ref"]: c for c in doc["components"]}
    deps = {d["ref"]: set(d.get("dependsOn", [])) for d in doc["dependencies"]}
    assert {"toolchain:rust", "toolchain:go", "toolchain:zig"} <= set(by_ref)
    checked = set()
    for art in manifest["artifacts"]:
        comp = by_ref[art["path"]]
        assert {h["alg"]: h["content"] for h in comp["hashes"]} == {
            "SHA-256": art["sha256"],
            "SHA-512": art["sha512"],
        }
        names = nested_names(comp)
        if art["kind"] in ("firmware", "image", "staticlib"):
            assert comp["type"] == ("library" if art["kind"] == "staticlib" else "firmware")
            # Exactly the crates of the target: no pflag, no std crates.
            assert names == RUST_CONTENTS, art["path"]
            crc = next(c for c in comp["components"] if c["name"] == "crc")
            assert crc["purl"].startswith("pkg:cargo/crc@3.")
            checked.add(art["kind"])
        elif art["kind"] == "executable":
            assert comp["type"] == "application"
            assert names == {"github.com/spf13/pflag"}, art["path"]
            lib = art["path"].replace("/beacon-0.3.1-", "/beacon-ffi-0.3.1-") + ".a"
            assert lib in deps[art["path"]]  # its crc comes with the staticlib it links
            checked.add("executable")
        else:
            assert names == set(), art["path"]
    assert checked == {"firmware", "image", "staticlib", "executable"}


def test_go_modules_are_what_go_version_m_reads(dist: Path, tools: ResolvedToolchains) -> None:
    go = tools.require("go").executable
    res = subprocess.run(
        [go, "version", "-m", str(dist / HOST_PROGRAM)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "GOTOOLCHAIN": "local"},
    )
    deps = {
        (parts[1], parts[2], parts[3])
        for line in res.stdout.splitlines()
        if (parts := line.split()) and parts[0] == "dep"
    }
    doc = load(dist, SBOM)
    (comp,) = [c for c in doc["components"] if c["bom-ref"] == HOST_PROGRAM]
    ours = {
        (
            c["name"],
            c["version"],
            next(p["value"] for p in c["properties"] if p["name"] == "relbuild:h1"),
        )
        for c in comp["components"]
    }
    assert ours == deps and deps


def test_provenance_names_every_artifact_and_verifies_without_a_key(dist: Path) -> None:
    doc = load(dist, PROVENANCE)
    assert doc["predicateType"] == "https://slsa.dev/provenance/v1"
    subjects = {s["name"]: s["digest"] for s in doc["subject"]}
    for art in load(dist, "manifest.json")["artifacts"]:
        assert subjects[art["path"]] == {"sha256": art["sha256"], "sha512": art["sha512"]}
    assert {"manifest.json", SBOM} <= set(subjects)
    assert "metadata" not in doc["predicate"]["runDetails"]
    res = relbuild_cmd("verify", dist)
    assert res.returncode == 0, res.stderr


def test_two_builds_give_identical_sbom_and_provenance(dist: Path, tmp_path: Path) -> None:
    again = tmp_path / "dist"
    res = relbuild_cmd("--config", CONFIG, "build", "--out", again)
    assert res.returncode == 0, res.stderr[-3000:]
    for name in (SBOM, PROVENANCE, "manifest.json"):
        assert (again / name).read_bytes() == (dist / name).read_bytes(), name


def cosign() -> str:
    tools = Path(os.environ.get("RELBUILD_TOOLS", Path.home() / ".cache/relbuild/tools"))
    for candidate in (tools / "bin" / "cosign", shutil.which("cosign")):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    if os.environ.get("CI") == "true":
        pytest.fail("cosign is missing on CI: scripts/setup.sh installs it")
    pytest.skip(f"cosign not installed (scripts/setup.sh builds cosign {COSIGN_VERSION})")


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "ed25519"])
def test_cosign_and_relbuild_verify_the_signed_dist(
    dist: Path, tmp_path: Path, key_type: str
) -> None:
    tool = cosign()
    signed = tmp_path / "dist"
    shutil.copytree(dist, signed, symlinks=True)
    keys = tmp_path / "release"
    assert relbuild_cmd("keygen", "--type", key_type, "-o", keys).returncode == 0
    env = {**os.environ, "RELBUILD_SIGNING_KEY": (tmp_path / "release.key").read_text()}
    res = relbuild_cmd("sign", signed, "--key", "env://RELBUILD_SIGNING_KEY", env=env)
    assert res.returncode == 0, res.stderr
    assert "PRIVATE KEY" not in res.stderr + res.stdout
    pub = str(tmp_path / "release.pub")

    def run_cosign(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [tool, *args, "--key", pub, "--insecure-ignore-tlog"],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "COSIGN_EXPERIMENTAL": "0", "SIGSTORE_NO_CACHE": "true"},
            cwd=tmp_path,
        )

    for blob in (HOST_PROGRAM, "manifest.json", SBOM):
        res = run_cosign(
            "verify-blob-attestation",
            "--type",
            "slsaprovenance1",
            "--signature",
            str(signed / ENVELOPE),
            str(signed / blob),
        )
        assert res.returncode == 0, f"{blob}: {res.stderr}"
        assert "Verified OK" in res.stderr
    res = run_cosign(
        "verify-blob",
        "--signature",
        str(signed / "manifest.json.sig"),
        str(signed / "manifest.json"),
    )
    assert res.returncode == 0, res.stderr
    # A file that is not a subject is refused by cosign too.
    (tmp_path / "other").write_bytes(b"not an artifact")
    res = run_cosign(
        "verify-blob-attestation",
        "--type",
        "slsaprovenance1",
        "--signature",
        str(signed / ENVELOPE),
        str(tmp_path / "other"),
    )
    assert res.returncode != 0 and "no matching subject digest" in res.stderr

    res = relbuild_cmd("verify", signed, "--key", pub)
    assert res.returncode == 0, res.stderr
    # A flipped byte in the envelope's signature: cosign and relbuild refuse it.
    envelope = json.loads((signed / ENVELOPE).read_bytes())
    sig = bytearray(envelope["signatures"][0]["sig"].encode())
    sig[10] = ord("A") if sig[10] != ord("A") else ord("B")
    envelope["signatures"][0]["sig"] = sig.decode()
    (signed / ENVELOPE).write_text(json.dumps(envelope, separators=(",", ":")) + "\n")
    res = relbuild_cmd("verify", signed, "--key", pub)
    assert res.returncode == 1 and ENVELOPE in res.stderr and "signature" in res.stderr
    res = run_cosign(
        "verify-blob-attestation",
        "--type",
        "slsaprovenance1",
        "--signature",
        str(signed / ENVELOPE),
        str(signed / HOST_PROGRAM),
    )
    assert res.returncode != 0 and "Verified OK" not in res.stderr
