"""The C side: which functions and structs a header or a cgo preamble
declares, where, and their types for one target.

The pinned zig preprocesses the file for the target (``zig cc -E``), and
pycparser reads the result: that gives each declaration's name and its file
and line (from the line markers), so declarations of system headers can be
told from the file's own. Their types are then asked of the compiler itself:
a probe file includes the same source and declares one variable per
function (``__typeof__(f) *``) and per struct, and zig compiles it with
``-g`` for the target; objects.py reads the variables' types. So typedef
chains, ``char``'s signedness, ``long``'s size, enum sizes, bit-fields and
``packed``/``aligned`` attributes are what the target's C compiler says,
not a model of it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relbuild.abi import objects
from relbuild.abi.model import CView, Declared, FuncType, Place, Pointer, Record
from relbuild.errors import UsageError
from relbuild.system import proc

PROBE = "__relbuild_abi_"

# What pycparser cannot read, turned into what it can. Only the parse sees
# these: the probe is compiled without them.
_DEFINES = [
    "-D__attribute__(x)=",
    "-D__attribute(x)=",
    "-D__asm__(x)=",
    "-D__asm(x)=",
    "-D__extension__=",
    "-D__inline=inline",
    "-D__inline__=inline",
    "-D__restrict=restrict",
    "-D__restrict__=restrict",
    "-D__volatile__=volatile",
    "-D__const=const",
    "-D__signed__=signed",
    "-D__alignof__(x)=8",
    "-D__alignof(x)=8",
    "-D__builtin_offsetof(t,m)=0",
    "-D__int128=long",
    "-D_Float16=float",
    "-D__fp16=float",
    "-D__bf16=float",
    # glibc's bits/floatn.h: `typedef __float128 _Float128;` and friends.
    "-D__float128=long double",
    "-D__ibm128=long double",
    "-D_Nonnull=",
    "-D_Nullable=",
    "-D_Null_unspecified=",
    # Apple's headers declare block (`^`) variants of libc functions where
    # the compiler has blocks, which clang turns on for macOS.
    "-fno-blocks",
]
_PRELUDE = (
    "typedef struct __relbuild_va_list *__builtin_va_list;"
    "typedef struct __relbuild_u128 __uint128_t;"
    "typedef struct __relbuild_i128 __int128_t;\n"
)
# musl's __REDIR: `__typeof__(time) time __asm__("__time64");`
_REDIR = re.compile(r"__typeof__\s*\(\s*(\w+)\s*\)\s*\1\s*;")


@dataclass(frozen=True)
class CCompiler:
    """The pinned zig as the target's C compiler."""

    zig: str
    zig_target: str
    env: Mapping[str, str]
    work: Path  # scratch folder for probes

    def run(self, args: Sequence[str], what: str) -> str:
        argv = [self.zig, "cc", "-target", self.zig_target, *args]
        res = proc.run(argv, env=self.env, cwd=self.work, check=False)
        if res.returncode != 0:
            raise UsageError(
                f"{what}: the C compiler (zig cc -target {self.zig_target}) refused it:\n"
                f"{proc.tail(res.stderr)}"
            )
        return res.stdout


def strip_bodies(text: str) -> str:
    """Function bodies emptied (line count kept): only declarations matter,
    and bodies are where GNU C that pycparser cannot read lives."""
    out: list[str] = []
    i, n = 0, len(text)
    last = ""
    depth_paren = 0
    while i < n:
        c = text[i]
        if c == "#" and (i == 0 or text[i - 1] == "\n"):
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(text[i:end])
            i = end
            continue
        if c in "\"'":
            end = _skip_literal(text, i)
            out.append(text[i:end])
            last = c
            i = end
            continue
        if c == "(":
            depth_paren += 1
        elif c == ")":
            depth_paren = max(0, depth_paren - 1)
        if c == "{" and last == ")" and depth_paren == 0:
            end = _match_brace(text, i)
            out.append("{" + "\n" * text.count("\n", i, end) + "}")
            last = "}"
            i = end
            continue
        if c == "{":
            # A struct, union, enum or initializer: keep, and look inside.
            end = _match_brace(text, i)
            out.append(text[i:end])
            last = "}"
            i = end
            continue
        out.append(c)
        if not c.isspace():
            last = c
        i += 1
    return "".join(out)


def _skip_literal(text: str, i: int) -> int:
    quote = text[i]
    j = i + 1
    while j < len(text) and text[j] != quote and text[j] != "\n":
        j += 2 if text[j] == "\\" else 1
    return min(j + 1, len(text))


def _match_brace(text: str, i: int) -> int:
    depth = 0
    j = i
    while j < len(text):
        c = text[j]
        if c in "\"'":
            j = _skip_literal(text, j)
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    return len(text)


@dataclass(frozen=True)
class _Found:
    name: str
    place: Place
    spelled: tuple[str, ...]
    spelled_ret: str


def parse_declarations(
    text: str, filename: str, keep: Callable[[str], Place | None]
) -> tuple[list[_Found], set[str], list[tuple[str, Place, str]]]:
    """(functions declared, functions defined, struct definitions as
    (C name, place, probe type)) in the files ``keep`` accepts."""
    from pycparser import c_ast, c_generator, c_parser

    source = _PRELUDE + strip_bodies(_REDIR.sub(";", text))
    try:
        ast = c_parser.CParser().parse(source, filename)
    except c_parser.ParseError as exc:
        raise UsageError(
            f"cannot parse the C declarations of {filename}: {exc}",
            hint="pycparser reads standard C11; GNU extensions outside function bodies "
            "(statement expressions, __typeof__ declarations) are not understood.",
        ) from None
    except (RecursionError, AssertionError) as exc:
        raise UsageError(f"cannot parse the C declarations of {filename}: {exc}") from None
    gen = c_generator.CGenerator()
    functions: list[_Found] = []
    defined: set[str] = set()
    records: list[tuple[str, Place, str]] = []

    def place_of(node: Any) -> Place | None:
        coord = node.coord
        if coord is None or not coord.file:
            return None
        found = keep(coord.file)
        return None if found is None else Place(found.origin, found.file, coord.line)

    def record(node: Any, typedef: str | None, where: Place | None) -> None:
        if where is None or node.decls is None:
            return
        kind = "union" if isinstance(node, c_ast.Union) else "struct"
        if node.name:
            records.append((f"{kind} {node.name}", where, f"{kind} {node.name}"))
        elif typedef:
            records.append((typedef, where, typedef))

    for ext in ast.ext:
        if isinstance(ext, c_ast.FuncDef):
            defined.add(ext.decl.name)
            continue
        where = place_of(ext)
        if isinstance(ext, c_ast.Typedef):
            inner = ext.type.type if isinstance(ext.type, c_ast.TypeDecl) else None
            if isinstance(inner, c_ast.Struct | c_ast.Union):
                record(inner, ext.name, where)
            continue
        if not isinstance(ext, c_ast.Decl):
            continue
        if isinstance(ext.type, c_ast.Struct | c_ast.Union):
            record(ext.type, None, where)
            continue
        if not isinstance(ext.type, c_ast.FuncDecl) or where is None:
            continue
        if "static" in (ext.storage or []):
            continue
        functions.append(_function(ext, where, gen))
    return functions, defined, records


def _function(ext: Any, where: Place, gen: Any) -> _Found:
    """A declaration's name, place and spelling (per parameter, and the
    return type), for messages."""
    from pycparser import c_ast

    func = ext.type
    params = []
    for p in func.args.params if func.args else []:
        params.append("..." if isinstance(p, c_ast.EllipsisParam) else gen.visit(p))
    if params == ["void"]:
        params = []
    ret = gen.visit(func.type).strip()
    ret = ret.removesuffix(ext.name).strip() if ext.name else ret
    return _Found(ext.name, where, tuple(params), ret)


def probe_flags(flags: Sequence[str]) -> list[str]:
    """The program's C flags without those that would keep the probe from
    being an object with DWARF: zig honours a -g0 even before a later -g,
    and -flto makes bitcode."""
    return [f for f in flags if not f.startswith(("-g", "-O", "-flto")) and f != "-s"]


def read_view(
    cc: CCompiler,
    source: Path,
    flags: Sequence[str],
    keep: Callable[[str], Place | None],
    label: str,
    display: Callable[[str], str] = lambda p: p,
) -> CView:
    """The C view of ``source`` (a header, or a preamble written as a C file)."""
    text = cc.run(["-E", "-x", "c", *_DEFINES, *flags, str(source)], label)
    functions, defined, records = parse_declarations(text, str(source), keep)
    view = CView(defined=defined)
    probe_lines = [f'#include "{source}"']
    names: dict[str, str] = {}
    for i, f in enumerate(functions):
        if f.name in defined:
            continue
        var = f"{PROBE}fn_{i}"
        names[var] = f.name
        probe_lines.append(f"__typeof__({f.name}) *{var};")
    for i, (cname, _, ctype) in enumerate(records):
        var = f"{PROBE}st_{i}"
        names[var] = cname
        probe_lines.append(f"{ctype} {var};")
    probe = cc.work / f"probe-{os.getpid()}-{source.stem}.c"
    obj = probe.with_suffix(".o")
    probe.write_text("\n".join(probe_lines) + "\n")
    try:
        # -gdwarf: for Windows, zig's clang writes CodeView alone on -g.
        argv = ["-c", *probe_flags(flags), "-g", "-gdwarf", "-O0", "-w", "-o", str(obj)]
        cc.run([*argv, str(probe)], label)
        shapes = objects.read_probe(obj.read_bytes(), PROBE, display)
    finally:
        probe.unlink(missing_ok=True)
        obj.unlink(missing_ok=True)
    by_name = {names[var]: shape for var, shape in shapes.items() if var in names}
    for f in functions:
        if f.name in defined:
            continue
        shape = by_name.get(f.name)
        sig = shape.to if isinstance(shape, Pointer) else None
        view.functions[f.name] = Declared(
            f.name,
            sig if isinstance(sig, FuncType) else None,
            f.place,
            f.spelled,
            f.spelled_ret,
        )
    for cname, where, _ in records:
        shape = by_name.get(cname)
        if isinstance(shape, Record):
            view.records[cname] = (shape, where)
    return view
