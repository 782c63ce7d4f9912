"""The base of every table of toolchains.toml: kebab-case keys, unknown keys
refused, no silent conversions."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


def _kebab(name: str) -> str:
    return name.replace("_", "-")


class Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        alias_generator=_kebab,
        # Only the kebab-case spelling the file uses, and no silent
        # conversions (true is not 1, "16384" is not a number).
        populate_by_name=False,
        strict=True,
        frozen=True,
    )
