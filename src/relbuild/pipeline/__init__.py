"""`relbuild build`: the stages, in the order they run.

gather (toolchains, source, backend facts) -> plan (pure) -> run (steps,
targets side by side) -> stage (release names, cgo handoff) -> check (ELF,
firmware, budgets) -> record (archives, manifest, SUMS) -> output (the
staging folder swapped into place). Each stage takes the plan and what the
one before made; none reads the config again.
"""

from __future__ import annotations

import functools
import getpass
import os
import socket
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from relbuild.attest.record import attest_build
from relbuild.backends import BACKENDS
from relbuild.backends.base import BuildPaths, Probe
from relbuild.backends.toolchains import resolve_all
from relbuild.config import LoadedConfig
from relbuild.pipeline import checks, output, record, run, stage
from relbuild.pipeline.model import BuildOptions, BuildResult, Plan, Staged
from relbuild.pipeline.plan import PlanInputs, fact_components, select
from relbuild.pipeline.plan import plan as make_plan
from relbuild.release.dist import MANIFEST_NAME, write_manifest
from relbuild.system import environ
from relbuild.system.fsutil import atomic_write
from relbuild.system.progress import Reporter
from relbuild.system.sourceinfo import read_source

__all__ = [
    "BuildOptions",
    "BuildResult",
    "Plan",
    "build",
    "default_cache",
    "default_jobs",
    "gather",
]


def default_jobs() -> int:
    """Targets built side by side unless told: the CPUs, at most 4."""
    return min(os.cpu_count() or 1, 4)


def default_cache(loaded: LoadedConfig) -> Path:
    return loaded.base / ".relbuild"


def gather(loaded: LoadedConfig, options: BuildOptions) -> PlanInputs:
    """What planning needs that only processes and files can say: the
    toolchains that match the pins, the source's revision and epoch, and
    each backend's facts about the components to build."""
    env = environ.probe_env()
    paths = BuildPaths(root=loaded.root, cache=(options.cache or default_cache(loaded)).resolve())
    with ThreadPoolExecutor(max_workers=1) as pool:
        # git and the toolchains answer side by side; a toolchain error
        # still comes first.
        reading = pool.submit(
            read_source,
            loaded.root,
            env,
            options.source_date_epoch,
            os.environ,
            options.source_revision,
            options.source_dirty,
            also=(loaded.path,),
            # relbuild's own cache and output are not the user's changes.
            ignore=(paths.cache, options.out, loaded.base / "dist"),
        )
        tools = resolve_all(loaded.config, env)
        source = reading.result()
    selection = select(loaded, options.targets, options.components)
    targets = [t for t, _ in selection]
    probe = Probe(loaded=loaded, tools=tools, env=env, offline=options.offline)
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


def build(loaded: LoadedConfig, options: BuildOptions, reporter: Reporter) -> BuildResult:
    started = time.monotonic()
    inputs = gather(loaded, options)
    the_plan = make_plan(inputs, options.targets, options.components)
    paths = inputs.paths
    _log_toolchains(inputs, paths.logs / "toolchains.log")
    out = options.out.resolve()
    output.check_out(out)
    digests = checks.Digests(options.jobs)
    checker = checks.Checker(the_plan, paths.cache, digests)
    findings: dict[str, checks.Findings] = {}
    archives: dict[str, Staged] = {}
    archive_cache = paths.cache / "archives"
    with output.staging_for(out) as staging:

        def finish(triple: str, staged: list[Staged]) -> None:
            # In the target's own thread, beside the targets still building.
            findings[triple] = checker.target(staged)
            if options.archive and findings[triple].clean:
                archived = record.archive(
                    the_plan, triple, staged, staging, options.archive, archive_cache, digests
                )
                if archived is not None:
                    archives[triple] = archived

        collect = functools.partial(stage.collect, the_plan, staging)
        staged, timings = run.run_plan(the_plan, paths, options.jobs, reporter, collect, finish)
        footprints = checks.verdict(findings[t] for t in the_plan.targets if t in findings)
        abi = checks.check_abi(the_plan, staged, paths)
        staged += [archives[t] for t in the_plan.targets if t in archives]
        epoch = the_plan.source_date_epoch
        artifacts = [
            record.artifact(staging, s, epoch, digests, footprints.get(s.rel)) for s in staged
        ]
        manifest = record.manifest(the_plan, artifacts, abi)
        write_manifest(staging, manifest)
        attest_build(staging, manifest, loaded, inputs.tools, options.offline, options.attest)
        output.settle_times(staging, epoch)
        output.swap_into_place(staging, out)
    result = BuildResult(
        out=str(out),
        manifest=str(out / MANIFEST_NAME),
        artifacts=artifacts,
        steps=timings,
        seconds=round(time.monotonic() - started, 3),
    )
    atomic_write(paths.logs / "build-report.json", result.model_dump_json(indent=2).encode())
    return result


def _log_toolchains(inputs: PlanInputs, log: Path) -> None:
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
