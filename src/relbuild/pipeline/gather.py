"""Gathering: what planning needs that only processes and files can say
(the toolchains that match the pins, the source's revision and epoch, each
backend's facts about the components), and the defaults a build takes from
the machine (jobs, the cache folder, who and where it runs)."""

from __future__ import annotations

import getpass
import os
import socket
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from relbuild.backends import BACKENDS
from relbuild.backends.base import BuildPaths, Probe
from relbuild.backends.toolchains import resolve_all
from relbuild.config import LoadedConfig
from relbuild.pipeline.fresh import cache_of, source_of
from relbuild.pipeline.options import BuildOptions
from relbuild.pipeline.plan import PlanInputs, fact_components, select
from relbuild.system import environ
from relbuild.system.fsutil import atomic_write
from relbuild.system.sourceinfo import SourceInfo


def gather(
    loaded: LoadedConfig, options: BuildOptions, source: SourceInfo | None = None
) -> PlanInputs:
    """What planning needs that only processes and files can say: the
    toolchains that match the pins, the source's revision and epoch (unless
    ``source`` gives them, read with these options), and each backend's
    facts about the components to build."""
    env = environ.probe_env()
    paths = BuildPaths(root=loaded.root, cache=cache_of(loaded, options))
    with ThreadPoolExecutor(max_workers=1) as pool:
        # git and the toolchains answer side by side; a toolchain error
        # still comes first.
        reading = pool.submit(source_of, loaded, options, env) if source is None else None
        tools = resolve_all(loaded.config, env, paths.cache / "toolchain-digests.json")
        if reading is not None:
            source = reading.result()
    assert source is not None  # given, or read above
    selection = select(loaded, options.targets, options.components)
    targets = [t for t, _ in selection]
    probe = Probe(loaded=loaded, tools=tools, env=env, offline=options.offline, cache=paths.cache)
    facts = {
        language: BACKENDS[language].read_facts(probe, names, targets)
        for language, names in fact_components(loaded, selection).items()
    }
    return PlanInputs(
        loaded=loaded,
        tools=tools,
        source=source,
        paths=paths,
        user_env=dict(os.environ),
        facts=facts,
        offline=options.offline,
        host=_host(),
        version=options.version,
    )


def log_toolchains(inputs: PlanInputs, log: Path) -> None:
    """How each toolchain was found on this machine: for the log, since it
    differs between machines that build the same bytes."""
    lines = []
    for name in ("rust", "go", "zig"):
        tool = getattr(inputs.tools, name)
        if tool is not None:
            lines.append(f"{name} {tool.release}: {tool.executable} (found via {tool.found_via})\n")
    lines.append(f"sandbox: {inputs.loaded.config.project.sandbox}\n")
    atomic_write(log, "".join(lines).encode())


def _host() -> dict[str, str]:
    """Who and where this build runs: names the leak scan looks for."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = ""
    return {
        "user name": user,
        "host name": socket.gethostname(),
        "temp folder": tempfile.gettempdir(),
    }
