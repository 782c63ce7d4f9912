"""Parts of the toolchains.toml schema a component carries beside its
build: its smoke test, its unit-test coverage floor, and the images
bootloaders take from a firmware (UF2, MCUboot)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, field_validator

from relbuild.config.base import Model
from relbuild.config.patterns import MAX_REGEX_DEPTH, group_depth


class SmokeTest(Model):
    """A minimal run of the program, for `relbuild test`."""

    args: list[str] = []
    expect: Annotated[
        str, Field(description="regular expression the output must match (re.search, multiline)")
    ]
    exit_code: int = 0
    timeout: Annotated[float, Field(gt=0, le=3600, description="seconds")] = 30.0

    @field_validator("expect")
    @classmethod
    def _regex(cls, value: str) -> str:
        # Deep nesting exhausts the stack of Python's regex parser, or not,
        # depending on the recursion limit of the moment: refuse it by rule.
        if group_depth(value) > MAX_REGEX_DEPTH:
            raise ValueError(
                f"not a usable regular expression: groups nested too deeply "
                f"(more than {MAX_REGEX_DEPTH})"
            )
        try:
            re.compile(value, re.MULTILINE)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        except (OverflowError, RecursionError, MemoryError) as exc:
            # `a{4294967295}` overflows, 500 nested groups exhaust the stack.
            reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            raise ValueError(f"not a usable regular expression: {reason}") from None
        return value


class Coverage(Model):
    """The share of lines the unit tests must reach (`relbuild test --unit`)."""

    min: Annotated[float, Field(ge=0, le=100, description="percent of lines covered")]


class Uf2Config(Model):
    """A UF2 image for drag-and-drop bootloaders, written beside the .bin."""

    family: Annotated[
        str,
        Field(
            pattern=r"^0[xX][0-9A-Fa-f]{1,8}$",
            description="the board family ID, e.g. '0xADA52840' (nRF52840)",
            examples=["0xADA52840"],
        ),
    ]

    @property
    def family_id(self) -> int:
        return int(self.family, 16)


class McubootConfig(Model):
    """An MCUboot image made by MCUboot's own `imgtool sign`."""

    header_size: Annotated[
        int, Field(ge=32, le=0xFFFF, description="bytes before the image (imgtool -H)")
    ]
    slot_size: Annotated[
        int, Field(ge=64, le=0xFFFFFFFF, description="bytes of a flash slot (imgtool -S)")
    ]
    key: Annotated[
        str | None,
        Field(
            min_length=1,
            description="PEM private key, relative to this file; none: an unsigned image only",
        ),
    ] = None
    security_counter: Annotated[int, Field(ge=0, le=0xFFFFFFFF)] = 0
