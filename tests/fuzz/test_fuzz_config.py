"""The config reader on mutated toolchains.toml files: a config or a
ConfigError (exit 2) naming the file, never another exception."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from relbuild.config.loader import parse_config
from relbuild.errors import ConfigError
from tests.conftest import CONFIG
from tests.fuzz.conftest import examples
from tests.fuzz.mutate import mutated_bytes

SEED = CONFIG.read_text()
LINES = SEED.splitlines()

# TOML values that reach the corners of the reader: regexes Python cannot
# compile, numbers past every bound, nesting, dates, escapes, wrong types.
NASTY_VALUES = [
    '"a{4294967295}"', '"' + "(" * 500 + ")" * 500 + '"', '"(?P<x>"', '"[z-a]"',
    "9223372036854775808", "-1", "1e999", "inf", "nan", "0x7fffffff", "true",
    "1979-05-27T07:32:00Z", "1979-02-30", "24:00:00", '"\\u0000"', '"\\u001b[2J"',
    "[" * 200 + "]" * 200, "{ a = { b = { c = 1 } } }", "[]", "{}", '""', "'''x'''",
    '"../../etc"', '"/dev/zero"', '{ expect = "(((" }', "[1, \"a\"]",
]  # fmt: skip
KEYS = ["expect", "timeout", "triple", "kind", "linker", "budget", "flash", "ram", "exit-code"]


@st.composite
def mutated_config(draw: st.DrawFn) -> bytes:
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["value", "value", "insert", "drop", "dup", "rename", "table"]))
        line = lines[at]
        if op == "value" and "=" in line:
            key = line.split("=", 1)[0]
            value = draw(st.sampled_from(NASTY_VALUES) | st.text(max_size=20).map(repr))
            lines[at] = f"{key}= {value}"
        elif op == "insert":
            key = draw(st.sampled_from(KEYS) | st.text(min_size=1, max_size=8))
            lines.insert(at, f"{key!r} = {draw(st.sampled_from(NASTY_VALUES))}")
        elif op == "drop":
            del lines[at]
        elif op == "dup":
            lines.insert(at, line)
        elif op == "rename" and "=" in line:
            lines[at] = "x" + line
        elif op == "table":
            lines.insert(
                at, draw(st.sampled_from(["[[targets]]", "[rust.x]", "[go.x]", "[project]"]))
            )
    return "\n".join(lines).encode()


def check(raw: bytes) -> None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return  # read_text refuses it, naming the file, before parse_config
    try:
        parse_config(text, CONFIG)
    except ConfigError as exc:
        assert str(CONFIG) in str(exc)


def test_seed_is_valid() -> None:
    parse_config(SEED, CONFIG)


_FW_TEST = next(line for line in LINES if line.startswith("test = { expect = '^beacon-fw"))


@settings(max_examples=examples(100))
@given(st.one_of(mutated_config(), mutated_bytes(SEED.encode(), max_edits=3)))
@example(SEED.replace(_FW_TEST, "test = { expect = 'a{4294967295}' }").encode())
@example(SEED.replace(_FW_TEST, "test = { expect = '" + "(" * 500 + ")" * 500 + "' }").encode())
@example((SEED + "\nx = " + "[" * 3000 + "]" * 3000 + "\n").encode())
def test_config_reader(raw: bytes) -> None:
    check(raw)
