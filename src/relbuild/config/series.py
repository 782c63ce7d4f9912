"""`[history]` and `[regressions]` of toolchains.toml: where the release
history lives, and how much a release may grow before `relbuild history
check` warns or fails (docs/releases.md).

A limit is a percentage of the baseline (``"3%"``), a number of bytes
(``"512 B"``, ``"4 KiB"``) or of seconds (``"2 s"``, ``"500 ms"``). A measure
takes one limit (the fail level) or ``{ warn = ..., fail = ... }``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field, field_validator

from relbuild.config.base import Model

_LIMIT = re.compile(
    r"^\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>%|B|KiB|MiB|GiB|kB|MB|s|ms)\s*$",
)
_FACTOR = {
    "B": 1,
    "kB": 1000,
    "MB": 1000**2,
    "KiB": 1024,
    "MiB": 1024**2,
    "GiB": 1024**3,
    "s": 1,
    "ms": 0.001,
}
LimitKind = Literal["percent", "bytes", "seconds"]


@dataclass(frozen=True)
class Limit:
    kind: LimitKind
    amount: float  # percent, bytes or seconds

    def allowed(self, baseline: float) -> float:
        """The growth over ``baseline`` this limit allows, in its unit."""
        return baseline * self.amount / 100 if self.kind == "percent" else self.amount

    def __str__(self) -> str:
        if self.kind == "percent":
            return f"{self.amount:g}%"
        return f"{self.amount:g} B" if self.kind == "bytes" else f"{self.amount:g} s"


def parse_limit(text: str) -> Limit:
    m = _LIMIT.match(text)
    if m is None:
        raise ValueError(
            f"'{text}' is not a limit: write a percentage ('3%'), bytes ('512 B', '4 KiB') "
            "or seconds ('2 s', '500 ms')"
        )
    n, unit = float(m["n"]), m["unit"]
    if unit == "%":
        return Limit("percent", n)
    return Limit("seconds" if unit in ("s", "ms") else "bytes", n * _FACTOR[unit])


class Levels(Model):
    warn: str | None = None
    fail: str | None = None

    @field_validator("warn", "fail")
    @classmethod
    def _limit(cls, value: str | None) -> str | None:
        if value is not None:
            parse_limit(value)
        return value


def _check(value: str | Levels, unit: str) -> str | Levels:
    levels = value if isinstance(value, Levels) else Levels(fail=value)
    for text in (levels.warn, levels.fail):
        if text is not None and parse_limit(text).kind not in ("percent", unit):
            raise ValueError(f"'{text}': this measure takes a percentage or {unit}")
    return value


Bytes = Annotated[str | Levels, Field(description="'3%', '512 B' or { warn, fail }")]
Seconds = Annotated[str | Levels, Field(description="'20%', '2 s' or { warn, fail }")]


class Regressions(Model):
    """How much a release may grow against its baseline. Sizes are exact;
    a time fails only when its growth is over the limit *and* over
    ``noise`` times the baseline's spread (docs/releases.md)."""

    size: Bytes = Levels(warn="1%", fail="5%")
    flash: Bytes = Levels(warn="1%", fail="5%")
    ram: Bytes = Levels(warn="1%", fail="5%")
    build_cpu: Seconds = Levels(warn="10%", fail="25%")
    build_time: Seconds = Levels(warn="20%", fail="50%")
    checksum_time: Seconds = Levels(warn="20%", fail="50%")
    noise: Annotated[float, Field(gt=0, description="k: times the baseline's scaled MAD")] = 3.0
    baseline: Annotated[int, Field(ge=1, le=100, description="releases in the baseline")] = 5

    @field_validator("size", "flash", "ram")
    @classmethod
    def _bytes(cls, value: str | Levels) -> str | Levels:
        return _check(value, "bytes")

    @field_validator("build_cpu", "build_time", "checksum_time")
    @classmethod
    def _seconds(cls, value: str | Levels) -> str | Levels:
        return _check(value, "seconds")

    def levels(self, measure: str) -> tuple[Limit | None, Limit | None]:
        """(warn, fail) limits of ``measure`` ('size', 'build-cpu', ...)."""
        value = getattr(self, measure.replace("-", "_"))
        levels = value if isinstance(value, Levels) else Levels(fail=value)
        return (
            parse_limit(levels.warn) if levels.warn else None,
            parse_limit(levels.fail) if levels.fail else None,
        )


class History(Model):
    """`[history]`: the release history that `relbuild build` adds to."""

    db: Annotated[str, Field(min_length=1, description="relative to this file")] = (
        ".relbuild/history.sqlite"
    )
