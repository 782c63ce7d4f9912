from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest

from relbuild.backends.base import Step
from relbuild.backends.go import ldflags_x
from relbuild.backends.rust import RustBackend
from relbuild.binaries.elfcheck import ar_members
from relbuild.errors import ConfigError
from relbuild.release.dist import ArtifactRecord
from relbuild.release.sums import sums_text
from relbuild.system.redact import Redactor
from relbuild.system.sourceinfo import parse_epoch


def test_redactor_prefers_the_longest_path() -> None:
    redact = Redactor({"ROOT": "/w/proj", "CACHE": "/w/proj/.relbuild", "HOME": "/root"})
    assert redact("-L/w/proj/.relbuild/cgo -I/w/proj/inc") == "-L${CACHE}/cgo -I${ROOT}/inc"
    assert redact("/root/.cargo") == "${HOME}/.cargo"
    assert Redactor({"X": "/"})("/usr/bin") == "/usr/bin"  # never redact the root folder


@pytest.mark.parametrize("value", ["", "-1", "1.5", "12abc", "99999999999", " "])
def test_malformed_epochs_are_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="SOURCE_DATE_EPOCH must be whole seconds"):
        parse_epoch(value, "test")


def test_epoch_accepts_integers() -> None:
    assert parse_epoch("1700000000\n", "test") == 1700000000
    assert parse_epoch("0", "test") == 0


def test_ldflags_x_substitutes_version_and_quotes() -> None:
    assert ldflags_x({"main.version": "{version}", "main.name": "a b"}, "1.2.3") == [
        "-X",
        "'main.name=a b'",
        "-X",
        "main.version=1.2.3",
    ]


def test_sums_text_is_coreutils_binary_format() -> None:
    data = b"hello"
    art = ArtifactRecord(
        path="x/hello",
        target=None,
        component=None,
        kind="file",
        size=5,
        mode="0644",
        sha256=hashlib.sha256(data).hexdigest(),
        sha512=hashlib.sha512(data).hexdigest(),
    )
    assert sums_text([art], "sha256") == f"{hashlib.sha256(data).hexdigest()} *x/hello\n"


def ar_archive(members: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    out.write(b"!<arch>\n")
    names = b"".join(n.encode() + b"/\n" for n, _ in members)
    entries = [("/", b"\0\0\0\0"), ("//", names)]
    offset = 0
    for n, body in members:
        entries.append((f"/{offset}", body))
        offset += len(n) + 2
    for name, body in entries:
        out.write(f"{name:<16}{0:<12}{0:<6}{0:<6}{644:<8}{len(body):<10}`\n".encode())
        out.write(body + (b"\n" if len(body) % 2 else b""))
    return out.getvalue()


def test_ar_members_reads_gnu_long_names() -> None:
    data = ar_archive([("a-very-long-object-name-0001.o", b"\x7fELF1"), ("b.o", b"\x7fELF22")])
    assert ar_members(data) == [
        ("a-very-long-object-name-0001.o", b"\x7fELF1"),
        ("b.o", b"\x7fELF22"),
    ]


def test_cargo_outputs_pick_the_component_artifact() -> None:
    step = Step(
        target="t",
        component="c",
        language="rust",
        tool="cargo",
        kind="staticlib",
        argv=["cargo"],
        cwd="/",
        env={},
        log="/l",
        package="beacon-ffi",
        artifact_name="beacon",
    )
    messages = [
        json.dumps(
            {
                "reason": "compiler-artifact",
                "package_id": "registry+https://x#crc@3.4.0",
                "target": {"name": "crc", "kind": ["lib"]},
                "filenames": ["/t/libcrc.rlib"],
            }
        ),
        json.dumps(
            {
                "reason": "compiler-artifact",
                "package_id": "path+file:///w/crates/beacon-ffi#0.3.1",
                "target": {"name": "beacon", "kind": ["staticlib"]},
                "filenames": ["/t/libbeacon.a"],
            }
        ),
        json.dumps({"reason": "build-finished", "success": True}),
    ]
    assert RustBackend().outputs(step, "\n".join(messages)) == [Path("/t/libbeacon.a")]


def test_ar_members_stops_on_a_negative_or_oversized_member() -> None:
    header = f"{'evil.o/':<16}{0:<12}{0:<6}{0:<6}{644:<8}{-60:<10}`\n".encode()
    assert ar_members(b"!<arch>\n" + header + b"\x7fELF" * 10) == []
    header = f"{'big.o/':<16}{0:<12}{0:<6}{0:<6}{644:<8}{10**9:<10}`\n".encode()
    assert ar_members(b"!<arch>\n" + header + b"\x7fELF") == []


def test_firmware_checks_survive_truncated_elf() -> None:
    # An ELF header whose section table points past the end of the file.
    import struct

    from relbuild.binaries.firmware import sanity_problems
    from relbuild.config.triples import TRIPLES

    ident = b"\x7fELF\x01\x01\x01" + b"\0" * 9
    header = ident + struct.pack(
        "<HHIIIIIHHHHHH", 2, 0xF3, 1, 0x80000000, 52, 4096, 0, 52, 32, 1, 40, 30, 29
    )
    problems = sanity_problems(header, TRIPLES["riscv32imac-unknown-none-elf"], "fw.elf")
    assert problems and "fw.elf" in problems[0]
