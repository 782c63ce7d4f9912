"""The ABI check's pure parts: comparison of shapes, preamble extraction,
declaration parsing and the archive index. Real DWARF from real builds is
tested in tests/integration/test_abi.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from relbuild.abi import cgo
from relbuild.abi.boundary import Checked, Library, Paths, TargetInput
from relbuild.abi.cdecl import CCompiler, parse_declarations, strip_bodies
from relbuild.abi.compare import function_differences, layout_differences, value_difference
from relbuild.abi.model import (
    AbiReport,
    CheckedSymbol,
    Declared,
    Finding,
    FuncType,
    LibraryResult,
    Member,
    Param,
    Place,
    Pointer,
    Record,
    Scalar,
    SideRecord,
    digest,
    render,
    render_layout,
)
from relbuild.abi.objects import _archive
from relbuild.pipeline import abi as stage

U8 = Scalar("int", 1, False, "uint8_t")
U32 = Scalar("int", 4, False, "uint32_t")
I32 = Scalar("int", 4, True, "int32_t")
U64 = Scalar("int", 8, False, "usize")
F64 = Scalar("float", 8, True, "double")
VOID = Scalar("void", 0, name="void")


def c_decl(name: str, ret: Scalar, *params: tuple[str, object], origin: str = "header") -> Declared:
    sig = FuncType(ret, tuple(Param("", s) for _, s in params))  # type: ignore[arg-type]
    return Declared(
        name,
        sig,
        Place(origin, "include/lab.h", 7),  # type: ignore[arg-type]
        tuple(text for text, _ in params),
        ret.name,
    )


def rust_decl(name: str, ret: Scalar, *params: tuple[str, object]) -> Declared:
    sig = FuncType(ret, tuple(Param(n, s) for n, s in params))  # type: ignore[arg-type]
    return Declared(name, sig, Place("rust", "src/lib.rs", 12))


def test_usize_against_uint32_is_a_size_finding_naming_both_sides() -> None:
    c = c_decl("lab_sum", U64, ("const uint32_t *xs", Pointer(U32, 8)), ("uint32_t n", U32))
    r = rust_decl("lab_sum", U64, ("xs", Pointer(U32, 8, "*const u32")), ("n", U64))
    (diff,) = function_differences(c, r)
    assert diff.kind == "param-size"
    assert diff.message == (
        "parameter 2: `uint32_t n` in the header is 4 bytes against 8 bytes `n: usize` "
        "in the Rust export"
    )


def test_the_same_on_a_32_bit_target_agrees() -> None:
    usize32 = Scalar("int", 4, False, "usize")
    c = c_decl("lab_sum", U64, ("uint32_t n", U32))
    r = rust_decl("lab_sum", U64, ("n", usize32))
    assert function_differences(c, r) == []


def test_count_signedness_pointer_and_return() -> None:
    c = c_decl("f", I32, ("int32_t a", I32))
    r = rust_decl("f", I32, ("a", I32), ("b", U32))
    (count,) = function_differences(c, r)
    assert count.kind == "param-count"
    assert "1 parameter(s) in the header, 2 in the Rust export" in count.message
    assert "`b: uint32_t`" in count.message

    assert value_difference(I32, U32) == ("param-signedness", "signed against unsigned")
    assert value_difference(Pointer(U8, 8), U64)[0] == "param-pointer"  # type: ignore[index]
    assert value_difference(F64, U64)[0] == "param-kind"  # type: ignore[index]
    c2 = c_decl("g", U32)
    r2 = rust_decl("g", VOID)
    (ret,) = function_differences(c2, r2)
    assert ret.kind == "return-type"


def test_pointers_agree_whatever_the_pointee_sign_but_not_its_size() -> None:
    char = Scalar("int", 1, True, "char")
    assert value_difference(Pointer(char, 8), Pointer(U8, 8)) is None
    assert value_difference(Pointer(VOID, 8), Pointer(U32, 8)) is None
    found = value_difference(Pointer(U32, 8), Pointer(U64, 8))
    assert found is not None and found[0] == "param-pointer"


def test_a_one_member_record_is_its_member() -> None:
    nonnull = Record("NonNull<u8>", 8, (Member("pointer", 0, Pointer(U8, 8)),))
    assert value_difference(Pointer(U8, 8), nonnull) is None


def test_struct_with_a_field_added_on_one_side() -> None:
    c = Record("lab_stats", 8, (Member("count", 0, U32), Member("total", 4, U32)))
    r = Record(
        "LabStats",
        12,
        (Member("count", 0, U32), Member("total", 4, U32), Member("errors", 8, U32)),
    )
    problems = layout_differences(c, r, "the header", "the Rust export")
    assert problems == [
        "size is 8 bytes in the header, 12 in the Rust export",
        "the Rust export has a field `errors` (uint32_t at offset 8) that the header lacks",
    ]
    assert layout_differences(c, c, "a", "b") == []


def test_canonical_text_and_digest_are_stable() -> None:
    sig = FuncType(U32, (Param("data", Pointer(U8, 8)), Param("len", U64)))
    assert render(sig) == "fn(*u8, u64) -> u32"
    assert digest(render(sig)) == digest("fn(*u8, u64) -> u32")
    rec = Record("S", 16, (Member("a", 0, U32), Member("p", 8, Pointer(U8, 8))))
    assert render_layout(rec) == "struct S {u32 @0, *u8 @8} size 16"


GO = """package kernel

// Not the preamble: a blank line follows.

/*
#cgo LDFLAGS: -llab
#include "lab.h"
uint64_t lab_sum(const uint32_t *xs, size_t n);
*/
import "C"

var s = `import "C"`
"""


def test_preamble_is_the_comment_right_before_import_c(tmp_path: Path) -> None:
    (pre,) = cgo.preambles(GO, tmp_path / "k.go")
    assert pre.line == 5
    lines = pre.text.split("\n")
    assert lines[1] == ""  # the #cgo line is blanked, line numbers kept
    assert lines[2] == '#include "lab.h"'
    assert lines[3].startswith("uint64_t lab_sum")


def test_line_comment_preamble() -> None:
    src = 'package p\n\n// #include <stdint.h>\n// int32_t f(void);\nimport "C"\n'
    (pre,) = cgo.preambles(src, Path("p.go"))
    assert pre.line == 3
    assert pre.text == " #include <stdint.h>\n int32_t f(void);"
    assert cgo.preambles('package p\n\n/* x */\n\nimport "C"\n', Path("p.go")) == []


PREPROCESSED = """# 1 "/sys/stdint.h" 1 3
typedef unsigned int uint32_t;
int sys_only(int);
# 3 "/p/lab.h" 2
uint32_t lab_version(void);
static int hidden(int);
struct lab_stats { uint32_t count; uint32_t total; };
typedef struct { int x; } lab_point;
# 20 "/p/k.go"
static inline int helper(int x) { return ({ int y = x; y; }); }
uint32_t lab_sum(const uint32_t *xs, uint32_t n, ...);
"""


def test_declarations_are_kept_from_the_wanted_files_only() -> None:
    def keep(file: str) -> Place | None:
        if file == "/p/lab.h":
            return Place("header", "include/lab.h", None)
        if file == "/p/k.go":
            return Place("cgo", "k.go", None)
        return None

    functions, defined, records = parse_declarations(PREPROCESSED, "x.i", keep)
    by_name = {f.name: f for f in functions}
    assert set(by_name) == {"lab_version", "lab_sum"}
    assert by_name["lab_version"].place == Place("header", "include/lab.h", 3)
    assert by_name["lab_version"].spelled == ()
    assert by_name["lab_sum"].place == Place("cgo", "k.go", 21)
    assert by_name["lab_sum"].spelled == ("const uint32_t *xs", "uint32_t n", "...")
    assert by_name["lab_sum"].spelled_ret == "uint32_t"
    assert defined == {"helper"}
    assert [(n, p.line) for n, p, _ in records] == [("struct lab_stats", 5), ("lab_point", 6)]


def test_unparseable_c_is_a_usage_error_naming_the_file_and_line() -> None:
    from relbuild.errors import UsageError

    with pytest.raises(UsageError, match=r"k\.go:2"):
        parse_declarations('# 1 "k.go"\nint ok;\nint broken(;\n', "x.i", lambda f: None)


def test_strip_bodies_keeps_lines_and_structs() -> None:
    text = "int f(int a) {\n  return a;\n}\nstruct s { int a; };\nint g[2] = {1, 2};\n"
    out = strip_bodies(text)
    assert out.count("\n") == text.count("\n")
    assert "return" not in out
    assert "struct s { int a; }" in out
    assert "{1, 2}" in out


def _ar(members: list[tuple[str, bytes]], index: dict[str, int]) -> bytes:
    """A GNU archive whose symbol index maps names to member numbers."""

    def header(name: str, size: int) -> bytes:
        return f"{name:<16}{0:<12}{0:<6}{0:<6}{644:<8}{size:<10}`\n".encode()

    names = list(index)
    table_size = 4 + 4 * len(names) + sum(len(n) + 1 for n in names)
    pos = 8 + 60 + table_size + (table_size & 1)
    offsets = []
    for _, body in members:
        offsets.append(pos)
        pos += 60 + len(body) + (len(body) & 1)
    table = len(names).to_bytes(4, "big")
    table += b"".join(offsets[index[n]].to_bytes(4, "big") for n in names)
    table += b"".join(n.encode() + b"\0" for n in names)
    out = b"!<arch>\n" + header("/", len(table)) + table + (b"\n" if len(table) & 1 else b"")
    for name, body in members:
        out += header(name + "/", len(body)) + body + (b"\n" if len(body) & 1 else b"")
    return out


def test_archive_index_says_which_member_defines_what() -> None:
    data = _ar([("a.o", b"AAAA"), ("b.o", b"BBB")], {"lab_sum": 1, "lab_version": 0})
    members, index = _archive(data)
    assert index is not None
    assert members[index["lab_sum"]] == ("b.o", b"BBB")
    assert members[index["lab_version"]][0] == "a.o"


def test_archive_index_pointing_nowhere_is_not_trusted() -> None:
    data = bytearray(_ar([("a.o", b"AAAA")], {"f": 0}))
    data[8 + 60 + 4 : 8 + 60 + 8] = (12345).to_bytes(4, "big")
    members, index = _archive(bytes(data))
    assert index is None
    assert [m[0] for m in members.values()] == ["a.o"]


# --- config, manifest, diff ------------------------------------------------------


def _config_with(tmp_path: Path, extra: str) -> Path:
    from tests.conftest import CONFIG

    text = CONFIG.read_text().replace(
        'header = "crates/beacon-ffi/include/beacon.h"',
        'header = "crates/beacon-ffi/include/beacon.h"\n' + extra,
    )
    text = text.replace('"examples/beacon', f'"{CONFIG.parent / "examples/beacon"}')
    path = tmp_path / "toolchains.toml"
    path.write_text(text)
    return path


def test_an_opt_out_needs_a_reason_and_the_error_names_the_key(tmp_path: Path) -> None:
    from relbuild.config import load_config
    from relbuild.errors import ConfigError

    ok = load_config(_config_with(tmp_path, 'abi-allow = { beacon_fib = "Go never calls it" }'))
    assert ok.config.rust["beacon-ffi"].abi_allow == {"beacon_fib": "Go never calls it"}
    with pytest.raises(ConfigError) as info:
        load_config(_config_with(tmp_path, 'abi-allow = { beacon_fib = "  " }'))
    assert info.value.exit_code == 2
    assert "rust.beacon-ffi.abi-allow.beacon_fib" in str(info.value)


def _finding(waived: str | None = None) -> Finding:
    return Finding(
        target="x86_64-unknown-linux-gnu",
        kind="param-size",
        symbol="lab_sum",
        library="lab",
        program="labtool",
        message="parameter 2: `uint32_t n` in the cgo preamble is 4 bytes against 8 bytes "
        "`n: usize` in the Rust export",
        sides=[
            SideRecord(
                origin="cgo",
                file="cmd/labtool/main.go",
                line=9,
                declaration="uint64_t lab_sum(const uint32_t *xs, uint32_t n)",
            ),
            SideRecord(
                origin="rust",
                file="src/lib.rs",
                line=30,
                declaration="fn lab_sum(xs: *const u32, n: usize) -> u64",
            ),
        ],
        waived=waived,
    )


def test_findings_fail_the_build_unless_waived_and_waivers_are_recorded() -> None:
    from relbuild.errors import BuildError
    from relbuild.pipeline.abi import fail_on_findings, records

    checked = CheckedSymbol(
        name="lab_sum", kind="function", signature="fn(*u32, u64) -> u64", sha256="0" * 64
    )
    lib = LibraryResult(target="x86_64-unknown-linux-gnu", library="lab", checked=[checked])
    report = AbiReport(targets=[lib.target], libraries=[lib], findings=[_finding()])
    with pytest.raises(BuildError) as info:
        fail_on_findings(report)
    text = str(info.value)
    assert "x86_64-unknown-linux-gnu: lab_sum [param-size, lab / labtool]" in text
    assert "cgo    cmd/labtool/main.go:9: uint64_t lab_sum(const uint32_t *xs, uint32_t n)" in text
    assert "rust   src/lib.rs:30: fn lab_sum(xs: *const u32, n: usize) -> u64" in text

    waived = report.model_copy(update={"findings": [_finding("only called with small n")]})
    fail_on_findings(waived)
    (rec,) = records(waived)
    assert rec.symbols[0].signature == "fn(*u32, u64) -> u64"
    assert rec.waived[0].reason == "only called with small n"


def test_diff_reports_added_and_changed_signatures() -> None:
    from relbuild.proofs.diff import diff_manifests
    from relbuild.release.dist import AbiRecord, AbiSymbol, Manifest, ProjectRecord

    def manifest(version: str, symbols: dict[str, str]) -> Manifest:
        return Manifest(
            generator="relbuild test",
            project=ProjectRecord(name="lab", version=version),
            artifacts=[],
            abi=[
                AbiRecord(
                    target="x86_64-unknown-linux-gnu",
                    component="lab",
                    symbols=[
                        AbiSymbol(name=n, kind="function", signature=s, sha256=digest(s))
                        for n, s in symbols.items()
                    ],
                )
            ],
        )

    old = manifest("0.1.0", {"lab_sum": "fn(*u32, u64) -> u64", "lab_version": "fn() -> u32"})
    new = manifest(
        "0.2.0",
        {
            "lab_sum": "fn(*u32, u64, u32) -> u64",
            "lab_version": "fn() -> u32",
            "lab_reset": "fn() -> void",
        },
    )
    abi = [c for c in diff_manifests(old, new, "a", "b").changes if c.section == "abi"]
    assert [(c.change, c.name, c.old, c.new) for c in abi] == [
        ("added", "lab x86_64-unknown-linux-gnu lab_reset", None, "fn() -> void"),
        (
            "changed",
            "lab x86_64-unknown-linux-gnu lab_sum",
            "fn(*u32, u64) -> u64",
            "fn(*u32, u64, u32) -> u64",
        ),
    ]


def test_probe_drops_flags_that_would_leave_it_without_dwarf() -> None:
    from relbuild.abi.cdecl import probe_flags

    flags = ["-O2", "-g0", "-I/x", "-std=c11", "-flto=thin", "-s", "-DX=1", "-gdwarf-4"]
    assert probe_flags(flags) == ["-I/x", "-std=c11", "-DX=1"]


def test_the_abi_stage_keys_a_target_by_what_the_check_reads(tmp_path: Path) -> None:
    """A Go edit outside the cgo files reuses the last result; an edit to a
    cgo file, the staticlib or the header does not."""
    from relbuild.abi.boundary import Library, Paths, Program, TargetInput
    from relbuild.abi.cdecl import CCompiler
    from relbuild.pipeline.abi import _key

    module = tmp_path / "go"
    module.mkdir()
    (module / "go.mod").write_text("module example.com/m\n")
    (module / "cgo.go").write_text('package main\n// #include "lib.h"\nimport "C"\n')
    (module / "plain.go").write_text("package main\nfunc f() {}\n")
    lib = tmp_path / "liblab.a"
    lib.write_bytes(b"!<arch>\n")
    header = tmp_path / "lab.h"
    header.write_text("int lab(void);\n")
    target = TargetInput(
        "x86_64-unknown-linux-gnu",
        CCompiler("/nonexistent/zig", "x86_64-linux-gnu", {}, tmp_path / "work"),
        (Library("lab", lib, header),),
        (Program("tool", "/usr/bin/go", "./cmd/tool", module, {}, ("lab",)),),
    )
    shown = Paths(tmp_path)
    first = _key(target, shown)
    (module / "plain.go").write_text("package main\nfunc g() {}\n")
    assert _key(target, shown) == first
    for path, text in [
        (module / "cgo.go", 'package main\n// #include "lib.h"\n// int x;\nimport "C"\n'),
        (header, "int lab(int);\n"),
        (module / "go.sum", "example.com/x v1.0.0 h1:abc=\n"),
    ]:
        before = _key(target, shown)
        path.write_text(text)
        assert _key(target, shown) != before, path
    before = _key(target, shown)
    lib.write_bytes(b"!<arch>\nchanged")
    assert _key(target, shown) != before


def test_abi_result_reused_when_only_the_librarys_unread_bytes_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build's ABI stage keeps each target's result twice: under all its
    inputs, and under all but the staticlib's bytes with a digest of what the
    check read of the staticlib. A staticlib whose bytes changed but whose
    exports and signatures did not gives the kept result without a check."""
    archive = tmp_path / "libk.a"
    archive.write_bytes(b"!<arch>\nversion 1")
    header = tmp_path / "k.h"
    header.write_text("int k(int);\n")
    zig = tmp_path / "zig"
    zig.write_text("")
    t = TargetInput(
        "x86_64-unknown-linux-gnu",
        CCompiler(str(zig), "x86_64-linux-gnu", {}, tmp_path / "work"),
        (Library("k", archive, header),),
        (),
    )
    exports = {"k": "digest-1"}
    checks: list[str] = []

    def check(t: TargetInput, paths: Paths) -> Checked:
        checks.append(t.triple)
        result = LibraryResult(target=t.triple, library="k", checked=[], unchecked=[exports["k"]])
        return Checked([result], [], frozenset({"k"}), dict(exports))

    monkeypatch.setattr(stage, "check_target_read", check)
    monkeypatch.setattr(stage, "export_digests", lambda t, wanted, paths: dict(exports))
    shown, folder = Paths(tmp_path), tmp_path / "results"

    first, _ = stage._remembered(t, shown, folder)
    assert len(checks) == 1
    assert stage._remembered(t, shown, folder)[0] == first  # every input the same
    archive.write_bytes(b"!<arch>\nversion 2")  # a body changed, not an export
    assert stage._remembered(t, shown, folder)[0] == first
    assert len(checks) == 1
    archive.write_bytes(b"!<arch>\nversion 3")
    exports["k"] = "digest-2"  # what the check reads changed
    again, _ = stage._remembered(t, shown, folder)
    assert len(checks) == 2 and again[0].unchecked == ["digest-2"]
    header.write_text("long k(long);\n")  # the C side changed: checked again
    stage._remembered(t, shown, folder)
    assert len(checks) == 3
