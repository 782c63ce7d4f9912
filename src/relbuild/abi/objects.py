"""The two readers of objects behind the ABI check: the exported functions
of a static library (symbol tables of its members, signatures from the
DWARF of the members that define them) and the probe object that cdecl.py
has the pinned zig compile, whose variables ``__relbuild_*`` carry the C
side's types as the target's C compiler lays them out.

Objects are ELF, COFF or Mach-O (objfile.py); both readers turn their DWARF
into shapes with dwarf.py's converter. ar archives are read here: GNU ones
(Linux, Windows) and BSD ones (macOS: ``#1/N`` names, a ``__.SYMDEF``
index whose names carry Mach-O's ``_``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from relbuild.abi.dwarf import DIE, Converter, Files, name_of, type_of, walk_dies
from relbuild.abi.model import Declared, ExportView, Place, Shape
from relbuild.abi.objfile import OBJECT_ERRORS, ObjectFile, object_format, read_object
from relbuild.errors import UsageError


def read_exports(
    path: Path, wanted: set[str], display: Callable[[str], str] = lambda p: p
) -> ExportView:
    """The functions a static library (or one object) defines and exports,
    and the DWARF signatures of those in ``wanted``.

    The archive's own symbol index says which member defines what, so only
    the members that define a wanted symbol are parsed: a staticlib that
    uses std holds hundreds of objects with debug info.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    if object_format(data) is not None:
        objects = {0: (path.name, data)}
        index: dict[str, int] | None = None
    elif data[:8] == b"!<arch>\n":
        objects, index = _archive(data)
    else:
        raise UsageError(f"{path}: neither an ELF, COFF or Mach-O object nor an ar archive")
    view = ExportView()
    if index is not None:
        view.symbols = set(index)
        todo = sorted({index[name] for name in wanted if name in index})
    else:
        todo = sorted(objects)
    for offset in todo:
        member, body = objects[offset]
        if object_format(body) is None:
            continue  # an import member, a bitcode file, text
        what = f"{path.name}({member})"
        defined = read_object(body, what, with_dwarf=False).functions
        if index is None:
            view.symbols |= defined
        view.code |= defined & wanted
        if defined & wanted:
            obj = read_object(body, what)
            try:
                _signatures(obj, defined & wanted, view, display)
            except OBJECT_ERRORS as exc:
                raise UsageError(f"{what}: unreadable DWARF ({exc})") from None
    if index is not None:
        # The index lists data too: keep only what a member defines as code.
        view.symbols = {n for n in view.symbols if n not in wanted or n in _functions_seen(view)}
    return view


def _functions_seen(view: ExportView) -> set[str]:
    return set(view.functions) | view.code


_BSD_INDEX = {"__.SYMDEF": 4, "__.SYMDEF SORTED": 4, "__.SYMDEF_64": 8, "__.SYMDEF_64 SORTED": 8}


def _archive(data: bytes) -> tuple[dict[int, tuple[str, bytes]], dict[str, int] | None]:
    """Members by header offset, and the symbol index (C name -> member
    offset) when the archive has one. Malformed input ends the walk."""
    members: dict[int, tuple[str, bytes]] = {}
    index: dict[str, int] | None = None
    names = b""
    pos = 8
    while pos + 60 <= len(data):
        header = data[pos : pos + 60]
        name = header[:16].decode("ascii", "replace").strip()
        try:
            size = int(header[48:58].decode("ascii").strip())
        except ValueError:
            break
        if size < 0 or header[58:60] != b"`\n" or pos + 60 + size > len(data):
            break
        body = data[pos + 60 : pos + 60 + size]
        if name.startswith("#1/") and name[3:].isdigit():
            # BSD ar (Apple's): the name is the member's first N bytes.
            n = int(name[3:])
            if n > size:
                break
            name, body = body[:n].rstrip(b"\0").decode("utf-8", "replace"), body[n:]
        if name in ("/", "/SYM64/"):
            index = _symbol_index(body, 8 if name == "/SYM64/" else 4)
        elif name in _BSD_INDEX:
            index = _bsd_index(body, _BSD_INDEX[name])
        elif name == "//":
            names = body
        else:
            if name.startswith("/") and name[1:].isdigit() and names:
                start = int(name[1:])
                end = names.find(b"/\n", start)
                name = names[start:end].decode("utf-8", "replace")
            members[pos] = (name.rstrip("/"), body)
        pos += 60 + size + (size & 1)
    if index is not None and not all(offset in members for offset in index.values()):
        index = None  # an index that points nowhere is not trusted
    return members, index


def _symbol_index(body: bytes, width: int) -> dict[str, int] | None:
    """The GNU index: a count, the members' offsets, the names (big-endian)."""
    if len(body) < width:
        return None
    count = int.from_bytes(body[:width], "big")
    table_end = width + count * width
    if count > len(body) or table_end > len(body):
        return None
    offsets = [
        int.from_bytes(body[width + i * width : width + (i + 1) * width], "big")
        for i in range(count)
    ]
    names = body[table_end:].split(b"\0")
    if len(names) < count:
        return None
    return {names[i].decode("utf-8", "replace"): offsets[i] for i in range(count)}


def _bsd_index(body: bytes, width: int) -> dict[str, int] | None:
    """The BSD index (little-endian, as LLVM writes it for Darwin): the size
    of a table of (name offset, member offset) pairs, the table, the size of
    the names, the names. Mach-O symbol names lose their ``_`` here; others
    are no C function."""

    def word(at: int) -> int:
        return int.from_bytes(body[at : at + width], "little")

    if len(body) < width:
        return None
    table = word(0)
    names_at = width + table + width
    if table % (2 * width) or names_at > len(body):
        return None
    names = body[names_at : names_at + word(width + table)]
    out: dict[str, int] = {}
    for at in range(width, width + table, 2 * width):
        start = word(at)
        if start >= len(names):
            return None
        raw = names[start : names.find(b"\0", start) % (len(names) + 1)]
        name = raw.decode("utf-8", "replace")
        if name.startswith("_"):
            out.setdefault(name[1:], word(at + width))
    return out


def _signatures(
    obj: ObjectFile, names: set[str], view: ExportView, display: Callable[[str], str]
) -> None:
    dwarf = obj.dwarf
    if dwarf is None:
        return
    convert = Converter(obj.pointer_size)
    for cu in dwarf.iter_CUs():
        files = Files(dwarf, cu)

        def locate(die: DIE, files: Files = files) -> tuple[str, int | None]:
            file, line = files(die)
            return display(file), line

        convert.locate = locate
        for die in walk_dies(cu.get_top_DIE()):
            if die.tag != "DW_TAG_subprogram" or die.attributes.get("DW_AT_declaration"):
                continue
            origin = die
            for key in ("DW_AT_abstract_origin", "DW_AT_specification"):
                if key in origin.attributes:
                    origin = origin.get_DIE_from_attribute(key)
            name = name_of(origin)
            linkage = origin.attributes.get("DW_AT_linkage_name")
            if linkage is not None:
                name = linkage.value.decode("utf-8", "replace")
            if name not in names or name in view.functions:
                continue
            file, line = locate(origin)
            sig = convert.function(die if _has_params(die) else origin)
            view.functions[name] = Declared(name, sig, Place("rust", file, line))


def _has_params(die: DIE) -> bool:
    return "DW_AT_type" in die.attributes or any(
        c.tag == "DW_TAG_formal_parameter" for c in die.iter_children()
    )


def read_probe(
    data: bytes, prefix: str, display: Callable[[str], str] = lambda p: p
) -> dict[str, Shape]:
    """Types of the probe object's variables named ``prefix...``."""
    what = "the C probe object"
    obj = read_object(data, what)
    try:
        return _probe_shapes(obj, prefix, display)
    except OBJECT_ERRORS as exc:
        raise UsageError(f"{what}: unreadable DWARF ({exc})") from None


def _probe_shapes(obj: ObjectFile, prefix: str, display: Callable[[str], str]) -> dict[str, Shape]:
    out: dict[str, Shape] = {}
    info = obj.dwarf
    if info is None:
        return out
    convert = Converter(obj.pointer_size)
    for cu in info.iter_CUs():
        files = Files(info, cu)

        def locate(die: DIE, files: Files = files) -> tuple[str, int | None]:
            file, line = files(die)
            return display(file), line

        convert.locate = locate
        for die in cu.get_top_DIE().iter_children():
            if die.tag == "DW_TAG_variable" and name_of(die).startswith(prefix):
                shape = convert.shape(type_of(die))
                out[name_of(die)] = shape
    return out
