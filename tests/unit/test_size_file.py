"""The size file beside each firmware: written the same way twice, read
back by `relbuild size` (crates, symbols, growth), and a hostile one refused
with exit 2."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from relbuild.binaries import sizes
from relbuild.release.dist import ArtifactRecord, Footprint, Manifest, ProjectRecord
from relbuild.release.sizefile import SizeFile, SymbolSize
from tests.conftest import CliResult
from tests.stackgen import firmware
from tests.unit.test_stack import chain

FW = "thumbv7m-none-eabi/fw-1.0.0-thumbv7m-none-eabi.elf"
SIZE = "thumbv7m-none-eabi/fw-1.0.0-thumbv7m-none-eabi.size.json"


def dist(folder: Path, split: SizeFile | bytes, size_path: str = SIZE) -> Path:
    """A dist with one firmware (footprint recorded) and its size file."""
    (folder / "thumbv7m-none-eabi").mkdir(parents=True)
    body = split if isinstance(split, bytes) else split.to_bytes()
    if size_path == SIZE:
        (folder / SIZE).write_bytes(body)
    fp = Footprint(
        flash=split.flash if isinstance(split, SizeFile) else 1,
        ram=360,
        sections={},
        stack=360,
        stack_path=["Reset", "main"],
    )

    def art(path: str, kind: str, footprint: Footprint | None = None) -> ArtifactRecord:
        return ArtifactRecord.model_validate(
            {
                "path": path,
                "target": "thumbv7m-none-eabi",
                "component": "fw",
                "kind": kind,
                "size": 1,
                "mode": "0644",
                "sha256": "0" * 64,
                "sha512": "0" * 128,
                "footprint": footprint,
            }
        )

    manifest = Manifest(
        generator="test",
        project=ProjectRecord(name="p", version="1.0.0"),
        artifacts=[art(FW, "firmware", fp), art(size_path, "file")],
    )
    (folder / "manifest.json").write_bytes(manifest.to_bytes())
    return folder


def split_of(**grown: int) -> SizeFile:
    base = {"core::fmt::write": 324, "beacon_fw::firmware_main": 334}
    base.update(grown)
    symbols = [
        SymbolSize(name=n, crate=n.split("::")[0], section=".text", size=s)
        for n, s in sorted(base.items(), key=lambda kv: -kv[1])
    ]
    crates: dict[str, int] = {}
    for s in symbols:
        crates[s.crate] = crates.get(s.crate, 0) + s.size
    return SizeFile(firmware=FW, flash=sum(crates.values()), crates=crates, symbols=symbols)


def test_size_file_bytes_are_the_same_twice() -> None:
    data = firmware(chain())
    one, two = sizes.size_split(data, "fw.elf"), sizes.size_split(data, "fw.elf")
    assert one.to_bytes() == two.to_bytes()
    assert json.loads(one.to_bytes())["format"] == "relbuild-size-1"


def test_size_compare_names_the_crate_and_function_that_grew(
    tmp_path: Path, relbuild: Callable[..., CliResult]
) -> None:
    old = dist(tmp_path / "old", split_of())
    new = dist(tmp_path / "new", split_of(**{"beacon_fw::firmware_main": 334 + 2048}))
    code, out, err = relbuild("size", new, "--compare", old, "--crates", "--symbols", "--json")
    assert code == 0, err
    (entry,) = json.loads(out)["firmware"]
    crates = {r["name"]: r["size"] - r["old"] for r in entry["crates"]}
    assert crates == {"beacon_fw": 2048, "core": 0}
    assert entry["growth"][0]["name"] == "beacon_fw::firmware_main"
    assert entry["growth"][0]["size"] - entry["growth"][0]["old"] == 2048
    assert entry["stack"] == 360 and entry["stack_path"] == ["Reset", "main"]
    assert "+2048" in err and "deepest stack path: Reset -> main" in err


HOSTILE = [
    b"not json",
    b"[" * 100_000,
    json.dumps({"format": "relbuild-size-1", "firmware": "x", "flash": -1}).encode(),
    json.dumps({**json.loads(split_of().to_bytes()), "extra": 1}).encode(),
]


@pytest.mark.parametrize("body", HOSTILE)
def test_hostile_size_file_is_exit_2(
    body: bytes, tmp_path: Path, relbuild: Callable[..., CliResult]
) -> None:
    good = dist(tmp_path / "good", split_of())
    bad = dist(tmp_path / "bad", body)
    for args in (("size", good, "--compare", bad), ("size", bad)):
        code, _, err = relbuild(*args)
        assert code == 2, err
        assert "size file" in err and "Traceback" not in err


@pytest.mark.parametrize("where", ["../outside.size.json", "link"])
def test_size_file_outside_the_dist_is_exit_2(
    where: str, tmp_path: Path, relbuild: Callable[..., CliResult]
) -> None:
    (tmp_path / "outside.size.json").write_bytes(split_of().to_bytes())
    path = "thumbv7m-none-eabi/link.size.json" if where == "link" else where
    bad = dist(tmp_path / "bad", split_of(), size_path=path)
    if where == "link":
        os.symlink(tmp_path / "outside.size.json", bad / path)
    code, _, err = relbuild("size", dist(tmp_path / "good", split_of()), "--compare", bad)
    assert code == 2 and "not a usable size file" in err, err


def test_a_manifest_compared_without_its_size_files_shows_no_crate_growth(
    tmp_path: Path, relbuild: Callable[..., CliResult]
) -> None:
    old = dist(tmp_path / "old", split_of())
    (old / SIZE).unlink()
    code, out, err = relbuild(
        "size", dist(tmp_path / "new", split_of()), "--compare", old, "--json"
    )
    assert code == 0, err
    (entry,) = json.loads(out)["firmware"]
    assert entry["old_flash"] is not None and entry["growth"] == []
    assert all(r["old"] is None for r in entry["crates"])


def test_diff_names_the_crate_and_function_that_grew(
    tmp_path: Path, relbuild: Callable[..., CliResult]
) -> None:
    old = dist(tmp_path / "old", split_of())
    new = dist(tmp_path / "new", split_of(**{"beacon_fw::firmware_main": 334 + 2048}))
    code, out, err = relbuild("diff", old, new, "--json")
    assert code == 1, err
    sizes = [c for c in json.loads(out)["changes"] if c["section"] == "size"]
    assert [(c["name"], c["old"], c["new"]) for c in sizes] == [
        ("thumbv7m-none-eabi fw crate beacon_fw", "334 B", "2382 B (+2048)"),
        ("thumbv7m-none-eabi fw beacon_fw beacon_fw::firmware_main", "334 B", "2382 B (+2048)"),
    ]
    bad = dist(tmp_path / "bad", b"{")
    assert relbuild("diff", old, bad)[0] == 2
