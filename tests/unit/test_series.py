"""The release series without a build: semver ordering, the hash chain of
manifests, and several signers of one dist (docs/releases.md)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from relbuild.attest import ENVELOPE_NAME, MANIFEST_SIGNATURE_NAME
from relbuild.attest.keys import key_id, keygen, load_signer, load_verifier
from relbuild.attest.write import write_signatures
from relbuild.errors import UsageError
from relbuild.release import semver
from relbuild.release.chain import Release, check_successor, previous_record, verify_chain
from relbuild.release.dist import Manifest, PreviousRecord, ProjectRecord
from relbuild.verify.folder import verify
from tests.conftest import CliResult
from tests.unit.test_attest import dist as dist  # noqa: PLC0414 - the fixture

# --- semver --------------------------------------------------------------------------

# semver.org §11's example, in order.
ORDERED = [
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "1.0.1",
    "1.1.0",
    "2.0.0",
    "10.0.0",
]


def test_semver_precedence_follows_the_spec() -> None:
    parsed = [semver.parse(v) for v in ORDERED]
    for a, b in itertools.pairwise(parsed):
        assert a < b and b > a and not b < a, (a, b)
    assert sorted(parsed[1::2] + parsed[::2]) == parsed
    # Build metadata does not order; a leading v (a tag) is read.
    assert semver.parse("1.0.0+b1").same_precedence(semver.parse("v1.0.0+b2"))
    assert str(semver.parse("1.2.3-rc.1+x")) == "1.2.3-rc.1+x"


@pytest.mark.parametrize(
    "text", ["1.0", "01.0.0", "1.0.0-01", "1.0.0-", "1.0.0+", "x1.0.0", "1.0.0 ", "1" * 300]
)
def test_not_semver(text: str) -> None:
    with pytest.raises(semver.SemverError):
        semver.parse(text)


@pytest.mark.parametrize(
    ("old", "new", "breaking"),
    [
        ("1.4.2", "1.4.3", False),
        ("1.4.2", "1.5.0", False),
        ("1.4.2", "2.0.0", True),
        ("0.3.1", "0.3.2", False),
        ("0.3.1", "0.4.0", True),
        ("2.0.0", "1.9.9", False),
    ],
)
def test_breaking_step(old: str, new: str, breaking: bool) -> None:
    assert semver.parse(new).breaking_step(semver.parse(old)) is breaking


# --- the hash chain -------------------------------------------------------------------


def release(version: str, before: Release | None) -> Release:
    previous = None
    if before is not None:
        m = Manifest.model_validate_json(before.raw)
        previous = previous_record(before.raw, m)
    manifest = Manifest(
        generator="relbuild test",
        project=ProjectRecord(name="beacon", version=version),
        artifacts=[],
        previous=previous,
    )
    return Release(f"dist-{version}", manifest.to_bytes())


def series() -> list[Release]:
    out: list[Release] = []
    for v in ("1.0.0", "1.0.1", "1.1.0-rc.1", "1.1.0"):
        out.append(release(v, out[-1] if out else None))
    return out


def test_chain_holds_in_any_order() -> None:
    chain = series()
    report = verify_chain(list(reversed(chain)))
    assert report.ok
    assert [link.status for link in report.links] == ["first", "ok", "ok", "ok"]
    assert [link.version for link in report.links] == ["1.0.0", "1.0.1", "1.1.0-rc.1", "1.1.0"]


def test_an_edited_release_breaks_the_next_link() -> None:
    chain = series()
    edited = bytearray(chain[1].raw)
    edited[edited.index(b"relbuild test")] ^= 0x20  # still a valid manifest
    chain[1] = Release(chain[1].name, bytes(edited))
    report = verify_chain(chain)
    assert not report.ok and report.first_broken == "dist-1.1.0-rc.1"
    broken = report.links[2]
    assert broken.status == "broken" and "1.0.1 was changed after 1.1.0-rc.1" in broken.detail


def test_a_missing_release_is_a_gap_and_an_unlinked_one_is_named() -> None:
    chain = series()
    report = verify_chain([chain[0], chain[2], chain[3]])
    assert report.links[1].status == "gap" and report.first_broken == "dist-1.1.0-rc.1"
    lone = release("2.0.0", None)
    report = verify_chain([*chain, lone])
    assert report.links[-1].status == "unlinked" and report.first_broken == "dist-2.0.0"


def test_chain_input_that_cannot_be_ordered_is_refused() -> None:
    chain = series()
    with pytest.raises(UsageError, match=r"both version 1\.0\.0"):
        verify_chain([chain[0], release("1.0.0+other", None)])
    with pytest.raises(UsageError, match="not a semantic version"):
        verify_chain([release("nightly", None)])


def test_previous_must_be_lower() -> None:
    link = PreviousRecord(version="1.2.0", manifest_sha256="ab" * 32)
    check_successor("1.2.1", link)
    check_successor("2.0.0-alpha", link)
    for lower in ("1.2.0", "1.1.9", "1.2.0-rc.1", "1.2.0+rebuild"):
        with pytest.raises(UsageError, match="not greater"):
            check_successor(lower, link)
    with pytest.raises(UsageError, match="semver"):
        check_successor("latest", link)


def test_manifest_without_previous_keeps_its_old_bytes() -> None:
    manifest = Manifest(
        generator="g", project=ProjectRecord(name="p", version="1.0.0"), artifacts=[]
    )
    assert b"previous" not in manifest.to_bytes()


# --- several signers ------------------------------------------------------------------


@pytest.fixture
def two_keys(tmp_path: Path) -> tuple[Path, Path]:
    for name in ("a", "b"):
        keygen(
            "ecdsa-p256" if name == "a" else "ed25519",
            tmp_path / f"{name}.key",
            tmp_path / f"{name}.pub",
        )
    return tmp_path / "a", tmp_path / "b"


def kinds(folder: Path, pubs: list[Path], threshold: int | None = None) -> list[tuple[str, str]]:
    keys = [load_verifier(str(p)) for p in pubs]
    return [(f.kind, f.path) for f in verify(folder, keys=keys, threshold=threshold).findings]


def test_second_signer_adds_to_the_envelope(dist: Path, two_keys: tuple[Path, Path]) -> None:
    a, b = two_keys
    apub, bpub = a.with_suffix(".pub"), b.with_suffix(".pub")
    assert write_signatures(dist, load_signer(f"{a}.key")) == [
        ENVELOPE_NAME,
        MANIFEST_SIGNATURE_NAME,
    ]
    # Signed by one: a threshold of two fails, naming the key that did not sign.
    assert ("signature", ENVELOPE_NAME) in kinds(dist, [apub, bpub], 2)
    assert kinds(dist, [apub, bpub], 1) == []
    second = load_signer(f"{b}.key")
    own = f"manifest.json.{key_id(second.public())}.sig"
    assert write_signatures(dist, second) == [ENVELOPE_NAME, own]
    assert write_signatures(dist, second) == []  # the same key is not added twice
    envelope = json.loads((dist / ENVELOPE_NAME).read_bytes())
    assert [s["keyid"] for s in envelope["signatures"]] == [
        key_id(load_verifier(str(apub))),
        key_id(second.public()),
    ]
    assert kinds(dist, [apub, bpub], 2) == []
    assert kinds(dist, [apub, bpub]) == []  # default: every key given
    assert kinds(dist, [bpub]) == []  # the second signer alone
    # The same key twice counts once.
    assert ("signature", ENVELOPE_NAME) in kinds(dist, [apub, apub], 2)
    assert verify(dist).ok  # the second signer's file is not an extra


def test_a_changed_statement_starts_a_new_envelope(dist: Path, two_keys: tuple[Path, Path]) -> None:
    a, b = two_keys
    write_signatures(dist, load_signer(f"{a}.key"))
    envelope = json.loads((dist / ENVELOPE_NAME).read_bytes())
    envelope["payload"] = envelope["payload"][:-8] + "AAAAAAA="
    (dist / ENVELOPE_NAME).write_text(json.dumps(envelope))
    # The signatures there are over another statement: void, not kept.
    assert write_signatures(dist, load_signer(f"{b}.key")) == [
        ENVELOPE_NAME,
        MANIFEST_SIGNATURE_NAME,
    ]
    assert len(json.loads((dist / ENVELOPE_NAME).read_bytes())["signatures"]) == 1


def test_cli_threshold_and_configured_approvals(
    dist: Path, two_keys: tuple[Path, Path], tmp_path: Path, relbuild: Callable[..., CliResult]
) -> None:
    a, b = two_keys
    code, _, err = relbuild("sign", dist, "--key", f"{a}.key")
    assert code == 0, err
    code, _, err = relbuild(
        "verify", dist, "--key", f"{a}.pub", "--key", f"{b}.pub", "--threshold", "2"
    )
    assert code == 1 and "1 approval(s) by distinct keys, 2 needed" in err
    from tests.conftest import CONFIG

    config = tmp_path / "toolchains.toml"
    config.write_text(
        CONFIG.read_text().replace('"examples/beacon', f'"{CONFIG.parent}/examples/beacon')
        + "\n[release]\napprovals = 2\n"
    )
    code, _, err = relbuild(
        "--config",
        config,
        "verify",
        dist,
        "--key",
        f"{a}.pub",
        "--key",
        f"{b}.pub",
        "--threshold",
        "1",
    )
    assert code == 1 and "2 needed" in err, err
    code, _, err = relbuild("--config", config, "verify", dist)
    assert code == 2 and "approvals = 2" in err
    code, _, err = relbuild("sign", dist, "--key", f"{b}.key")
    assert code == 0, err
    code, _, err = relbuild(
        "--config", config, "verify", dist, "--key", f"{a}.pub", "--key", f"{b}.pub"
    )
    assert code == 0, err
