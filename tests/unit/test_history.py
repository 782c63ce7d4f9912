"""The release history: limits, the noise model, the schema and its
migrations, hostile files, the comparisons of `history check`, the
changelog and the report's bytes."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from pydantic import ValidationError

from relbuild.config.series import Limit, Regressions, parse_limit
from relbuild.errors import UsageError
from relbuild.series import check, db, report, store
from relbuild.series.changelog import changelog
from relbuild.series.noise import judge, mad
from tests.series_data import OTHER_MACHINE, db_with, manifest, release

PCT3, PCT20 = Limit("percent", 3), Limit("percent", 20)

# --- limits and the noise model ---------------------------------------------------


def test_limits_parse_percent_bytes_and_seconds() -> None:
    assert parse_limit("3%") == Limit("percent", 3)
    assert parse_limit("512 B") == Limit("bytes", 512)
    assert parse_limit("4 KiB") == Limit("bytes", 4096)
    assert parse_limit("500 ms") == Limit("seconds", 0.5)
    for bad in ("3", "3 %%", "-1%", "1e3 B", "three %"):
        with pytest.raises(ValueError, match="not a limit"):
            parse_limit(bad)


def test_regressions_take_a_plain_value_as_the_fail_level_and_check_units() -> None:
    rules = Regressions.model_validate({"flash": "512 B", "build-cpu": {"warn": "5%"}})
    assert rules.levels("flash") == (None, Limit("bytes", 512))
    assert rules.levels("build-cpu") == (Limit("percent", 5), None)
    with pytest.raises(ValidationError, match="takes a percentage or bytes"):
        Regressions.model_validate({"flash": "2 s"})
    with pytest.raises(ValidationError, match="takes a percentage or seconds"):
        Regressions.model_validate({"checksum-time": "1 KiB"})


def test_sizes_are_exact_any_growth_over_the_limit_counts() -> None:
    assert judge([1000], 1031, None, PCT3, exact=True).level == "fail"
    assert judge([1000], 1030, None, PCT3, exact=True).level == "ok"
    assert judge([1000], 1020, Limit("percent", 1), PCT3, exact=True).level == "warn"
    assert judge([1000], 1600, None, Limit("bytes", 512), exact=True).level == "fail"
    assert judge([1000], 10, None, PCT3, exact=True).level == "ok"  # shrinking is fine


def test_a_time_fails_only_beyond_both_the_limit_and_the_noise() -> None:
    noisy = [10.0, 13.0, 8.0, 12.0, 9.0]  # median 10, MAD 2: noise 3 x 1.4826 x 2 = 8.9
    v = judge(noisy, 15.0, None, PCT20, exact=False)
    assert (v.level, v.note) == ("ok", "within the baseline's noise")  # +50%, inside the noise
    assert v.noise == pytest.approx(3 * 1.4826 * 2)
    assert judge(noisy, 19.5, None, PCT20, exact=False).level == "fail"
    steady = [10.0, 10.1, 9.9, 10.0, 10.05]
    assert judge(steady, 12.5, None, PCT20, exact=False).level == "fail"
    assert judge(steady, 11.5, None, PCT20, exact=False).level == "ok"  # under the limit


def test_one_outlier_in_the_baseline_does_not_widen_the_noise() -> None:
    assert mad([10.0, 10.1, 9.9, 10.0, 60.0]) == pytest.approx(0.1)
    assert judge([10.0, 10.1, 9.9, 10.0, 60.0], 13.0, None, PCT20, exact=False).level == "fail"


def test_without_a_spread_a_time_only_warns() -> None:
    v = judge([10.0, 10.0], 20.0, None, PCT20, exact=False)
    assert v.level == "warn"
    assert "only warns" in v.note


# --- the schema -------------------------------------------------------------------


def _v1_file(path: Path) -> None:
    """A history as the first schema wrote it, with one release."""
    con = sqlite3.connect(path)
    con.executescript(db.MIGRATIONS[0])
    con.execute(f"PRAGMA application_id = {db.APP_ID}")
    con.execute("INSERT INTO relbuild_schema (version) VALUES (1)")
    raw, rel = release(manifest("1.0.0"), epoch=1)
    import zlib

    con.execute(
        "INSERT INTO releases (project, version, revision, dirty, source_date_epoch, "
        "manifest_sha256, manifest, machine, build_seconds, build_cpu, checksum_seconds) "
        "VALUES ('demo', '1.0.0', 'r', 0, 1, ?, ?, NULL, 12.0, 20.0, 0.05)",
        (rel.manifest_sha256, zlib.compress(raw)),
    )
    con.commit()
    con.close()


def test_an_old_history_is_upgraded_and_keeps_its_releases(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    _v1_file(path)
    con = db.connect(path)
    try:
        assert con.execute("SELECT version FROM relbuild_schema").fetchall() == [(2,)]
        assert db._schema(con) == db.expected_schema()
        [old] = store.releases(con, path)
        assert (old.version, old.measured.build_seconds, old.measured.steps) == ("1.0.0", 12.0, [])
        raw, rel = release(manifest("1.1.0"), epoch=2)
        assert store.insert(con, raw, rel)
        assert [r.version for r in store.releases(con, path)] == ["1.0.0", "1.1.0"]
    finally:
        con.close()


def test_a_newer_history_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = db_with(tmp_path / "h.sqlite", [release(manifest("1.0.0"), epoch=1)])
    con = sqlite3.connect(path)
    con.execute("UPDATE relbuild_schema SET version = 3")
    con.commit()
    con.close()
    before = path.read_bytes()
    with pytest.raises(UsageError, match="schema version 3, written by a newer relbuild") as e:
        db.connect(path, create=True)
    assert e.value.exit_code == 2
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "spoil",
    [
        "CREATE TABLE extra (x)",
        "DROP INDEX steps_release",
        "PRAGMA application_id = 1",
        "DELETE FROM relbuild_schema",
        "INSERT INTO relbuild_schema VALUES (2)",
    ],
)
def test_a_history_with_another_schema_is_refused(tmp_path: Path, spoil: str) -> None:
    path = db_with(tmp_path / "h.sqlite", [release(manifest("1.0.0"), epoch=1)])
    con = sqlite3.connect(path)
    con.execute(spoil)
    con.commit()
    con.close()
    with pytest.raises(UsageError, match="not a usable relbuild history"):
        db.connect(path)


def test_hostile_files_are_refused_with_one_sentence(tmp_path: Path) -> None:
    good = db_with(tmp_path / "good.sqlite", [release(manifest("1.0.0"), epoch=1)])
    cases = {
        "text": b"not a database at all\n" * 10,
        "truncated": good.read_bytes()[:3000],
        "header only": db.HEADER + b"\0" * 84,
    }
    for name, data in cases.items():
        path = tmp_path / f"{name}.sqlite"
        path.write_bytes(data)
        with pytest.raises(UsageError, match="not a usable relbuild history"):
            con = db.connect(path)
            store.releases(con, path)
    huge = tmp_path / "huge.sqlite"
    with huge.open("wb") as fh:
        fh.write(db.HEADER)
        fh.truncate(db.MAX_DB_BYTES + 1)  # sparse: no disk used
    with pytest.raises(UsageError, match="more than a history may be"):
        db.connect(huge)
    (tmp_path / "link.sqlite").symlink_to(good)
    with pytest.raises(UsageError, match="not a regular file"):
        db.connect(tmp_path / "link.sqlite")
    with pytest.raises(UsageError, match="no release history here"):
        db.connect(tmp_path / "missing.sqlite")


def test_a_stored_manifest_that_does_not_match_its_digest_is_refused(tmp_path: Path) -> None:
    path = db_with(tmp_path / "h.sqlite", [release(manifest("1.0.0"), epoch=1)])
    raw, _ = release(manifest("6.6.6"), epoch=1)
    import zlib

    con = sqlite3.connect(path)
    con.execute("UPDATE releases SET manifest = ?", (zlib.compress(raw),))
    con.commit()
    con.close()
    con = db.connect(path)
    with pytest.raises(UsageError, match="does not have that SHA-256"):
        store.releases(con, path)
    con.close()


def test_adding_twice_is_a_no_op_and_a_version_is_published_once(tmp_path: Path) -> None:
    path = db_with(tmp_path / "h.sqlite", [release(manifest("1.0.0"), epoch=1)])
    con = db.connect(path)
    try:
        assert not store.insert(con, *release(manifest("1.0.0"), epoch=1))
        with pytest.raises(store.ConflictError, match=r"already holds demo 1\.0\.0"):
            store.insert(con, *release(manifest("1.0.0", lib=5), epoch=1))
        assert len(store.rows(con, path)) == 1
    finally:
        con.close()


def test_two_processes_add_at_the_same_time(tmp_path: Path) -> None:
    """Two forked writers, 15 releases each, into one new file: every
    release lands, none waits past the busy timeout."""
    path = tmp_path / "h.sqlite"
    pids = []
    for w in range(2):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            code = 1
            try:
                con = db.connect(path, create=True)
                for i in range(15):
                    store.insert(con, *release(manifest(f"{w}.{i}.0"), epoch=i))
                con.close()
                code = 0
            finally:
                os._exit(code)
        pids.append(pid)
    assert [os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) for p in pids] == [0, 0]
    con = db.connect(path)
    assert len(store.rows(con, path)) == 30
    con.close()


# --- check, changelog, report -----------------------------------------------------


def _series(tmp_path: Path, n: int = 6, last_flash: int = 10_000) -> Path:
    rels = [release(manifest(f"1.{i}.0"), epoch=i, cpu=10 + i % 2 * 0.2) for i in range(n - 1)]
    rels.append(release(manifest(f"1.{n - 1}.0", fw_flash=last_flash), epoch=n, cpu=10.1))
    return db_with(tmp_path / "h.sqlite", rels)


def test_check_compares_with_the_median_of_the_last_five(tmp_path: Path) -> None:
    path = _series(tmp_path, last_flash=10_600)
    got = check.check(path, Regressions.model_validate({"flash": "512 B", "size": "10%"}))
    assert got.baseline == ["1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0"][-5:]
    [bad] = [c for c in got.comparisons if c.level == "fail"]
    assert (bad.measure, bad.baseline, bad.now, bad.limit) == ("flash", 10_000, 10_600, "512 B")
    assert "fw-{version}-thumbv7m-none-eabi.elf" in bad.subject
    assert not got.ok
    assert check.check(path, Regressions.model_validate({"flash": "1 KiB", "size": "10%"})).ok


def test_times_are_compared_within_one_machine_class(tmp_path: Path) -> None:
    rels = [release(manifest(f"1.{i}.0"), epoch=i, cpu=10.0 + i * 0.01) for i in range(5)]
    rels.append(release(manifest("1.5.0"), epoch=9, cpu=40.0, machine=OTHER_MACHINE))
    got = check.check(db_with(tmp_path / "h.sqlite", rels), Regressions())
    assert not [c for c in got.comparisons if c.unit == "s"]  # no baseline on that machine
    rels[-1] = release(manifest("1.5.0"), epoch=9, cpu=40.0)
    got = check.check(db_with(tmp_path / "h2.sqlite", rels), Regressions())
    assert any(c.measure == "build-cpu" and c.level == "fail" for c in got.comparisons)


def test_against_one_release_and_an_unknown_one(tmp_path: Path) -> None:
    path = _series(tmp_path, last_flash=10_300)
    got = check.check(path, Regressions(), against="1.2.0")
    assert got.baseline == ["1.2.0"]
    with pytest.raises(UsageError, match="no such release"):
        check.check(path, Regressions(), against="9.9.9")


def test_changelog_names_footprint_abi_and_artifact_changes() -> None:
    old = release(manifest("1.0.0"), epoch=1)[1]
    m = manifest("1.1.0", fw_flash=12_000)
    m = m.model_copy(update={"abi": [m.abi[0].model_copy(update={"symbols": []})]})
    log = changelog(old, release(m, epoch=2)[1])
    assert [(c.what, c.subject) for c in log.abi] == [
        ("removed", "x86_64-unknown-linux-gnu lib: f")
    ]
    assert log.footprints[0].after.startswith("flash 12,000 B")
    assert {c.what for c in log.artifacts} == {"changed"}
    assert not log.targets and not log.toolchains


def test_the_report_is_the_same_bytes_for_the_same_history(tmp_path: Path) -> None:
    a = _series(tmp_path / "a", last_flash=11_000)
    b = _series(tmp_path / "b", last_flash=11_000)
    ra = report.report(a, tmp_path / "a.html")
    report.report(b, tmp_path / "b.html")
    text = (tmp_path / "a.html").read_bytes()
    assert text == (tmp_path / "b.html").read_bytes()
    assert ra.plots == 5  # sizes, flash, RAM, build CPU, checksum time
    assert text.count(b"<svg") == 5
    # Nothing to fetch: no script, no link or source out (XML namespaces are names).
    assert b"<script" not in text and b"src=" not in text
    assert b'href="http' not in text and b"url(http" not in text
    assert b"Changes from 1.4.0 to 1.5.0" in text


def test_hostile_names_in_the_history_are_text_in_the_report(tmp_path: Path) -> None:
    m = manifest("1.0.0")
    evil = m.artifacts[1].model_copy(update={"path": "x/<script>$\\frac{a}{$b</script>.a"})
    m = m.model_copy(update={"artifacts": [m.artifacts[0], evil]})
    path = db_with(tmp_path / "h.sqlite", [release(m, epoch=1)])
    report.report(path, tmp_path / "r.html")
    assert b"<script" not in (tmp_path / "r.html").read_bytes()


def test_the_machine_is_read_from_cpuinfo_and_meminfo() -> None:
    from relbuild.system.machine import cpu_model, machine_class, memory_bytes

    assert cpu_model("processor\t: 0\nmodel name\t: AMD  EPYC 7B13\n") == "AMD EPYC 7B13"
    assert cpu_model("processor : 0\nCPU part : 0xd0c\n") == "0xd0c"
    assert cpu_model("") == "unknown"
    assert memory_bytes("MemTotal:        8048576 kB\n") == 8048576 * 1024
    assert machine_class(2, "X", 8 << 30, "x86_64") == "x86_64, 2 x X, 8 GiB"


def test_text_that_is_not_utf8_is_read_without_an_exception(tmp_path: Path) -> None:
    """Found by the fuzz suite: SQLite hands back the bytes a damaged file holds."""
    path = db_with(tmp_path / "h.sqlite", [release(manifest("1.0.0"), epoch=1)])
    con = sqlite3.connect(path)
    con.execute("UPDATE releases SET revision = CAST(x'ff80' AS TEXT)")
    con.commit()
    con.close()
    con = db.connect(path)
    [row] = store.rows(con, path)
    con.close()
    assert row.revision == "\ufffd\ufffd"
