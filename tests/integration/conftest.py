from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from relbuild.backends.base import ResolvedToolchains
from relbuild.backends.toolchains import resolve_all
from relbuild.config import LoadedConfig, load_config
from relbuild.system import environ
from tests.conftest import CONFIG, EXAMPLE
from tests.integration.machines import relbuild_cmd as relbuild_cmd  # noqa: PLC0414
from tests.integration.machines import side_by_side as side_by_side  # noqa: PLC0414


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


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole example, every target, built once for this session."""
    out = tmp_path_factory.mktemp("build") / "dist"
    res = relbuild_cmd("--config", CONFIG, "build", "--out", out, "--json")
    assert res.returncode == 0, res.stderr[-3000:]
    return out


def example_copy(tmp_path: Path, targets: str) -> tuple[Path, Path]:
    """A copy of the example and a config whose [[targets]] are ``targets``."""
    project = tmp_path / "beacon"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("target"))
    text = CONFIG.read_text().replace('"examples/beacon', '"beacon')
    head, _, _ = text.partition("[[targets]]")
    config = tmp_path / "toolchains.toml"
    config.write_text(head + targets)
    return project, config
