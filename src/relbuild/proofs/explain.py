"""Why do two builds of one artifact differ? In terms a Go or Rust
developer can act on: which ELF sections, which archive members, and which
strings look like a leaked path, host name or time stamp.

diffoscope, when installed, is run as well and its report saved; the
explanation here never depends on it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import socket
import sys
import tarfile
import zipfile
import zlib
from pathlib import Path

from elftools.elf.elffile import ELFFile
from pydantic import BaseModel

from relbuild.binaries import elfcheck
from relbuild.binaries.elfcheck import ELF_ERRORS
from relbuild.system import proc

_STRING = re.compile(rb"[\x20-\x7e]{6,}")
_PATH = re.compile(r"(/(?:home|root|tmp|var|Users|build|work|runner|builds|private)/[^\s\"':]*)")
_DATE = re.compile(r"\b(19|20)\d\d-[01]\d-[0-3]\d([ T][0-2]\d:[0-5]\d(:[0-5]\d)?)?\b")
_CLOCK = re.compile(r"\b[0-2]\d:[0-5]\d:[0-5]\d\b")
_EPOCH = re.compile(r"\b1[5-9]\d{8}\b")


class Explanation(BaseModel):
    path: str
    summary: str
    sections: list[str] = []
    members: list[str] = []
    suspects: list[str] = []
    advice: list[str] = []
    diffoscope: str | None = None


def _strings(data: bytes) -> set[str]:
    return {m.group().decode("ascii") for m in _STRING.finditer(data)}


ADVICE = {
    "leaked build path": (
        "A string holds the build path. --remap-path-prefix and -trimpath rewrite paths in "
        'debug info, panics and file!(), not plain strings: look for env!("CARGO_MANIFEST_DIR")'
        ', env!("OUT_DIR"), concat!/include paths in Rust, or a path passed through -ldflags -X'
        " or go:generate in Go; use paths relative to the crate, or include_str!/include_bytes!."
    ),
    "looks like an absolute path": (
        "An absolute path is embedded: see the advice for leaked build paths; for C code built "
        "by a build script, pass -ffile-prefix-map (relbuild sets CFLAGS for the cc crate)."
    ),
    "contains the host name": (
        "The host name is embedded: a build script or go:generate step reads it; drop it or take "
        "a fixed value from the environment."
    ),
    "looks like a date or time": (
        "The build embeds a time: take it from SOURCE_DATE_EPOCH, which relbuild sets for every "
        'step, e.g. std::env::var("SOURCE_DATE_EPOCH") in build.rs, instead of the clock.'
    ),
    "looks like a Unix time stamp": (
        "The build embeds the clock (a Unix time): use SOURCE_DATE_EPOCH, which relbuild sets "
        "for every step, instead of SystemTime::now() / time.Now() at build time."
    ),
}


def advice_for(suspect_lines: list[str]) -> list[str]:
    return [
        text
        for reason, text in ADVICE.items()
        if any(line.startswith(reason) for line in suspect_lines)
    ]


def suspects(a: bytes, b: bytes, hints: list[str] | None = None) -> list[str]:
    """Strings in one build and not the other that look like a cause."""
    sa, sb = _strings(a), _strings(b)
    host = socket.gethostname()
    out: list[str] = []
    for side, only in (("first", sorted(sa - sb)), ("second", sorted(sb - sa))):
        for s in only[:2000]:
            reason = None
            if hints and any(h and h in s for h in hints):
                reason = "leaked build path"
            elif _PATH.search(s):
                reason = "looks like an absolute path"
            elif len(host) > 3 and host in s:
                reason = "contains the host name"
            elif _DATE.search(s) or _CLOCK.search(s):
                reason = "looks like a date or time"
            elif _EPOCH.search(s):
                reason = "looks like a Unix time stamp"
            if reason:
                out.append(f"{reason} in the {side} build: {s[:160]!r}")
            if len(out) >= 12:
                return out
    return out


def elf_sections(a: bytes, b: bytes) -> list[str]:
    """Names of sections whose contents or sizes differ."""
    try:
        ea, eb = ELFFile(io.BytesIO(a)), ELFFile(io.BytesIO(b))
        secs_a = {s.name: s for s in ea.iter_sections() if s.name}
        secs_b = {s.name: s for s in eb.iter_sections() if s.name}
        out = []
        for name in sorted(set(secs_a) | set(secs_b)):
            x, y = secs_a.get(name), secs_b.get(name)
            if x is None or y is None:
                out.append(f"{name} ({'only in the second' if x is None else 'only in the first'})")
                continue
            dx = x.data() if x["sh_type"] != "SHT_NOBITS" else b""
            dy = y.data() if y["sh_type"] != "SHT_NOBITS" else b""
            if x["sh_size"] != y["sh_size"]:
                out.append(f"{name} (size {x['sh_size']} vs {y['sh_size']})")
            elif dx != dy:
                out.append(name)
        return out
    except ELF_ERRORS:
        return []


def _member_map(data: bytes, name: str) -> dict[str, tuple[str, str]] | None:
    """member -> (content hash, metadata) for tar.gz, zip and ar files."""
    out: dict[str, tuple[str, str]] = {}
    try:
        if name.endswith((".tar.gz", ".tgz")):
            with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data))) as tar:
                for m in tar.getmembers():
                    body = tar.extractfile(m).read() if m.isfile() else b""  # type: ignore[union-attr]
                    meta = f"mode {m.mode:o} mtime {m.mtime} owner {m.uid}:{m.gid} {m.uname}"
                    out[m.name] = (hashlib.sha256(body).hexdigest(), meta)
            return out
        if name.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                for i in zf.infolist():
                    meta = f"attr {i.external_attr:x} time {i.date_time}"
                    out[i.filename] = (hashlib.sha256(zf.read(i)).hexdigest(), meta)
            return out
        if data[:8] == b"!<arch>\n":
            for member, body in elfcheck.ar_members(data):
                out[member] = (hashlib.sha256(body).hexdigest(), "")
            return out
    except (
        OSError,
        EOFError,
        tarfile.TarError,
        zipfile.BadZipFile,
        zlib.error,  # a corrupt deflate stream
        ValueError,
        NotImplementedError,  # a zip member compressed by an unknown method
        RuntimeError,  # an encrypted zip member
        MemoryError,
    ):
        return None
    return None


def archive_members(a: bytes, b: bytes, name: str) -> list[str] | None:
    ma, mb = _member_map(a, name), _member_map(b, name)
    if ma is None or mb is None:
        return None
    out = []
    for member in sorted(set(ma) | set(mb)):
        x, y = ma.get(member), mb.get(member)
        if x is None or y is None:
            out.append(f"{member} ({'only in the second' if x is None else 'only in the first'})")
        elif x[0] != y[0]:
            out.append(f"{member} (content)")
        elif x[1] != y[1]:
            out.append(f"{member} (metadata: {x[1]} vs {y[1]})")
    if not out and a != b:
        out.append("(members equal; the container bytes differ: compression or headers)")
    return out


def explain(
    rel: str, a: Path, b: Path, report_dir: Path | None = None, hints: list[str] | None = None
) -> Explanation:
    da, db = a.read_bytes(), b.read_bytes()
    exp = Explanation(path=rel, summary="")
    parts = []
    if len(da) != len(db):
        parts.append(f"sizes differ ({len(da)} vs {len(db)} bytes)")
    if da[:4] == b"\x7fELF" and db[:4] == b"\x7fELF":
        exp.sections = elf_sections(da, db)
        if exp.sections:
            parts.append(f"ELF sections differ: {', '.join(exp.sections[:8])}")
    else:
        members = archive_members(da, db, rel)
        if members is not None:
            exp.members = members
            parts.append(f"archive members differ: {', '.join(members[:8])}")
    exp.suspects = suspects(da, db, hints)
    exp.advice = advice_for(exp.suspects)
    if report_dir is not None:
        exp.diffoscope = run_diffoscope(a, b, report_dir / (rel.replace("/", "__") + ".txt"))
    exp.summary = "; ".join(parts) or "contents differ"
    return exp


def run_diffoscope(a: Path, b: Path, out: Path) -> str | None:
    """diffoscope's text report, saved to ``out``; None when not installed."""
    # On PATH, or installed beside relbuild (the same virtualenv).
    beside = Path(sys.executable).parent / "diffoscope"
    tool = proc.which("diffoscope") or (str(beside) if beside.is_file() else None)
    if tool is None:
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    res = proc.run(
        [tool, "--text", str(out), "--max-report-size", "4000000", str(a), str(b)],
        check=False,
        timeout=600,
    )
    return str(out) if res.returncode in (0, 1) else None
