"""`relbuild build`: run the plan, normalize the outputs, write the manifest.

Everything is built into a staging folder beside the output; only a build
that fully succeeded is swapped into place, so an earlier dist is never half
overwritten and an interrupted build leaves no manifest behind.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from relbuild import __version__, elfcheck, environ, firmware, proc
from relbuild.archive import ArchiveFormat, Member, make_archive
from relbuild.backends import rust as rust_backend
from relbuild.config import LoadedConfig
from relbuild.deps import read_cargo_lock, read_go_sum, resolved_features, with_features
from relbuild.dist import (
    MANIFEST_NAME,
    ArtifactKind,
    ArtifactRecord,
    Dependencies,
    Footprint,
    Manifest,
    ProjectRecord,
    SourceRecord,
    StepRecord,
    TargetRecord,
    ToolRecord,
    hash_file,
    write_manifest,
)
from relbuild.errors import BuildError, CommandError, UsageError
from relbuild.fsutil import atomic_write
from relbuild.planner import BuildPaths, Plan, Planner, Step, write_cc_wrapper
from relbuild.progress import Reporter
from relbuild.redact import Redactor
from relbuild.sourceinfo import SourceInfo, read_source
from relbuild.toolchains import ResolvedToolchains, resolve_all
from relbuild.triples import TRIPLES


@dataclass
class BuildOptions:
    out: Path
    targets: Sequence[str] = ()
    components: Sequence[str] = ()
    offline: bool = False
    jobs: int = 1
    archive: ArchiveFormat | None = None
    source_date_epoch: str | None = None
    cache: Path | None = None
    # For trees exported without .git (rebuilds, source tarballs).
    source_revision: str | None = None
    source_dirty: bool | None = None


class StepTiming(BaseModel):
    target: str
    component: str
    tool: str
    seconds: float
    log: str


class BuildResult(BaseModel):
    """What `relbuild build --json` prints. Timings live here, never in the
    manifest."""

    out: str
    manifest: str
    artifacts: list[ArtifactRecord]
    steps: list[StepTiming]
    seconds: float


@dataclass
class _Staged:
    src: Path
    rel: str  # path in the dist folder
    kind: ArtifactKind
    target: str | None
    component: str | None
    mode: int


class _Hashes:
    """SHA-256 and SHA-512 of each file, computed once, several files at a
    time (hashlib releases the GIL)."""

    def __init__(self, jobs: int) -> None:
        self._jobs = max(1, jobs)
        self._done: dict[Path, tuple[str, str]] = {}

    def prefetch(self, paths: Sequence[Path]) -> None:
        todo = [p for p in dict.fromkeys(paths) if p not in self._done]
        with ThreadPoolExecutor(max_workers=self._jobs) as pool:
            for path, pair in zip(todo, pool.map(_pair, todo), strict=True):
                self._done[path] = pair

    def __call__(self, path: Path) -> tuple[str, str]:
        if path not in self._done:
            self._done[path] = _pair(path)
        return self._done[path]


def _pair(path: Path) -> tuple[str, str]:
    sha256, sha512, _, _ = hash_file(path)
    return sha256, sha512


@dataclass
class _Context:
    plan: Plan
    staging: Path
    paths: BuildPaths
    tools: ResolvedToolchains
    reporter: Reporter
    cancel: threading.Event = field(default_factory=threading.Event)


def default_cache(loaded: LoadedConfig) -> Path:
    return loaded.base / ".relbuild"


def prepare(
    loaded: LoadedConfig, options: BuildOptions
) -> tuple[Planner, ResolvedToolchains, SourceInfo, BuildPaths]:
    env = environ.probe_env()
    tools = resolve_all(loaded.config, env)
    source = read_source(
        loaded.root,
        env,
        options.source_date_epoch,
        os.environ,
        options.source_revision,
        options.source_dirty,
        also=(loaded.path,),
    )
    paths = BuildPaths(root=loaded.root, cache=(options.cache or default_cache(loaded)).resolve())
    planner = Planner(loaded, tools, source, paths, offline=options.offline)
    return planner, tools, source, paths


def build(loaded: LoadedConfig, options: BuildOptions, reporter: Reporter) -> BuildResult:
    started = time.monotonic()
    planner, tools, source, paths = prepare(loaded, options)
    plan = planner.plan(options.targets, options.components)

    out = options.out.resolve()
    _check_out(out)
    staging = out.parent / f".{out.name}.staging-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    _remove_stale_staging(out)
    staging.mkdir(parents=True)
    ctx = _Context(plan=plan, staging=staging, paths=paths, tools=tools, reporter=reporter)
    timings: list[StepTiming] = []
    try:
        staged = _run_all(ctx, options.jobs, timings)
        hashes = _Hashes(options.jobs)
        hashes.prefetch([s.src for s in staged])
        _check_elf(staged, paths.cache / "elf-ok", hashes)
        footprints = _check_firmware(loaded, staged)
        if options.archive:
            staged += _archives(
                loaded,
                plan,
                staged,
                staging,
                options.archive,
                paths.cache / "archives",
                options.jobs,
                hashes,
            )
        artifacts = [
            _record(staging, s, plan.source_date_epoch, hashes, footprints.get(s.rel))
            for s in staged
        ]
        manifest = Manifest(
            generator=f"relbuild {__version__}",
            project=ProjectRecord(name=plan.project, version=plan.version),
            source=SourceRecord(
                vcs=source.vcs,
                revision=source.revision,
                dirty=source.dirty,
                source_date_epoch=source.source_date_epoch,
            ),
            toolchains=_toolchain_records(tools, plan),
            targets=[
                TargetRecord(
                    triple=t, components=list(dict.fromkeys(s.component for s in plan.steps_for(t)))
                )
                for t in plan.targets
            ],
            steps=_step_records(plan, planner, tools),
            artifacts=artifacts,
            dependencies=_dependencies(loaded, plan, tools, options.offline),
        )
        write_manifest(staging, manifest)
        _settle_times(staging, plan.source_date_epoch)
        _swap_into_place(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    result = BuildResult(
        out=str(out),
        manifest=str(out / MANIFEST_NAME),
        artifacts=manifest.artifacts,
        steps=timings,
        seconds=round(time.monotonic() - started, 3),
    )
    atomic_write(paths.logs / "build-report.json", result.model_dump_json(indent=2).encode())
    return result


# --- running ----------------------------------------------------------------


def _run_all(ctx: _Context, jobs: int, timings: list[StepTiming]) -> list[_Staged]:
    by_target = {t: ctx.plan.steps_for(t) for t in ctx.plan.targets}
    results: dict[str, list[_Staged]] = {}
    errors: dict[str, BaseException] = {}
    step_times: dict[tuple[str, str], StepTiming] = {}

    def work(triple: str) -> None:
        try:
            results[triple] = _run_target(ctx, by_target[triple], step_times)
        except BaseException as exc:
            ctx.cancel.set()  # start nothing new elsewhere
            errors[triple] = exc

    if jobs <= 1:
        for triple in ctx.plan.targets:
            work(triple)
            if errors:
                break
    else:
        with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="relbuild") as pool:
            list(pool.map(work, ctx.plan.targets))
    # Timings, results and the first error are taken in the fixed target order,
    # whatever order the threads finished in.
    timings.extend(
        step_times[(s.target, s.component)]
        for s in ctx.plan.steps
        if (s.target, s.component) in step_times
    )
    for triple in ctx.plan.targets:
        if triple in errors and not isinstance(errors[triple], _CancelledError):
            raise errors[triple]
    return [s for t in ctx.plan.targets for s in results.get(t, [])]


class _CancelledError(Exception):
    pass


def _run_target(
    ctx: _Context, steps: list[Step], times: dict[tuple[str, str], StepTiming]
) -> list[_Staged]:
    staged: list[_Staged] = []
    for step in steps:
        if ctx.cancel.is_set():
            raise _CancelledError
        label = f"{step.target} {step.component}"
        log = Path(step.log)
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(f"$ cd {step.cwd}\n$ {proc.quote(step.argv)}\n")
        if "CC" in step.env:
            zig = ctx.tools.require("zig").executable
            write_cc_wrapper(Path(step.env["CC"]), zig, TRIPLES[step.target].zig_target or "")
        messages: list[str] = []
        keep_json = _json_collector(messages)
        ctx.reporter.start(label)
        t0 = time.monotonic()
        stamp, digest = _go_stamp(ctx, step)
        up_to_date = (
            digest is not None
            and step.output is not None
            and Path(step.output).is_file()
            and stamp.is_file()
            and stamp.read_text() == digest
        )
        if up_to_date:
            log.write_text(
                log.read_text() + "# up to date: inputs unchanged since the last build\n"
            )
            seconds = time.monotonic() - t0
            ctx.reporter.finish(label + " (up to date)", seconds, ok=True)
            times[(step.target, step.component)] = _timing(step, seconds)
            staged += _collect(ctx, step, messages)
            continue
        stamp.unlink(missing_ok=True)
        try:
            proc.run(
                step.argv,
                env=step.env,
                cwd=step.cwd,
                log=log,
                umask=environ.UMASK,
                on_line=keep_json,
            )
        except CommandError as exc:
            ctx.reporter.finish(label, time.monotonic() - t0, ok=False)
            raise BuildError(
                f"step {step.target} / {step.component} ({step.tool}) failed with exit code "
                f"{exc.returncode}\ncommand: {proc.quote(step.argv)}\nlast lines of {log}:\n"
                f"{exc.output_tail}"
            ) from None
        if digest is not None:
            atomic_write(stamp, digest.encode())
        seconds = time.monotonic() - t0
        ctx.reporter.finish(label, seconds, ok=True)
        times[(step.target, step.component)] = _timing(step, seconds)
        staged += _collect(ctx, step, messages)
    return staged


def _timing(step: Step, seconds: float) -> StepTiming:
    return StepTiming(
        target=step.target,
        component=step.component,
        tool=step.tool,
        seconds=round(seconds, 3),
        log=step.log,
    )


def _json_collector(into: list[str]) -> Callable[[str], None]:
    """cargo's JSON messages, picked out of the merged output stream."""

    def keep(line: str) -> None:
        if line.startswith('{"reason":'):
            into.append(line)

    return keep


def _go_stamp(ctx: _Context, step: Step) -> tuple[Path, str | None]:
    """Go relinks on every build when the build id is empty; skip the step
    when a digest of all its inputs matches the one of the output at hand.
    (cargo has its own fingerprints and needs no help.)"""
    stamp = ctx.paths.cache / "stamps" / step.target / f"{step.component}.sha256"
    if step.tool != "go" or step.output is None:
        return stamp, None
    from relbuild.backends import go as go_backend

    extra = [json.dumps([step.argv, sorted(step.env.items())])]
    for flag in (step.env.get("CGO_CFLAGS", "") + " " + step.env.get("CGO_LDFLAGS", "")).split():
        if flag.startswith(("-I", "-L")):
            folder = Path(flag[2:])
            for f in sorted(folder.rglob("*")) if folder.is_dir() else []:
                if f.is_file():
                    extra.append(f"{f.relative_to(folder)} {hash_file(f)[0]}")
    cc = step.env.get("CC")
    if cc:
        extra.append(Path(cc).read_text())
        extra.append("zig " + ctx.tools.require("zig").release)
    extra.append("go " + ctx.tools.require("go").release)
    package = step.argv[-1]
    tags = step.argv[step.argv.index("-tags") + 1].split(",") if "-tags" in step.argv else []
    digest = go_backend.input_digest(step.argv[0], package, tags, step.env, step.cwd, extra)
    return stamp, digest


def _collect(ctx: _Context, step: Step, messages: list[str]) -> list[_Staged]:
    """Copy a step's outputs into the staging folder under their release names."""
    base = f"{step.component}-{ctx.plan.version}-{step.target}"
    found: list[_Staged] = []

    def stage(name: str, kind: ArtifactKind, mode: int, src: Path | bytes) -> None:
        rel = f"{step.target}/{name}"
        dest = ctx.staging / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(src, bytes):
            dest.write_bytes(src)
        else:
            shutil.copyfile(src, dest)
        found.append(
            _Staged(
                src=dest,
                rel=rel,
                kind=kind,
                target=step.target,
                component=step.component,
                mode=mode,
            )
        )

    if step.tool == "go":
        assert step.output is not None
        stage(base, "executable", 0o755, Path(step.output))
        return found
    produced = _cargo_outputs(messages, step)
    if step.kind == "staticlib":
        lib = next((p for p in produced if p.suffix == ".a"), None)
        if lib is None:
            raise BuildError(
                f"cargo built no static library for {step.component} "
                f"({step.target}); its log: {step.log}"
            )
        stage(f"{base}.a", "staticlib", 0o644, lib)
        cgo = ctx.paths.cgo_dir(step.target, step.component)
        (cgo / "lib").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(lib, cgo / "lib" / lib.name)
        if step.header:
            header = Path(step.header)
            stage(f"{base}.h", "header", 0o644, header)
            (cgo / "include").mkdir(parents=True, exist_ok=True)
            shutil.copyfile(header, cgo / "include" / header.name)
    else:
        exe = next(iter(produced), None)
        if exe is None:
            raise BuildError(
                f"cargo built no binary for {step.component} ({step.target}); its log: {step.log}"
            )
        if step.kind == "firmware":
            stage(f"{base}.elf", "firmware", 0o644, exe)
            elf = exe.read_bytes()
            stage(f"{base}.bin", "image", 0o644, firmware.to_bin(elf))
            stage(f"{base}.hex", "image", 0o644, firmware.to_ihex(elf))
        else:
            stage(base, "executable", 0o755, exe)
    return found


def _cargo_outputs(messages: list[str], step: Step) -> list[Path]:
    out: list[Path] = []
    for line in messages:
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if msg.get("reason") != "compiler-artifact":
            continue
        target = msg.get("target", {})
        pkg_id = str(msg.get("package_id", ""))
        if target.get("name", "").replace("-", "_") != (step.artifact_name or "").replace("-", "_"):
            continue
        if step.package and f"#{step.package}@" not in pkg_id and f"/{step.package}#" not in pkg_id:
            continue
        if step.kind == "staticlib":
            out += [Path(f) for f in msg.get("filenames", []) if f.endswith(".a")]
        elif msg.get("executable"):
            out.append(Path(msg["executable"]))
    return out


# --- checks, archives, records -----------------------------------------------


def _check_firmware(loaded: LoadedConfig, staged: list[_Staged]) -> dict[str, Footprint]:
    """Sanity checks, footprint and budgets of every firmware ELF; any
    failure stops the build with one report."""
    config = loaded.config
    targets = {t.triple: t for t in config.targets}
    problems: list[str] = []
    over: list[str] = []
    prints: dict[str, Footprint] = {}
    for s in staged:
        if s.kind != "firmware" or not s.target or not s.component:
            continue
        data = s.src.read_bytes()
        problems += firmware.sanity_problems(data, TRIPLES[s.target], s.rel)
        fp = firmware.footprint(data)
        budgets = [b for b in (config.rust[s.component].budget, targets[s.target].budget) if b]
        flash_budget = min((b.flash for b in budgets if b.flash is not None), default=None)
        ram_budget = min((b.ram for b in budgets if b.ram is not None), default=None)
        for what, used, budget in (("flash", fp.flash, flash_budget), ("RAM", fp.ram, ram_budget)):
            if budget is not None and used > budget:
                over.append(
                    f"{s.rel}: {what} {used} B is over its budget of {budget} B "
                    f"by {used - budget} B ({100 * used / max(budget, 1):.0f}% used)"
                )
        prints[s.rel] = fp.model_copy(
            update={"flash_budget": flash_budget, "ram_budget": ram_budget}
        )
    if problems:
        raise BuildError("firmware failed its sanity checks:\n  " + "\n  ".join(problems))
    if over:
        raise BuildError(
            "firmware over budget:\n  " + "\n  ".join(over),
            hint="Budgets come from toolchains.toml (`budget` of the component and of the "
            "target); `relbuild size` shows the sections.",
        )
    return prints


def _check_elf(staged: list[_Staged], memo: Path, hashes: _Hashes) -> None:
    """Every binary's ELF header(s) must match its triple. A pass depends only
    on the bytes and the triple, so passes are remembered by content hash
    (a static library has hundreds of members to parse)."""
    problems: list[str] = []
    for s in staged:
        if s.kind not in ("executable", "staticlib", "firmware") or not s.target:
            continue
        mark = memo / f"{hashes(s.src)[0]}-{s.target}"
        if mark.is_file():
            continue
        found = elfcheck.check_file(s.src, TRIPLES[s.target])
        if found:
            problems += found
        else:
            mark.parent.mkdir(parents=True, exist_ok=True)
            mark.touch()
    if problems:
        raise BuildError("artifacts do not match their target:\n  " + "\n  ".join(problems))


def _archives(
    loaded: LoadedConfig,
    plan: Plan,
    staged: list[_Staged],
    staging: Path,
    fmt: ArchiveFormat,
    cache: Path,
    jobs: int,
    hashes: _Hashes,
) -> list[_Staged]:
    """One archive per target, made side by side (zlib releases the GIL).

    An archive is a pure function of its members' names, modes and bytes,
    the epoch and the format; that is its cache key, so a cache hit gives the
    very bytes packing would have.
    """
    jobs_for: list[tuple[str, list[Member]]] = []
    for triple in plan.targets:
        top = f"{plan.project}-{plan.version}-{triple}"
        members = [
            Member(f"{top}/{Path(s.rel).name}", s.src, s.mode) for s in staged if s.target == triple
        ]
        if members:
            members += [
                Member(f"{top}/{Path(name).name}", loaded.root / name, 0o644)
                for name in loaded.config.project.license_files
            ]
            jobs_for.append((triple, members))

    def pack(item: tuple[str, list[Member]]) -> _Staged:
        triple, members = item
        key = hashlib.sha256(f"{fmt}\0{plan.source_date_epoch}\0".encode())
        for m in sorted(members, key=lambda m: m.name):
            key.update(f"{m.name}\0{m.mode:o}\0{hashes(m.source)[0]}\0".encode())
        cached = cache / f"{key.hexdigest()}.{fmt}"
        dest = staging / f"{plan.project}-{plan.version}-{triple}.{fmt}"
        if not cached.is_file():
            atomic_write(cached, make_archive(fmt, members, plan.source_date_epoch))
        shutil.copyfile(cached, dest)
        return _Staged(
            src=dest, rel=dest.name, kind="archive", target=triple, component=None, mode=0o644
        )

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(pack, jobs_for))


def _record(
    staging: Path, s: _Staged, epoch: int, hashes: _Hashes, footprint: Footprint | None
) -> ArtifactRecord:
    path = staging / s.rel
    os.chmod(path, s.mode)
    os.utime(path, (epoch, epoch))
    sha256, sha512 = hashes(path)
    return ArtifactRecord(
        path=s.rel,
        target=s.target,
        component=s.component,
        kind=s.kind,
        size=path.stat().st_size,
        mode=f"0{s.mode:o}",
        sha256=sha256,
        sha512=sha512,
        footprint=footprint,
    )


def _toolchain_records(tools: ResolvedToolchains, plan: Plan) -> dict[str, ToolRecord]:
    used = {s.tool for s in plan.steps}
    names = (["rust"] if "cargo" in used else []) + (["go"] if "go" in used else [])
    if any("CC" in s.env for s in plan.steps):
        names.append("zig")
    records = {}
    for name in names:
        tool = tools.require(name)
        details = {k: v for k, v in tool.details.items() if k in ("host", "llvm")}
        records[name] = ToolRecord(
            release=tool.release, commit=tool.commit, found_via=tool.found_via, details=details
        )
    return records


def redactor_for(planner: Planner, tools: ResolvedToolchains) -> Redactor:
    places: dict[str, str] = {
        "ROOT": str(planner.paths.root),
        "CACHE": str(planner.paths.cache),
        "HOME": environ.home(planner.user_env),
        "CARGO_HOME": environ.cargo_home(planner.user_env),
        "GOMODCACHE": environ.go_mod_cache(planner.user_env),
        "ZIG_GLOBAL_CACHE": environ.zig_global_cache(planner.user_env),
    }
    if tools.rust:
        places |= {
            "RUSTC": tools.rust.paths["rustc"],
            "RUSTDOC": tools.rust.paths["rustdoc"],
            "CARGO": tools.rust.paths["cargo"],
            "RUST_SRC": str(rust_backend.std_source(tools.rust).parent),
        }
        rust_bin = str(Path(tools.rust.paths["rustc"]).parent)
        if rust_bin not in environ.SYSTEM_PATH:
            places["RUST_BIN"] = rust_bin
    if tools.go:
        places["GOROOT"] = tools.go.paths["goroot"]
    if tools.zig:
        places["ZIG"] = tools.zig.executable
    return Redactor(places)


def _step_records(plan: Plan, planner: Planner, tools: ResolvedToolchains) -> list[StepRecord]:
    redact = redactor_for(planner, tools)
    records = []
    for step in plan.steps:
        env = {k: redact(v) for k, v in sorted(step.env.items()) if k not in environ.INHERITED}
        cwd = os.path.relpath(step.cwd, planner.paths.root)
        records.append(
            StepRecord(
                target=step.target,
                component=step.component,
                tool=step.tool,
                cwd=Path(cwd).as_posix(),
                argv=redact.all(step.argv),
                env=env,
            )
        )
    return records


def _dependencies(
    loaded: LoadedConfig, plan: Plan, tools: ResolvedToolchains, offline: bool
) -> Dependencies:
    config = loaded.config
    built = {s.component for s in plan.steps}
    rust_dirs = sorted({config.rust[c].path for c in built if c in config.rust})
    go_dirs = sorted({config.go[c].path for c in built if c in config.go})
    crates: dict[tuple[str, str, str], object] = {}
    rust_deps = []
    for rel in rust_dirs:
        workspace = loaded.root / rel
        deps = read_cargo_lock(workspace / "Cargo.lock")
        rust = tools.require("rust")
        env = {**environ.probe_env(), **rust_backend.cargo_env(rust)}
        deps = with_features(deps, resolved_features(rust.paths["cargo"], workspace, env, offline))
        for d in deps:
            if (d.name, d.version, d.source) not in crates:
                crates[(d.name, d.version, d.source)] = d
                rust_deps.append(d)
    go_deps = []
    seen_mods: set[tuple[str, str]] = set()
    for rel in go_dirs:
        for m in read_go_sum(loaded.root / rel / "go.sum"):
            if (m.path, m.version) not in seen_mods:
                seen_mods.add((m.path, m.version))
                go_deps.append(m)
    return Dependencies(
        rust=sorted(rust_deps, key=lambda d: (d.name, d.version, d.source)),
        go=sorted(go_deps, key=lambda m: (m.path, m.version)),
    )


# --- the output folder ---------------------------------------------------------


def _settle_times(folder: Path, epoch: int) -> None:
    """Every file and folder of the dist gets mtime = SOURCE_DATE_EPOCH (file
    modes were fixed as each was recorded)."""
    for path in folder.rglob("*"):
        if path.is_dir():
            path.chmod(0o755)
        os.utime(path, (epoch, epoch))
    folder.chmod(0o755)
    os.utime(folder, (epoch, epoch))


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST_NAME).is_file():
        raise UsageError(
            f"--out {out} holds files but no {MANIFEST_NAME}, so it is not a relbuild dist; "
            "refusing to replace it",
            hint="Pick an empty or new folder, or remove it first.",
        )


def _remove_stale_staging(out: Path) -> None:
    for old in out.parent.glob(f".{out.name}.staging-*"):
        try:
            pid = int(old.name.split("staging-")[1].split("-")[0])
            os.kill(pid, 0)  # still running: another build's staging
        except (ValueError, IndexError, ProcessLookupError):
            shutil.rmtree(old, ignore_errors=True)
        except PermissionError:
            pass


_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    return bool(rc == 0)


def _swap_into_place(staging: Path, out: Path) -> None:
    if not out.exists():
        staging.rename(out)
        return
    if _exchange(staging, out):
        shutil.rmtree(staging, ignore_errors=True)  # now holds the old dist
        return
    old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
    out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)
