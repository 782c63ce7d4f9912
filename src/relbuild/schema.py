"""`relbuild schema`: the JSON Schema of toolchains.toml, of manifest.json
or of a report that `--json` prints, exported from the pydantic models that
are the one schema of each."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel

from relbuild.config import Config
from relbuild.release.dist import Manifest
from relbuild.system.ui import REPORT_SCHEMA_VERSION

Which = Literal["config", "manifest"]


def schema(which: Which) -> str:
    model: type[BaseModel] = Config if which == "config" else Manifest
    return _text(model.model_json_schema(by_alias=True))


def report_schema(model: type[BaseModel]) -> str:
    """The JSON Schema of a report as `--json` prints it: the model's
    serialized shape (computed fields included) and ``schema_version``."""
    found = model.model_json_schema(by_alias=True, mode="serialization")
    found.setdefault("properties", {})["schema_version"] = {
        "const": REPORT_SCHEMA_VERSION,
        "description": "the version of this report's shape",
        "title": "Schema Version",
        "type": "integer",
    }
    found["required"] = sorted({*found.get("required", []), "schema_version"})
    return _text(found)


def _text(found: dict[str, Any]) -> str:
    return json.dumps(found, indent=2, sort_keys=True) + "\n"
