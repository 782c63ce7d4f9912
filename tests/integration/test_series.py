"""Two real releases of a copy of the example, built once for the session
(x86_64-unknown-linux-gnu only): 1.0.0, then 1.0.1 built with --previous,
which drops `beacon_fib` from beacon-ffi's header and Rust source (the Go
program computes Fibonacci itself). On them: rollback-test, the hash chain,
and two signers checked by relbuild and by cosign."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from relbuild.attest import ENVELOPE_NAME
from relbuild.release.dist import load_manifest, write_manifest
from tests.conftest import CONFIG
from tests.integration.conftest import example_copy, relbuild_cmd
from tests.integration.test_supply_chain import cosign

TARGET = '[[targets]]\ntriple = "x86_64-unknown-linux-gnu"\ncomponents = ["beacon-ffi", "beacon"]\n'
FIB_RS = (
    '#[no_mangle]\npub extern "C" fn beacon_fib(n: u32) -> u64 {\n    beacon_core::fib(n)\n}\n\n'
)
FIB_H = (
    "/* The nth Fibonacci number, saturating at UINT64_MAX. */\n"
    "uint64_t beacon_fib(uint32_t n);\n\n"
)
FIB_GO = "func Fib(n uint32) uint64 { return uint64(C.beacon_fib(C.uint32_t(n))) }"
PURE_FIB_GO = """func Fib(n uint32) uint64 {
\tvar a, b uint64 = 0, 1
\tfor i := uint32(0); i < n; i++ {
\t\tnext := a + b
\t\tif next < a {
\t\t\tnext = math.MaxUint64
\t\t}
\t\ta, b = b, next
\t}
\treturn a
}"""


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new))


def _remove_fib(project: Path) -> None:
    ffi = project / "crates" / "beacon-ffi"
    _edit(ffi / "include" / "beacon.h", FIB_H, "")
    _edit(ffi / "src" / "lib.rs", FIB_RS, "")
    _edit(ffi / "src" / "lib.rs", "        assert_eq!(beacon_fib(40), 102_334_155);\n", "")
    go = project / "internal" / "kernel" / "kernel_cgo.go"
    _edit(go, FIB_GO, PURE_FIB_GO)
    _edit(go, '\t"errors"\n', '\t"errors"\n\t"math"\n')


@pytest.fixture(scope="session")
def releases(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(1.0.0, 1.0.1 with --previous 1.0.0, the config)."""
    root = tmp_path_factory.mktemp("series")
    project, config = example_copy(root, TARGET)
    cache = root / "cache"
    # Seeded from the repository's own caches when a build filled them: zig's
    # libc and Go's build cache cannot change the bytes (verify --rebuild
    # proves it), and save about 100 s of a cold build.
    for name in ("zig-global", "go-build"):
        seed = CONFIG.parent / ".relbuild" / name
        if seed.is_dir():
            shutil.copytree(seed, cache / name, symlinks=True)
    common: list[str | Path] = ["--cache-dir", cache, "--source-clean", "--json"]
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    first, second = root / "dist-1.0.0", root / "dist-1.0.1"
    res = relbuild_cmd(
        "--config", config, "build", "--out", first, "--release-version", "1.0.0",
        "--source-revision", "1" * 40, *common, env=env,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    _remove_fib(project)
    res = relbuild_cmd(
        "--config", config, "build", "--out", second, "--release-version", "1.0.1",
        "--previous", first, "--source-revision", "2" * 40, *common, env=env,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    return first, second, config


def _copy(folder: Path, where: Path) -> Path:
    dest = where / folder.name
    shutil.copytree(folder, dest, symlinks=True)
    return dest


def _relabel(dist: Path, version: str) -> None:
    """The same release under another version: the manifest and SUMS
    rewritten, the SBOM and provenance (which name the old manifest) dropped."""
    manifest = load_manifest(dist / "manifest.json")
    project = manifest.project.model_copy(update={"version": version})
    manifest = manifest.model_copy(update={"project": project})
    write_manifest(dist, manifest)
    for name in ("sbom.cdx.json", "provenance.intoto.json"):
        (dist / name).unlink()


def test_rollback_test_fails_on_a_removed_function_with_a_patch_bump(
    releases: tuple[Path, Path, Path],
) -> None:
    first, second, _ = releases
    manifest = json.loads((second / "manifest.json").read_text())
    assert manifest["previous"]["version"] == "1.0.0"
    res = relbuild_cmd("rollback-test", first, second, "--json")
    assert res.returncode == 1, res.stderr
    report = json.loads(res.stdout)
    abi = [f for f in report["findings"] if f["check"] == "abi"]
    assert len(abi) == 1 and abi[0]["subject"].endswith("beacon_fib"), report["findings"]
    assert "removed" in abi[0]["detail"] and "beacon_fib" in res.stderr
    assert [f["check"] for f in report["findings"]] == ["abi"]


def test_rollback_test_passes_with_a_major_bump_and_runs_both(
    releases: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    first, second, config = releases
    major = _copy(second, tmp_path)
    _relabel(major, "2.0.0")
    res = relbuild_cmd("--config", config, "rollback-test", first, major, "--run", "--json")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["breaking_allowed"] is True and report["findings"] == []
    assert [c["name"].split()[-1] for c in report["abi_changes"]] == ["beacon_fib"]
    for side in ("previous_smoke", "current_smoke"):
        assert [r["status"] for r in report[side]["results"]] == ["passed"], report[side]


def test_a_lower_version_is_refused(releases: tuple[Path, Path, Path], tmp_path: Path) -> None:
    first, second, config = releases
    # By rollback-test: the current release must be newer.
    res = relbuild_cmd("rollback-test", second, first, "--json")
    assert res.returncode == 1
    assert "version" in [f["check"] for f in json.loads(res.stdout)["findings"]]
    # By build --previous, before anything is built.
    res = relbuild_cmd(
        "--config", config, "build", "--out", tmp_path / "d", "--release-version", "0.9.0",
        "--previous", second, "--source-revision", "3" * 40, "--source-clean",
        env={**os.environ, "SOURCE_DATE_EPOCH": "1700000000"},
    )  # fmt: skip
    assert res.returncode == 2 and "not greater than the previous release's 1.0.1" in res.stderr
    assert not (tmp_path / "d").exists()


def test_a_flipped_byte_in_the_older_release_is_named(
    releases: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    first, second, _ = releases
    res = relbuild_cmd("history", "verify", second, first, "--json")
    assert res.returncode == 0, res.stderr
    assert [link["status"] for link in json.loads(res.stdout)["chain"]["links"]] == ["first", "ok"]

    # A byte of an artifact: the folder no longer matches its manifest.
    old = _copy(first, tmp_path / "a")
    program = next((old / "x86_64-unknown-linux-gnu").glob("beacon-1.0.0-*[!z]"))
    data = bytearray(program.read_bytes())
    data[len(data) // 2] ^= 0x01
    program.write_bytes(bytes(data))
    rel = program.relative_to(old).as_posix()
    for args in (("history", "verify", old, second), ("rollback-test", old, second)):
        res = relbuild_cmd(*args)
        assert res.returncode == 1 and rel in res.stderr and "changed" in res.stderr, res.stderr

    # A byte of the manifest (edited after 1.0.1 was built): the link breaks.
    old = _copy(first, tmp_path / "b")
    text = (old / "manifest.json").read_text()
    (old / "manifest.json").write_text(text.replace('"dirty": false', '"dirty": true'))
    res = relbuild_cmd("history", "verify", old, second, "--json")
    assert res.returncode == 1
    chain = json.loads(res.stdout)["chain"]
    assert chain["first_broken"] == str(second)
    assert "1.0.0 was changed after 1.0.1 was built" in res.stderr
    res = relbuild_cmd("rollback-test", old, second)
    assert res.returncode == 1 and "manifest.json" in res.stderr


def test_two_signers_and_cosign(releases: tuple[Path, Path, Path], tmp_path: Path) -> None:
    _, second, _ = releases
    tool = cosign()
    signed = _copy(second, tmp_path)
    for name, kind in (("alice", "ecdsa-p256"), ("bob", "ed25519")):
        assert relbuild_cmd("keygen", "--type", kind, "-o", tmp_path / name).returncode == 0
    alice, bob = (str(tmp_path / f"{n}.pub") for n in ("alice", "bob"))
    assert relbuild_cmd("sign", signed, "--key", tmp_path / "alice.key").returncode == 0
    res = relbuild_cmd("verify", signed, "--key", alice, "--key", bob, "--threshold", "2")
    assert res.returncode == 1 and "1 approval(s) by distinct keys, 2 needed" in res.stderr
    assert relbuild_cmd("sign", signed, "--key", tmp_path / "bob.key").returncode == 0
    res = relbuild_cmd("verify", signed, "--key", alice, "--key", bob, "--threshold", "2")
    assert res.returncode == 0, res.stderr
    res = relbuild_cmd("verify", signed, "--key", alice, "--key", alice, "--threshold", "2")
    assert res.returncode == 1
    envelope = json.loads((signed / ENVELOPE_NAME).read_bytes())
    assert len(envelope["signatures"]) == 2

    def run_cosign(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [tool, *map(str, args), "--insecure-ignore-tlog"],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "COSIGN_EXPERIMENTAL": "0", "SIGSTORE_NO_CACHE": "true"},
        )

    # cosign reads the two-signature envelope and accepts either signer's key.
    for pub in (alice, bob):
        res = run_cosign(
            "verify-blob-attestation", "--type", "slsaprovenance1",
            "--signature", signed / ENVELOPE_NAME, "--key", pub, signed / "manifest.json",
        )  # fmt: skip
        assert res.returncode == 0 and "Verified OK" in res.stderr, res.stderr
    sigs = {"alice": signed / "manifest.json.sig"}
    (sigs["bob"],) = signed.glob("manifest.json.*.sig")
    for name, pub in (("alice", alice), ("bob", bob)):
        res = run_cosign(
            "verify-blob", "--signature", sigs[name], "--key", pub, signed / "manifest.json"
        )
        assert res.returncode == 0, res.stderr
    # Another key is refused by cosign too.
    res = run_cosign(
        "verify-blob", "--signature", sigs["bob"], "--key", alice, signed / "manifest.json"
    )
    assert res.returncode != 0
