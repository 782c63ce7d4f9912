"""Hostile input to the release series' readers: a manifest whose
`previous` field is mutated, a chain of such manifests, and envelopes with
many or odd signatures. Each is refused with a UsageError or an
EnvelopeError (exit 2 / one finding), never another exception, and the
number of signatures checked stays bounded."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from relbuild.attest.dsse import MAX_SIGNATURES, EnvelopeError, parse_envelope
from relbuild.errors import UsageError
from relbuild.release import semver
from relbuild.release.chain import Release, verify_chain
from relbuild.release.dist import Manifest, ProjectRecord
from tests.fuzz.conftest import examples
from tests.fuzz.mutate import NASTY_STRINGS, dumps, mutated_json


def _manifest(version: str, previous: dict[str, Any] | None) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(
        Manifest(
            generator="g", project=ProjectRecord(name="p", version=version), artifacts=[]
        ).to_bytes()
    )
    if previous is not None:
        doc["previous"] = previous
    return doc


FIRST = _manifest("1.0.0", None)
SECOND = _manifest("1.0.1", {"version": "1.0.0", "manifest_sha256": "ab" * 32})


@settings(max_examples=examples(300), deadline=None)
@given(st.data())
@example(None)
def test_hostile_previous_field(data: st.DataObject | None) -> None:
    doc = SECOND if data is None else data.draw(mutated_json(SECOND))
    try:
        report = verify_chain([Release("first", dumps(FIRST)), Release("second", dumps(doc))])
    except UsageError as exc:
        assert str(exc)
        return
    assert len(report.links) == 2
    assert report.ok is (report.links[-1].status == "ok")


@settings(max_examples=examples(200), deadline=None)
@given(st.text(max_size=40) | st.sampled_from(NASTY_STRINGS))
def test_semver_reads_any_string(text: str) -> None:
    try:
        v = semver.parse(text)
    except semver.SemverError:
        return
    assert semver.parse(str(v)).same_precedence(v)


def _envelope(sigs: list[Any]) -> bytes:
    return json.dumps(
        {
            "payloadType": "application/vnd.in-toto+json",
            "payload": base64.b64encode(b"{}").decode(),
            "signatures": sigs,
        }
    ).encode()


def test_envelope_with_too_many_signatures_is_refused() -> None:
    one = {"keyid": "", "sig": base64.b64encode(b"x" * 64).decode()}
    assert len(parse_envelope(_envelope([one] * MAX_SIGNATURES)).signatures) == MAX_SIGNATURES
    with pytest.raises(EnvelopeError, match="more than"):
        parse_envelope(_envelope([one] * (MAX_SIGNATURES + 1)))
    with pytest.raises(EnvelopeError, match="keyid"):
        parse_envelope(_envelope([{"keyid": "k" * 10_000, "sig": one["sig"]}]))


@settings(max_examples=examples(200), deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {"sig": st.text(max_size=12)},
            optional={"keyid": st.none() | st.integers() | st.text(max_size=8)},
        ),
        max_size=40,
    )
)
def test_hostile_signature_lists(sigs: list[dict[str, Any]]) -> None:
    try:
        env = parse_envelope(_envelope(sigs))
    except EnvelopeError:
        return
    assert 1 <= len(env.signatures) == len(env.keyids) <= MAX_SIGNATURES
