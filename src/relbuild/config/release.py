"""`[release]` in toolchains.toml: what a published release needs."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from relbuild.config.base import Model


class ReleaseConfig(Model):
    approvals: Annotated[
        int,
        Field(
            ge=1,
            le=32,
            description="distinct keys whose signatures `relbuild verify --key ...` needs "
            "when given this config (docs/releases.md, Two signers)",
        ),
    ] = 1
