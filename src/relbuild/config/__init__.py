"""toolchains.toml: the schema (models) and how it is read (loader)."""

from relbuild.config.loader import DEFAULT_NAME, LoadedConfig, find_config, load_config
from relbuild.config.models import (
    Config,
    GoComponent,
    GoPin,
    RustComponent,
    RustPin,
    TargetConfig,
    ZigPin,
)

__all__ = [
    "DEFAULT_NAME",
    "Config",
    "GoComponent",
    "GoPin",
    "LoadedConfig",
    "RustComponent",
    "RustPin",
    "TargetConfig",
    "ZigPin",
    "find_config",
    "load_config",
]
