"""The manifest reader on mutated manifests: a Manifest or a UsageError
(exit 2), never another exception; what it accepts reads back the same."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from relbuild.errors import RelbuildError
from relbuild.release.dist import Manifest, parse_manifest
from tests.fuzz.conftest import examples
from tests.fuzz.mutate import dumps, mutated_bytes, mutated_json

PATH = Path("dist/manifest.json")
H256, H512 = "ab" * 32, "cd" * 64


def _artifact(path: str, kind: str, target: str | None) -> dict[str, Any]:
    return {
        "path": path, "target": target, "component": "tool", "kind": kind, "size": 12,
        "mode": "0755", "sha256": H256, "sha512": H512, "footprint": None,
    }  # fmt: skip


SEED: dict[str, Any] = {
    "schema_version": 1,
    "generator": "relbuild 0.1.0",
    "project": {"name": "beacon", "version": "0.3.1"},
    "source": {"vcs": "git", "revision": "a" * 40, "dirty": False, "source_date_epoch": 1700000000},
    "toolchains": {
        "rust": {
            "release": "1.96.0", "commit": "ac68f", "sha256": H256, "details": {"llvm": "22"},
        },
    },
    "sandbox": "bwrap",
    "waivers": [{"component": "tool", "check": "path-leaks", "reason": "test data"}],
    "targets": [{"triple": "x86_64-unknown-linux-gnu", "components": ["tool", "fw"]}],
    "steps": [
        {
            "target": "x86_64-unknown-linux-gnu", "component": "tool", "tool": "cargo", "cwd": ".",
            "argv": ["${CARGO}", "build", "--locked"], "env": {"TZ": "UTC", "LC_ALL": "C"},
        }
    ],
    "artifacts": [
        _artifact("x86_64-unknown-linux-gnu/tool", "executable", "x86_64-unknown-linux-gnu"),
        {
            **_artifact("thumbv7m-none-eabi/fw.elf", "firmware", "thumbv7m-none-eabi"),
            "footprint": {"flash": 100, "ram": 20, "sections": {".text": 100, ".bss": 20}},
        },
        _artifact("notes.txt", "file", None),
    ],
    "dependencies": {
        "rust": [{"name": "crc", "version": "3.0.0", "source": "registry", "features": ["std"]}],
        "go": [{"path": "github.com/spf13/pflag", "version": "v1.0.5", "sum": "h1:x"}],
    },
}  # fmt: skip


def check(raw: bytes) -> None:
    try:
        manifest = parse_manifest(raw, PATH)
    except RelbuildError:
        return
    # What was accepted is a valid manifest: written out, it reads back the same.
    again = json.dumps(manifest.model_dump(mode="json")).encode()
    assert parse_manifest(again, PATH) == manifest


def test_seed_is_valid() -> None:
    assert isinstance(parse_manifest(dumps(SEED), PATH), Manifest)


# Found by the review (issue #12), kept as regression cases.
_EMPTY_ARTIFACTS = {**SEED, "artifacts": [{}] * 5000}
_SIZE_AS_TEXT = {**SEED, "artifacts": [{**SEED["artifacts"][0], "size": "12"}]}


@settings(max_examples=examples(200))
@given(st.one_of(mutated_json(SEED).map(dumps), mutated_bytes(dumps(SEED))))
@example(dumps(_EMPTY_ARTIFACTS))
@example(dumps(_SIZE_AS_TEXT))
@example(b'{"schema_version": 1, "artifacts": ' + b"[" * 5000 + b"]" * 5000 + b"}")
@example(b'{"schema_version": 1, "x": 1, "x": 2}')
@example(b'{"schema_version": 1, "n": ' + b"9" * 5000 + b"}")
def test_manifest_reader(raw: bytes) -> None:
    check(raw)
