"""`relbuild repro`: two builds of the working tree under different
conditions, compared bit for bit, with the variation to blame.

Each build runs `relbuild build` as a child process whose own environment,
umask and working paths are varied, the way reprotest varies a build. Only
the build-path variation changes paths: every other build uses the very
same tree and cache paths (one after another), so a leaked path cannot be
blamed on the wrong variation.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, computed_field

from relbuild.backends.zig import package_zig
from relbuild.config import LoadedConfig
from relbuild.errors import BuildError, UsageError
from relbuild.proofs.compare import Comparison, compare_dists
from relbuild.system import environ, proc, vcs
from relbuild.system.sourceinfo import read_source

VARIATIONS: dict[str, str] = {
    "build-path": "the tree is built at a path of another length and depth",
    "time-zone": "TZ is Etc/GMT+12 in one build and Etc/GMT-14 in the other",
    "locale": "LC_ALL/LANG are C.UTF-8 and fr_FR.UTF-8",
    "umask": "umask 0022 and 0002",
    "home": "HOME points to two different empty folders (download caches are kept)",
    "path-order": "the PATH entries are reversed",
    "environment": "unrelated and misleading variables are set (CFLAGS, RUSTFLAGS, GOFLAGS, ...)",
    "jobs": "targets are built one by one and side by side (--jobs 1 and 2)",
    "file-order": "directory entries are listed in another order (disorderfs when installed)",
    "toolchain-path": "the pinned zig and Go are installed again elsewhere and used from there",
    "cache-state": "one build starts from empty build caches, the other from the first one's",
}

# Variables a careless build would pick up; a hermetic one must not.
_NOISE = {
    "RELBUILD_REPRO_NOISE": "set-by-relbuild-repro",
    "CFLAGS": "-O0 -g3 -DREPRO_NOISE",
    "CXXFLAGS": "-O0 -g3",
    "LDFLAGS": "-Wl,--build-id=sha1",
    "RUSTFLAGS": "-C debuginfo=2 -C opt-level=0",
    "CARGO_BUILD_JOBS": "1",
    "CARGO_PROFILE_RELEASE_LTO": "false",
    "GOFLAGS": "-race",
    "GOAMD64": "v3",
    "CGO_CFLAGS": "-DREPRO_NOISE",
    "CC": "/bin/false",
    "SOURCE_DATE_EPOCH_IGNORED": "1",
    "LD_LIBRARY_PATH": "/nonexistent",
    "USER": "repro-user",
    "LOGNAME": "repro-user",
    "HOSTNAME": "repro-host",
}


# Caches of compiled output a user may have pointed elsewhere: a build under
# test never sees them (relbuild's own build caches live in --cache-dir).
_BUILD_CACHES = ("ZIG_GLOBAL_CACHE_DIR", "ZIG_LOCAL_CACHE_DIR", "GOCACHE", "CARGO_TARGET_DIR")


class BuildRun(BaseModel):
    name: str
    varied: list[str]
    seconds: float


class ReproReport(BaseModel):
    variations: list[str]
    notes: list[str]
    runs: list[BuildRun]
    comparison: Comparison
    blame: list[str] = []
    deterministic_without_variation: bool | None = None
    reports: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def reproducible(self) -> bool:
        return self.comparison.identical

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return self.reproducible


@dataclass
class _Workspace:
    root: Path
    source_root: Path  # the repo (or config) folder that is copied
    config_rel: Path
    files: list[str]

    @property
    def slot_a(self) -> Path:
        return self.root / "a"

    @property
    def slot_b(self) -> Path:
        # Longer and deeper than slot a.
        return self.root / "build-path-variation" / "with" / "more" / "depth"

    def saved_cache(self, name: str) -> Path:
        return self.root / "saved-caches" / name

    @property
    def toolchain_copies(self) -> Path:
        return self.root / "toolchain-path-variation" / "opt"

    def result(self, name: str) -> Path:
        return self.root / "results" / name


def select(vary: Sequence[str], no_vary: Sequence[str]) -> list[str]:
    for name in [*vary, *no_vary]:
        if name not in VARIATIONS:
            raise UsageError(f"unknown variation '{name}'; known: {', '.join(VARIATIONS)}")
    chosen = list(vary) if vary else list(VARIATIONS)
    return [v for v in VARIATIONS if v in chosen and v not in no_vary]


def tracked_files(folder: Path) -> tuple[Path, list[str]]:
    """(root, files) of the working tree: git's tracked and untracked but not
    ignored files, or, outside git, every file but caches and outputs."""
    root = vcs.toplevel(folder)
    if root is not None:
        return root, vcs.listed_files(root)
    skip = {".relbuild", "dist", "target", ".git", ".venv", "__pycache__"}
    files = [
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and not skip & set(p.relative_to(folder).parts)
    ]
    return folder, sorted(files)


def repro(
    loaded: LoadedConfig,
    *,
    variations: list[str],
    fresh: bool,
    cache: Path,
    targets: Sequence[str] = (),
    blame: bool = True,
    log: Callable[[str], None] = print,
) -> ReproReport:
    source_root, files = tracked_files(loaded.base)
    ws = _Workspace(
        root=cache / "repro",
        source_root=source_root,
        config_rel=loaded.path.relative_to(source_root),
        files=files,
    )
    if fresh:
        shutil.rmtree(ws.root, ignore_errors=True)
    ws.root.mkdir(parents=True, exist_ok=True)
    src = read_source(loaded.root, environ.probe_env(), None, os.environ, also=(loaded.path,))
    notes: list[str] = []
    if "file-order" in variations and proc.which("disorderfs") is None:
        notes.append(
            "file-order: disorderfs is not installed; files were created in reverse "
            "order instead, which changes listing order on tmpfs but not on ext4"
        )
    base_args = ["--source-date-epoch", str(src.source_date_epoch)]
    if src.revision:
        base_args += [
            "--source-revision",
            src.revision,
            "--source-dirty" if src.dirty else "--source-clean",
        ]
    for t in targets:
        base_args += ["--target", t]

    runs: list[BuildRun] = []

    def build(name: str, varied: Sequence[str]) -> Path:
        log(f"repro: build '{name}' ({', '.join(varied) or 'no variation'}) ...")
        seconds = _build_variant(ws, name, set(varied), base_args, notes)
        runs.append(BuildRun(name=name, varied=list(varied), seconds=round(seconds, 1)))
        log(f"repro: build '{name}' done in {seconds:.1f} s")
        return ws.result(name) / "dist"

    cold_warm = "cache-state" in variations
    if cold_warm:
        # The control starts cold; each varied build starts from its caches.
        shutil.rmtree(ws.saved_cache("control"), ignore_errors=True)
    control = build("control", [])
    if cold_warm:
        for name in ["varied", *(f"only-{v}" for v in variations)]:
            _copy_tree(ws.saved_cache("control"), ws.saved_cache(name))
    varied = build("varied", variations)
    hints = [str(ws.slot_a), str(ws.slot_b), str(ws.root)]
    reports = ws.root / "reports"
    shutil.rmtree(reports, ignore_errors=True)
    comparison = compare_dists(control, varied, report_dir=reports, hints=hints)
    report = ReproReport(
        variations=variations, notes=notes, runs=runs, comparison=comparison, reports=str(reports)
    )
    if comparison.identical or not blame:
        return report
    again = build("control-again", [])
    report.deterministic_without_variation = compare_dists(
        control, again, explain_diffs=False
    ).identical
    if not report.deterministic_without_variation:
        return report  # time or randomness: no variation is needed to differ
    for v in variations:
        single = build(f"only-{v}", [v])
        if not compare_dists(control, single, explain_diffs=False).identical:
            report.blame.append(v)
    return report


def _build_variant(
    ws: _Workspace, name: str, varied: set[str], base_args: list[str], notes: list[str]
) -> float:
    slot = ws.slot_b if "build-path" in varied else ws.slot_a
    tree, cache = slot / "src", slot / "cache"
    for stale in (tree, cache):
        _unmount(stale)
        shutil.rmtree(stale, ignore_errors=True)
    saved = ws.saved_cache(name)
    if saved.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        saved.rename(cache)
    result = ws.result(name)
    shutil.rmtree(result, ignore_errors=True)
    result.mkdir(parents=True)
    env, umask, jobs = _environment(ws, varied)
    try:
        with _tree(ws, tree, "file-order" in varied):
            argv = [
                sys.executable,
                "-m",
                "relbuild",
                "--config",
                str(tree / ws.config_rel),
                "build",
                # A proof builds: never the last release taken as up to date.
                "--force",
                "--out",
                str(result / "dist"),
                "--cache-dir",
                str(cache),
                "--jobs",
                str(jobs),
                *base_args,
            ]
            t0 = time.monotonic()
            res = proc.run(
                argv, env=env, cwd=tree, log=result / "build.log", umask=umask, check=False
            )
            seconds = time.monotonic() - t0
        if res.returncode != 0:
            raise BuildError(
                f"repro build '{name}' failed (exit {res.returncode}):\n{proc.tail(res.output)}",
                hint=f"full log: {result / 'build.log'}",
            )
        return seconds
    finally:
        if cache.exists():
            saved.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(saved, ignore_errors=True)
            cache.rename(saved)


def _environment(ws: _Workspace, varied: set[str]) -> tuple[dict[str, str], int, int]:
    env = {k: v for k, v in os.environ.items() if k not in _BUILD_CACHES}
    # Download caches are shared by every build: their contents are checked
    # against Cargo.lock and go.sum. Nothing that holds compiled output is.
    env["CARGO_HOME"] = environ.cargo_home()
    env["GOMODCACHE"] = environ.go_mod_cache()
    env.setdefault("RUSTUP_HOME", str(Path(environ.home()) / ".rustup"))
    env.pop("SOURCE_DATE_EPOCH", None)
    env["TZ"] = "Etc/GMT-14" if "time-zone" in varied else "Etc/GMT+12"
    loc = "fr_FR.UTF-8" if "locale" in varied else "C.UTF-8"
    env["LC_ALL"] = env["LANG"] = loc
    home = ws.root / ("home-variation-b" if "home" in varied else "home-a")
    home.mkdir(parents=True, exist_ok=True)
    env["HOME"] = str(home)
    if "path-order" in varied:
        env["PATH"] = os.pathsep.join(reversed(env.get("PATH", "").split(os.pathsep)))
    if "toolchain-path" in varied:
        site, go_bin = _toolchain_copies(ws)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
        if go_bin is not None:
            env["PATH"] = os.pathsep.join([str(go_bin), env.get("PATH", "")])
    if "environment" in varied:
        env.update(_NOISE)
    umask = 0o002 if "umask" in varied else 0o022
    jobs = 1 if "jobs" in varied else 2
    return env, umask, jobs


@contextlib.contextmanager
def _tree(ws: _Workspace, tree: Path, shuffle: bool) -> Iterator[None]:
    """The working tree at ``tree``: a copy, or with file-order varied, a copy
    seen through disorderfs (shuffled directory entries)."""
    disorderfs = proc.which("disorderfs") if shuffle else None
    store = tree.parent / "src-store" if disorderfs else tree
    shutil.rmtree(store, ignore_errors=True)
    names = list(reversed(ws.files)) if shuffle else ws.files
    for rel in names:
        dest = store / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ws.source_root / rel, dest)
    if disorderfs is None:
        yield
        return
    tree.mkdir(parents=True, exist_ok=True)
    proc.run([disorderfs, "--shuffle-dirents=yes", "--quiet", str(store), str(tree)])
    try:
        yield
    finally:
        _unmount(tree)
        shutil.rmtree(store, ignore_errors=True)


def _unmount(path: Path) -> None:
    if path.is_mount():
        fusermount = proc.which("fusermount") or proc.which("fusermount3")
        if fusermount:
            proc.run([fusermount, "-u", "-z", str(path)], check=False)


def _toolchain_copies(ws: _Workspace) -> tuple[Path, Path | None]:
    """The pinned zig (the ``ziglang`` package) and the Go release on PATH,
    installed again under another folder: (a folder for PYTHONPATH, the
    copied Go's bin folder or None when Go is not on PATH)."""

    site = ws.toolchain_copies / "python" / "site-packages"
    zig, _ = package_zig()
    if zig is not None and not (site / "ziglang").is_dir():
        _copy_tree(zig.parent, site / "ziglang")
    go = proc.which("go")
    if go is None:
        return site, None
    goroot = Path(go).resolve().parent.parent
    dest = ws.toolchain_copies / "go"
    if not (dest / "bin" / "go").is_file():
        _copy_tree(goroot, dest)
    return site, dest / "bin"


def _copy_tree(src: Path, dest: Path) -> None:
    """A copy of ``src`` at ``dest`` (hard links where the file system allows)."""
    if not src.is_dir():
        return
    shutil.rmtree(dest, ignore_errors=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    cp = proc.which("cp")
    if cp is not None and proc.run([cp, "-al", str(src), str(dest)], check=False).returncode == 0:
        return
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(src, dest, symlinks=True)
