"""The history's readers on hostile input: a history file with edited bytes
(read back in full and, for some, drawn as the report) and a build report
with edited JSON. Either they read, or they refuse with a UsageError (exit
2); never another exception."""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from relbuild.errors import UsageError
from relbuild.pipeline.model import BuildResult, StepTiming
from relbuild.series import check, db, ingest, report, store
from tests.fuzz.conftest import examples
from tests.fuzz.mutate import dumps, mutated_bytes, mutated_json
from tests.series_data import MACHINE, db_with, manifest, release

_SEED: dict[str, bytes] = {}


def _seed(tmp: Path) -> bytes:
    if "db" not in _SEED:
        path = db_with(
            tmp / "seed.sqlite",
            [release(manifest(f"1.{i}.0", fw_flash=10_000 + i), epoch=i) for i in range(3)],
        )
        con = db.connect(path)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
        _SEED["db"] = path.read_bytes()
    return _SEED["db"]


@settings(max_examples=examples(150))
@given(data=st.data())
def test_a_history_with_edited_bytes_reads_or_is_refused(data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        seed = _seed(Path(tmp))
        path = Path(tmp) / "h.sqlite"
        path.write_bytes(data.draw(mutated_bytes(seed)))
        try:
            releases = check.load(path)
            con = db.connect(path)
            store.rows(con, path)
            con.close()
            if releases and data.draw(st.integers(0, 9)) == 0:
                report.render(releases)
        except UsageError:
            pass


def _report_seed() -> dict[str, object]:
    m = manifest("1.0.0")
    r = BuildResult(
        out="/tmp/dist",
        manifest="/tmp/dist/manifest.json",
        artifacts=m.artifacts,
        steps=[StepTiming(target="t", component="c", tool="cargo", seconds=1, log="")],
        seconds=2.0,
        cpu_seconds=1.5,
        machine=MACHINE,
    )
    data: dict[str, object] = json.loads(r.model_dump_json())
    return data


@settings(max_examples=examples(200))
@given(doc=mutated_json(_report_seed()))
def test_a_build_report_with_edited_json_reads_or_is_refused(doc: object) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "build-report.json"
        path.write_bytes(dumps(doc))
        with contextlib.suppress(UsageError):
            ingest.read_report(path)
