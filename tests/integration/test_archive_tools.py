"""A tar.gz compressed part by part (release.archive) is one ordinary gzip
stream to the gzip and tar programs, with a part taken from the cache or not."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from relbuild.release.archive import Member, tar_gz
from tests.elfgen import ar_archive, member_offsets


def test_gzip_and_tar_read_an_archive_made_of_parts(tmp_path: Path) -> None:
    lib = tmp_path / "lib.a"
    body = ar_archive([(f"m{i}", (f"object {i} ".encode() * 40_000)[:300_000]) for i in range(4)])
    lib.write_bytes(body)
    tool = tmp_path / "tool"
    tool.write_bytes(os.urandom(100_000))
    members = [Member("p/lib.a", lib, 0o644, member_offsets(body)), Member("p/tool", tool, 0o755)]
    kept = tmp_path / "kept"
    tar_gz(members, 1_700_000_000, kept)  # fills the cache
    archive = tmp_path / "p.tar.gz"
    archive.write_bytes(tar_gz(members, 1_700_000_000, kept))
    subprocess.run(["gzip", "-t", str(archive)], check=True)
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run(["tar", "-xzf", str(archive), "-C", str(out)], check=True)
    assert (out / "p" / "lib.a").read_bytes() == body
    assert (out / "p" / "tool").read_bytes() == tool.read_bytes()
    assert (out / "p" / "tool").stat().st_mode & 0o777 == 0o755
