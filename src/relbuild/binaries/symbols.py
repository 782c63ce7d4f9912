"""Symbol names of a firmware: demangled (Rust's v0 and legacy manglings,
through rustc's own demangler, the rustc-demangle crate, as packaged by
pyderust) and attributed to the crate that holds their code.

The crate of a v0 symbol is read from the mangled path itself, not the
demangled text: ``<beacon_fw::rt::Line as core::fmt::Write>::write_str``
is the same text for a method the impl in beacon_fw defines (crate
beacon_fw) and for a provided method of the trait (crate core), while the
mangling says which it is (``X``: an impl, whose path names its crate;
``Y``: the trait's own method)."""

from __future__ import annotations

import re

import pyderust

UNKNOWN = "?"
# Symbols with C names that the Rust runtime crates define on bare metal.
_BUILTINS = re.compile(
    r"^(__aeabi_\w+|__(u?div|u?mod|mul|ash[lr]|lshr|clz|ctz|popcount|cmp|ucmp|neg)\w*[sdt]i\d"
    r"|__udivmod\w+|__divmod\w+|mem(cpy|set|move|cmp)|bcmp|strlen|__\w+sf\d|__\w+df\d)$"
)
_LEGACY_CRATE = re.compile(r"^_ZN(\d+)")
_IDENT = re.compile(r"(\d+)(_?)")
MAX_NAME = 4096


def demangle(name: str) -> str:
    """The readable name; the name itself when it is not a Rust mangling."""
    if len(name) > MAX_NAME or not (name.startswith(("_R", "_ZN", "__ZN"))):
        return name
    try:
        return pyderust.demangle(name)
    except ValueError:
        return name


def crate_of(name: str) -> str:
    """The crate whose code the symbol ``name`` (mangled) is; ``?`` when
    the name does not say."""
    if len(name) > MAX_NAME:
        return UNKNOWN
    if name.startswith("_R"):
        return _V0(name).crate() or UNKNOWN
    plain = name[1:] if name.startswith("__ZN") else name
    legacy = _LEGACY_CRATE.match(plain)
    if legacy:
        start = legacy.end()
        ident = plain[start : start + int(legacy.group(1))]
        return _legacy_crate(demangle(name)) or ident or UNKNOWN
    if _BUILTINS.match(name):
        return "compiler_builtins"
    return UNKNOWN


def _legacy_crate(text: str) -> str | None:
    """`<a::T as b::Trait>::m` -> a; `a::b::c` -> a."""
    if text.startswith("<"):
        text = text[1:]
    head = re.match(r"[&*]*(?:mut |const )?([A-Za-z_][A-Za-z0-9_]*)::", text)
    return head.group(1) if head else None


class _V0:
    """Just enough of the v0 grammar to find a path's crate root:
    C (crate root), N (nested), M/X (impls, by their impl path), Y (trait
    methods: the trait's path, after a type), I (generic args), B (backref)."""

    def __init__(self, name: str) -> None:
        self.s = name[2:]
        self.depth = 0

    def crate(self) -> str | None:
        i = 0
        while i < len(self.s) and self.s[i].isdigit():
            i += 1  # an encoding version
        return self._path(i)

    def _path(self, i: int) -> str | None:
        self.depth += 1
        if self.depth > 64 or i >= len(self.s):
            return None
        tag = self.s[i]
        if tag == "C":
            return self._ident(self._disambiguator(i + 1))
        if tag == "N":
            return self._path(i + 2)
        if tag == "I":
            return self._path(i + 1)
        if tag in "MX":
            return self._path(self._disambiguator(i + 1))
        if tag == "B":
            target = self._base62(i + 1)
            return None if target is None or target >= i else self._path(target)
        if tag == "Y":
            return self._trait_after_type(i + 1)
        return None

    def _trait_after_type(self, i: int) -> str | None:
        """Y<type><trait path>: the type is a path or a backref in what
        rustc emits for a provided method; anything else is left unknown."""
        if i >= len(self.s):
            return None
        end = self._skip_path(i)
        return None if end is None else self._path(end)

    def _skip_path(self, i: int) -> int | None:
        self.depth += 1
        if self.depth > 64 or i >= len(self.s):
            return None
        tag = self.s[i]
        if tag == "C":
            return self._ident_end(self._disambiguator(i + 1))
        if tag == "N":
            inner = self._skip_path(i + 2)
            return None if inner is None else self._ident_end(self._disambiguator(inner))
        if tag == "B":
            end = self.s.find("_", i + 1)
            return None if end < 0 else end + 1
        return None

    def _disambiguator(self, i: int) -> int:
        if i < len(self.s) and self.s[i] == "s":
            end = self.s.find("_", i + 1)
            return len(self.s) if end < 0 else end + 1
        return i

    def _base62(self, i: int) -> int | None:
        end = self.s.find("_", i)
        if end < 0:
            return None
        digits = self.s[i:end]
        if not digits:
            return 0
        value = 0
        for ch in digits:
            if ch.isdigit():
                value = value * 62 + ord(ch) - 48
            elif ch.islower():
                value = value * 62 + ord(ch) - 87
            elif ch.isupper():
                value = value * 62 + ord(ch) - 29
            else:
                return None
        return value + 1

    def _ident(self, i: int) -> str | None:
        m = _IDENT.match(self.s, i + (1 if self.s[i : i + 1] == "u" else 0))
        if m is None:
            return None
        start = m.end()
        return self.s[start : start + int(m.group(1))] or None

    def _ident_end(self, i: int) -> int | None:
        m = _IDENT.match(self.s, i + (1 if self.s[i : i + 1] == "u" else 0))
        if m is None:
            return None
        return m.end() + int(m.group(1))
