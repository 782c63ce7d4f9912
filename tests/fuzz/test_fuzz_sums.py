"""The SUMS reader on mutated SUMS files: never an exception; strict (blank
lines, duplicates and malformed lines are problems); the fast path and the
line-by-line path always agree; what relbuild writes reads back."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from relbuild.release.dist import ArtifactRecord
from relbuild.release.sums import (
    DIGEST_HEX,
    Algo,
    _parse_sums_slowly,
    parse_sums,
    sums_text,
)
from tests.fuzz.conftest import examples
from tests.fuzz.mutate import NASTY_STRINGS, mutated_bytes

D256 = ["0123456789abcdef" * 4, "f" * 64, "a" * 64]
SEED256 = "".join(f"{d} *dir/file{i}.bin\n" for i, d in enumerate(D256))
SEED512 = "".join(f"{d * 2}  file{i}\n" for i, d in enumerate(D256))


@st.composite
def mutated_lines(draw: st.DrawFn, seed: str) -> str:
    lines = seed.split("\n")
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(lines)))
        op = draw(st.sampled_from(["dup", "blank", "drop", "case", "cut", "crlf", "bsd", "junk"]))
        if op == "dup" and lines:
            lines.insert(at, lines[min(at, len(lines) - 1)])
        elif op == "blank":
            lines.insert(at, draw(st.sampled_from(["", " ", "\t"])))
        elif op == "drop" and lines:
            del lines[min(at, len(lines) - 1)]
        elif op == "case" and lines:
            lines[min(at, len(lines) - 1)] = lines[min(at, len(lines) - 1)].upper()
        elif op == "cut" and lines:
            line = lines[min(at, len(lines) - 1)]
            lines[min(at, len(lines) - 1)] = line[: draw(st.integers(0, len(line)))]
        elif op == "crlf" and lines:
            lines[min(at, len(lines) - 1)] += "\r"
        elif op == "bsd":
            lines.insert(at, f"SHA256 (x) = {D256[0]}")
        elif op == "junk":
            lines.insert(at, draw(st.sampled_from(NASTY_STRINGS) | st.text(max_size=40)))
    return "\n".join(lines)


def check(text: str, algo: Algo) -> None:
    sums = parse_sums(text, algo)
    assert sums == _parse_sums_slowly(text, algo)
    assert sums.problem_count >= len(sums.problems)
    for digest in sums.entries.values():
        assert len(digest) == DIGEST_HEX[algo] and digest == digest.lower()
    body = text[:-1] if text.endswith("\n") else text
    if text and any(not line.strip() for line in body.split("\n")):
        assert sums.problem_count, "a blank line passed"


@settings(max_examples=examples(300))
@given(
    st.one_of(
        mutated_lines(SEED256),
        mutated_bytes(SEED256.encode()).map(lambda b: b.decode("utf-8", "replace")),
        st.text(max_size=200),
    ),
    st.sampled_from(["sha256", "sha512"]),
)
@example(f"{'0' * 64}  a.txt\n{D256[0]}  a.txt\n", "sha256")  # wrong digest first, right one second
@example(f"{D256[0]}  a.txt\n\n", "sha256")  # a blank line
def test_sums_reader(text: str, algo: Algo) -> None:
    check(text, algo)


@settings(max_examples=examples(50))
@given(
    st.lists(
        st.tuples(
            st.from_regex(r"[A-Za-z0-9._-]{1,12}(/[A-Za-z0-9._-]{1,12}){0,2}", fullmatch=True),
            st.binary(min_size=32, max_size=32),
        ),
        max_size=20,
        unique_by=lambda t: t[0],
    )
)
def test_what_relbuild_writes_reads_back(items: list[tuple[str, bytes]]) -> None:
    arts = [
        ArtifactRecord(
            path=p,
            target=None,
            component=None,
            kind="file",
            size=0,
            mode="0644",
            sha256=h.hex(),
            sha512=(h * 2).hex(),
        )
        for p, h in items
    ]
    for algo in ("sha256", "sha512"):
        sums = parse_sums(sums_text(arts, algo), algo)
        assert sums.problems == [] and sums.entries == {a.path: getattr(a, algo) for a in arts}
