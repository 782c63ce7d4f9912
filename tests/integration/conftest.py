from __future__ import annotations

import pytest

from relbuild import environ
from relbuild.config import LoadedConfig, load_config
from relbuild.toolchains import ResolvedToolchains, resolve_all
from tests.conftest import CONFIG


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def loaded() -> LoadedConfig:
    return load_config(CONFIG)


@pytest.fixture(scope="session")
def tools(loaded: LoadedConfig) -> ResolvedToolchains:
    """The repository's pinned toolchains, resolved for real."""
    return resolve_all(loaded.config, environ.probe_env())
