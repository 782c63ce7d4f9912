"""Regression cases of issue #12: hostile manifests, SUMS files, artifacts and
configs, found by hand and by a mutation fuzzer. Each failed before the fix."""

from __future__ import annotations

import errno
import json
import os
import resource
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from relbuild.config.loader import load_config
from relbuild.errors import ConfigError, UsageError
from relbuild.proofs import diff as diffing
from relbuild.release import dist
from relbuild.release.dist import load_manifest
from relbuild.release.sums import parse_sums
from relbuild.verify.findings import MAX_FINDINGS
from relbuild.verify.folder import verify
from relbuild.verify.inventory import generate, write_inventory
from tests.conftest import CONFIG, CliResult
from tests.elfgen import x86_64_program

HEAD = '{"schema_version": 1, "generator": "x", "project": {"name": "a", "version": "1"}, '


@pytest.fixture
def dist_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "dist"
    folder.mkdir()
    for name, body in (("a.txt", b"alpha\n"), ("b.txt", b"bravo\n" * 3)):
        (folder / name).write_bytes(body)
        (folder / name).chmod(0o644)
    write_inventory(folder, generate(folder, name="demo", version="1", targets={}))
    return folder


def edit_manifest(folder: Path, change: Callable[[dict], None]) -> None:  # type: ignore[type-arg]
    path = folder / "manifest.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def peak_rss_mib(fn: Callable[[], object]) -> tuple[float, str]:
    """Run ``fn`` in a forked child: (its peak RSS above the parent's, in MiB,
    and the name of what it raised, or "")."""
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read)
        outcome = ""
        try:
            fn()
        except BaseException as exc:  # reported to the parent
            outcome = type(exc).__name__
        os.write(write, outcome.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as fh:
        outcome = fh.read().decode()
    _, _, usage = os.wait4(pid, 0)
    return max(0, usage.ru_maxrss - base) / 1024, outcome


# --- 1. memory ---------------------------------------------------------------


def test_600kb_of_empty_artifacts_is_refused_in_bounded_memory(dist_dir: Path) -> None:
    manifest = dist_dir / "manifest.json"
    manifest.write_text(HEAD + '"artifacts": [' + ", ".join(["{}"] * 150_000) + "]}")
    assert manifest.stat().st_size > 590_000
    with pytest.raises(UsageError) as info:
        load_manifest(manifest)
    message = str(info.value)
    assert "stopped there" in message and "artifacts[0].path" in message
    assert len(message.splitlines()) <= 21
    mib, outcome = peak_rss_mib(lambda: load_manifest(manifest))
    assert outcome == "UsageError" and mib < 100, mib


def test_manifest_with_too_many_values_is_refused_before_parsing(dist_dir: Path) -> None:
    manifest = dist_dir / "manifest.json"
    manifest.write_text(HEAD + '"artifacts": [' + ",".join(["[]"] * 2_100_000) + "]}")
    assert manifest.stat().st_size < dist.MAX_MANIFEST_BYTES
    mib, outcome = peak_rss_mib(lambda: load_manifest(manifest))
    assert outcome == "UsageError" and mib < 100, mib
    with pytest.raises(UsageError, match="JSON values"):
        load_manifest(manifest)


def test_duplicate_json_keys_are_refused(dist_dir: Path) -> None:
    # Two parsers could read two different digests from one manifest.
    manifest = dist_dir / "manifest.json"
    text = manifest.read_text()
    manifest.write_text(text.replace('"sha256": ', '"sha256": "' + "0" * 64 + '", "sha256": ', 1))
    with pytest.raises(UsageError, match="'sha256' twice"):
        load_manifest(manifest)


def test_many_missing_artifacts_are_summarized(
    dist_dir: Path, relbuild: Callable[..., CliResult]
) -> None:
    def add(data: dict) -> None:  # type: ignore[type-arg]
        first = data["artifacts"][0]
        data["artifacts"] += [{**first, "path": f"gone/f{i:05d}"} for i in range(3000)]

    edit_manifest(dist_dir, add)
    report = verify(dist_dir)
    assert len(report.findings) == MAX_FINDINGS
    assert report.finding_counts["missing"] == 3000
    assert report.finding_count == 3000 + 2 * 3000  # and no SUMS line for each
    code, out, err = relbuild("verify", dist_dir, "--json")
    assert code == 1
    data = json.loads(out)
    assert len(data["findings"]) == MAX_FINDINGS and data["finding_count"] == 9000
    assert "and 8900 more finding(s)" in err and len(err.splitlines()) < 2 * MAX_FINDINGS


# --- 2. tracebacks ---------------------------------------------------------------


def test_elf_with_an_offset_past_2_63_declared_as_firmware(
    dist_dir: Path, relbuild: Callable[..., CliResult]
) -> None:
    data = bytearray(x86_64_program())
    data[0x20 + 7] = 0x80  # the top byte of e_phoff
    (dist_dir / "fw.elf").write_bytes(bytes(data))
    (dist_dir / "fw.elf").chmod(0o644)
    targets = {"fw.elf": "thumbv7m-none-eabi"}
    manifest = generate(dist_dir, name="demo", version="1", targets=targets)
    manifest = manifest.model_copy(
        update={
            "artifacts": [
                a.model_copy(update={"kind": "firmware"}) if a.path == "fw.elf" else a
                for a in manifest.artifacts
            ]
        }
    )
    write_inventory(dist_dir, manifest, force=True)
    code, out, err = relbuild("verify", dist_dir, "--json")
    assert code == 1, err
    assert "Traceback" not in err
    kinds = {(f["kind"], f["path"]) for f in json.loads(out)["findings"]}
    assert kinds == {("elf", "fw.elf"), ("firmware", "fw.elf")}


CONFIG_TEXT = CONFIG.read_text().replace('"examples/beacon', f'"{CONFIG.parent}/examples/beacon')
FW_TEST = (
    "test = { expect = '^beacon-fw: crc32=0xcbf43926 fib\\(40\\)=102334155 frame=15B ok$', "
    "timeout = 20 }"
)


@pytest.mark.parametrize(
    ("expect", "message"),
    [
        ("a{4294967295}", "repetition number is too large"),
        ("(" * 500 + ")" * 500, "nested too deeply"),
    ],
    ids=["overflow", "recursion"],
)
def test_regex_that_python_cannot_compile(
    tmp_path: Path, relbuild: Callable[..., CliResult], expect: str, message: str
) -> None:
    assert FW_TEST in CONFIG_TEXT
    config = tmp_path / "toolchains.toml"
    config.write_text(CONFIG_TEXT.replace(FW_TEST, f"test = {{ expect = '{expect}' }}"))
    with pytest.raises(ConfigError, match=r"rust\.beacon-fw\.test\.expect"):
        load_config(config)
    code, _, err = relbuild("--config", config, "plan")
    assert code == 2 and message in err and str(config) in err and "Traceback" not in err


def test_toml_nested_too_deeply(tmp_path: Path) -> None:
    config = tmp_path / "toolchains.toml"
    config.write_text(CONFIG_TEXT + "\nx = " + "[" * 3000 + "]" * 3000 + "\n")
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_config(config)


# --- 3. SUMS and manifest consistency ---------------------------------------------


def test_sums_duplicate_line_with_the_wrong_digest_first(dist_dir: Path) -> None:
    sums = dist_dir / "SHA256SUMS"
    right = sums.read_text().splitlines()[0]
    wrong = "0" * 64 + right[64:]
    sums.write_text(
        f"{wrong}\n{right}\n" + "".join(ln + "\n" for ln in sums.read_text().splitlines()[1:])
    )
    found = [(f.kind, f.path, f.detail) for f in verify(dist_dir).findings]
    assert ("sums", "SHA256SUMS", "line 2: 'a.txt' is listed again (first on line 1)") in found
    assert any("a.txt: sha256 disagrees" in d for _, _, d in found)


def test_sums_blank_line(dist_dir: Path) -> None:
    sums = dist_dir / "SHA512SUMS"
    sums.write_text(sums.read_text() + "\n")
    found = [(f.kind, f.path, f.detail) for f in verify(dist_dir).findings]
    assert found == [("sums", "SHA512SUMS", "line 3: blank line")]


def test_sums_parser_is_strict() -> None:
    digest = "ab" * 32
    for text, problem in [
        (f"{digest}  x\n{digest}  x\n", "listed again"),
        (f"{digest}  x\n \n", "blank line"),
        (f"{digest[:-2]}  x\n", "62-digit digest"),
        (f"SHA256 (x) = {digest}\n", "not a checksum line"),
        (f"{digest}  x\r\n", "carriage return"),
    ]:
        sums = parse_sums(text, "sha256")
        assert len(sums.problems) == 1 and problem in sums.problems[0], (text, sums)


def test_size_in_the_manifest_is_checked(dist_dir: Path) -> None:
    def wrong_size(data: dict) -> None:  # type: ignore[type-arg]
        data["artifacts"][0]["size"] += 1

    edit_manifest(dist_dir, wrong_size)
    found = [(f.kind, f.path, f.detail) for f in verify(dist_dir).findings]
    assert found == [("size", "a.txt", "size 7 in the manifest, 6 on disk")]


def test_size_as_a_string_is_not_coerced(dist_dir: Path) -> None:
    def as_string(data: dict) -> None:  # type: ignore[type-arg]
        data["artifacts"][0]["size"] = str(data["artifacts"][0]["size"])

    edit_manifest(dist_dir, as_string)
    with pytest.raises(UsageError, match=r"artifacts\[0\]\.size: Input should be a valid integer"):
        load_manifest(dist_dir / "manifest.json")


def test_diff_refuses_a_manifest_with_a_conflicting_duplicate(
    dist_dir: Path, tmp_path: Path, relbuild: Callable[..., CliResult]
) -> None:
    other = tmp_path / "other.json"
    data = json.loads((dist_dir / "manifest.json").read_text())
    data["artifacts"].append({**data["artifacts"][0], "sha256": "0" * 64})
    other.write_text(json.dumps(data))
    code, _, err = relbuild("diff", dist_dir, other)
    assert code == 2 and "artifacts[2].path 'a.txt' is listed twice" in err


def test_diff_pairs_renamed_artifacts_in_linear_time(monkeypatch: pytest.MonkeyPatch) -> None:
    from relbuild.release.dist import ArtifactRecord, Manifest, ProjectRecord

    def release(version: str, n: int) -> Manifest:
        arts = [
            ArtifactRecord(
                path=f"t{i}/tool-{version}",
                target=f"t{i}",
                component="tool",
                kind="file",
                size=1,
                mode="0644",
                sha256="0" * 64,
                sha512="0" * 128,
            )
            for i in range(n)
        ]
        return Manifest(
            generator="x", project=ProjectRecord(name="p", version=version), artifacts=arts
        )

    calls = 0
    key = diffing._artifact_key

    def counting(a: ArtifactRecord) -> object:
        nonlocal calls
        calls += 1
        return key(a)

    monkeypatch.setattr(diffing, "_artifact_key", counting)
    report = diffing.diff_manifests(release("1", 3000), release("2", 3000), "a", "b")
    assert sum(c.section == "artifact" for c in report.changes) == 3000
    assert calls <= 4 * 3000, calls  # was n * n / 2


# --- 4. orphans and partial writes -------------------------------------------------


def test_orphan_temp_files_are_never_recorded_and_are_cleared(dist_dir: Path) -> None:
    orphans = [".manifest.json.k3j2h1g0.tmp", ".SHA256SUMS.a1b2c3d4.tmp"]
    for name in orphans:
        (dist_dir / name).write_text("half a file")
    manifest = generate(dist_dir, name="demo", version="1", targets={})
    assert [a.path for a in manifest.artifacts] == ["a.txt", "b.txt"]
    write_inventory(dist_dir, manifest, force=True)
    assert sorted(p.name for p in dist_dir.iterdir()) == [
        "SHA256SUMS", "SHA512SUMS", "a.txt", "b.txt", "manifest.json",
    ]  # fmt: skip


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The disk fills up while the manifest is written (after both SUMS)."""
    real = os.write
    writes = 0

    def write(fd: int, data: bytes) -> int:
        nonlocal writes
        writes += 1
        if writes == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd, data)

    monkeypatch.setattr(os, "write", write)
    yield


def test_full_disk_keeps_the_old_manifest_and_sums_and_names_the_file(
    dist_dir: Path, relbuild: Callable[..., CliResult], full_disk: None
) -> None:
    before = {p.name: p.read_bytes() for p in dist_dir.iterdir()}
    (dist_dir / "c.txt").write_text("charlie\n")
    code, _, err = relbuild("manifest", dist_dir, "--force")
    assert code == 2
    assert f"cannot write {dist_dir / 'manifest.json'}: No space left on device" in err
    after = {p.name: p.read_bytes() for p in dist_dir.iterdir() if p.name != "c.txt"}
    assert after == before


# --- 5. terminal injection ---------------------------------------------------------


def test_control_characters_in_names_never_reach_the_terminal(
    dist_dir: Path, relbuild: Callable[..., CliResult]
) -> None:
    (dist_dir / "\x1b[2J").write_text("x")
    (dist_dir / "\x1b]0;owned\x07").write_text("x")
    code, _, err = relbuild("verify", dist_dir)
    assert code == 1
    assert "\x1b" not in err and "\x07" not in err
    assert "\\x1b[2J" in err and "\\x1b]0;owned\\x07" in err
    code, _, err = relbuild("verify", dist_dir / "\x1b[31mred")
    assert code == 2 and "\x1b" not in err and "\\x1b[31mred" in err


# --- 6. per-file overhead ---------------------------------------------------------


def test_verify_stats_no_file_beyond_its_one_open(
    dist_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(200):
        (dist_dir / f"f{i:03d}").write_bytes(struct.pack("<I", i))
        (dist_dir / f"f{i:03d}").chmod(0o644)
    write_inventory(dist_dir, generate(dist_dir, name="demo", version="1", targets={}), force=True)
    counts = {"stat": 0, "lstat": 0, "open": 0}
    for name in counts:
        real = getattr(os, name)

        def counted(
            *args: object, _real: Callable[..., object] = real, _name: str = name, **kw: object
        ) -> object:
            counts[_name] += 1
            return _real(*args, **kw)

        monkeypatch.setattr(os, name, counted)
    assert verify(dist_dir).ok
    assert counts["lstat"] + counts["stat"] <= 10, counts  # was 3 per file
    assert counts["open"] <= 202 + 10, counts  # one per file
