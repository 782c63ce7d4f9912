"""`relbuild test --unit` on a copy of the example: Rust's tests on the host
with coverage, Go's natively and for aarch64 under qemu-user, and a coverage
minimum above what the tests reach fails the run. The copy shares the
session build's cache (its sandbox paths are the same), so the toolchains'
own packages are not compiled again."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import CONFIG
from tests.integration.conftest import example_copy, relbuild_cmd

TARGETS = """
[[targets]]
triple = "x86_64-unknown-linux-gnu"
components = ["beacon-ffi", "beacon"]

[[targets]]
triple = "aarch64-unknown-linux-gnu"
components = ["beacon-ffi", "beacon"]
qemu = {}
"""


def test_unit_tests_with_coverage(tmp_path: Path, dist: Path) -> None:
    _, config = example_copy(tmp_path, TARGETS)
    text = config.read_text()
    text = text.replace("[rust.beacon-ffi]\n", "[rust.beacon-ffi]\ncoverage = { min = 99.9 }\n")
    text = text.replace("[go.beacon]\n", "[go.beacon]\ncoverage = { min = 20 }\n")
    config.write_text(text)
    cache = CONFIG.parent / ".relbuild"  # where the session's `dist` was built
    res = relbuild_cmd("--config", config, "test", "--unit", "--cache-dir", cache, "--json")
    assert res.returncode == 1, res.stderr[-3000:]
    results = {(r["language"], r["target"]): r for r in json.loads(res.stdout)["results"]}
    rust = results[("rust", "x86_64-unknown-linux-gnu")]
    assert rust["status"] == "failed", rust
    assert 50 < rust["coverage"] < 99.9 and "below its minimum of 99.9%" in rust["reason"]
    assert "test result: ok. " in Path(rust["log"]).read_text()
    native = results[("go", "x86_64-unknown-linux-gnu")]
    cross = results[("go", "aarch64-unknown-linux-gnu")]
    for go in (native, cross):
        assert go["status"] == "passed", go
        assert go["coverage"] >= 20
        log = Path(go["log"]).read_text()
        assert "ok  \texample.com/beacon/internal/kernel" in log
        assert "ok  \texample.com/beacon/cmd/beacon" in log
    assert native["runner"] == []
    assert cross["runner"][0] == "qemu-aarch64" and "-exec" in Path(cross["log"]).read_text()
