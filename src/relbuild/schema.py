"""`relbuild schema`: the JSON Schema of toolchains.toml or of manifest.json,
exported from the pydantic models that are the one schema of each."""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel

from relbuild.config import Config
from relbuild.release.dist import Manifest

Which = Literal["config", "manifest"]


def schema(which: Which) -> str:
    model: type[BaseModel] = Config if which == "config" else Manifest
    return json.dumps(model.model_json_schema(by_alias=True), indent=2, sort_keys=True) + "\n"
