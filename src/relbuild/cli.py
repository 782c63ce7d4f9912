"""The click layer: parse, call one core function, render. Nothing else.

Heavy imports happen inside the commands so that ``relbuild --help`` is
instant.
"""

from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import click

from relbuild import __version__
from relbuild.errors import RelbuildError

if TYPE_CHECKING:
    from relbuild.config import LoadedConfig


@dataclass
class App:
    """What every command shares: the config location and the options."""

    config_path: Path | None
    debug: bool = False
    _loaded: LoadedConfig | None = field(default=None, repr=False)

    def config(self) -> LoadedConfig:
        from relbuild.config import find_config, load_config

        if self._loaded is None:
            path = self.config_path or find_config()
            self._loaded = load_config(path)
        return self._loaded


_DEBUG = False


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="relbuild")
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="toolchains.toml to use (default: ./toolchains.toml or the nearest parent's).",
)
@click.option("--debug", is_flag=True, help="Show Python tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, debug: bool) -> None:
    """Reproducible release builds for projects that mix Go and Rust.

    Exit codes: 0 success, 1 a build failed or a check found something,
    2 usage or config error, 3 toolchain missing or not matching its pin.
    """
    global _DEBUG  # noqa: PLW0603 - main() needs it after click has returned
    _DEBUG = debug
    ctx.obj = App(config_path=config_path, debug=debug)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@click.pass_obj
def doctor(app: App, as_json: bool) -> None:
    """Check the pinned toolchains and what every target needs."""
    from relbuild import environ, ui
    from relbuild.doctor import run_doctor
    from relbuild.render import render_doctor

    report = run_doctor(app.config(), environ.probe_env())
    if as_json:
        ui.print_json({**report.model_dump(mode="json"), "ok": report.ok})
    render_doctor(report)
    if not report.ok:
        sys.exit(3)


@cli.command()
@click.argument("which", type=click.Choice(["config", "manifest"]), default="config")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the schema to this file instead of stdout.",
)
def schema(which: str, output: Path | None) -> None:
    """Print the JSON Schema of toolchains.toml (config) or of manifest.json."""
    import json

    from pydantic import BaseModel

    from relbuild.config import Config
    from relbuild.dist import Manifest
    from relbuild.fsutil import atomic_write

    model: type[BaseModel] = Config if which == "config" else Manifest
    text = json.dumps(model.model_json_schema(by_alias=True), indent=2, sort_keys=True) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        atomic_write(output, text.encode(), make_parents=False)


@cli.command()
@click.argument(
    "project", type=click.Path(path_type=Path, file_okay=False, exists=True), default="."
)
@click.option("--force", is_flag=True, help="Replace an existing toolchains.toml.")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where to write (default: PROJECT/toolchains.toml).",
)
def init(project: Path, force: bool, output: Path | None) -> None:
    """Write a starting toolchains.toml for PROJECT, pinned to what is installed."""
    from relbuild import environ, ui
    from relbuild.scaffold import write_scaffold

    out = output or project / "toolchains.toml"
    write_scaffold(project.resolve(), out, environ.probe_env(), force)
    ui.err.print(f"wrote {out}; check it, then run `relbuild doctor`")


_target_option = click.option(
    "-t",
    "--target",
    "targets",
    multiple=True,
    metavar="TRIPLE",
    help="Only this target (repeatable). Default: every target, in the config's order.",
)
_component_option = click.option(
    "-p",
    "--component",
    "components",
    multiple=True,
    metavar="NAME",
    help="Only this component (repeatable); a Go program brings the staticlibs it links.",
)
_epoch_option = click.option(
    "--source-date-epoch",
    metavar="SECONDS",
    help="Time stamp for the outputs. Default: $SOURCE_DATE_EPOCH, else the last commit's time.",
)
_cache_option = click.option(
    "--cache-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Build caches and logs (default: .relbuild beside toolchains.toml).",
)


@cli.command()
@_target_option
@_component_option
@_epoch_option
@_cache_option
@click.option("--offline", is_flag=True, help="Plan for a build without network access.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON on stdout.")
@click.pass_obj
def plan(
    app: App,
    targets: tuple[str, ...],
    components: tuple[str, ...],
    source_date_epoch: str | None,
    cache_dir: Path | None,
    offline: bool,
    as_json: bool,
) -> None:
    """Print the ordered build steps (argv, cwd, environment) without running them."""
    from relbuild import ui
    from relbuild.build import BuildOptions, gather
    from relbuild.build.plan import plan as make_plan
    from relbuild.render import render_plan

    options = BuildOptions(
        out=Path("dist"),
        targets=targets,
        components=components,
        offline=offline,
        source_date_epoch=source_date_epoch,
        cache=cache_dir,
    )
    the_plan = make_plan(gather(app.config(), options), targets, components)
    if as_json:
        ui.print_json(the_plan)
    else:
        render_plan(the_plan)


@cli.command()
@_target_option
@_component_option
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("dist"),
    show_default=True,
    help="Output folder; replaced as a whole only when the build succeeds.",
)
@click.option(
    "--offline", is_flag=True, help="Build without network access (cargo --offline, GOPROXY=off)."
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1, 64),
    default=None,
    help="Targets built side by side (default: the number of CPUs, at most 4).",
)
@click.option(
    "--archive",
    type=click.Choice(["tar.gz", "zip", "none"]),
    default=None,
    help="Per-target archive of the artifacts and license files (default: project.archive).",
)
@_epoch_option
@_cache_option
@click.option(
    "--source-revision",
    metavar="REV",
    help="Commit to record when the tree has no .git (an export or a source tarball).",
)
@click.option(
    "--source-dirty/--source-clean",
    default=None,
    help="Record the tree as modified or not, overriding git.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a summary as JSON on stdout.")
@click.pass_obj
def build(
    app: App,
    targets: tuple[str, ...],
    components: tuple[str, ...],
    out: Path,
    offline: bool,
    jobs: int | None,
    archive: str | None,
    source_date_epoch: str | None,
    cache_dir: Path | None,
    source_revision: str | None,
    source_dirty: bool | None,
    as_json: bool,
) -> None:
    """Build every target: Rust first, then Go; normalize; write the manifest."""
    import os

    from relbuild import ui
    from relbuild.build import BuildOptions
    from relbuild.build import build as run_build
    from relbuild.progress import make_reporter

    loaded = app.config()
    fmt = archive or loaded.config.project.archive
    options = BuildOptions(
        out=out,
        targets=targets,
        components=components,
        offline=offline,
        jobs=jobs or min(os.cpu_count() or 1, 4),
        archive=None if fmt == "none" else fmt,  # type: ignore[arg-type]
        source_date_epoch=source_date_epoch,
        cache=cache_dir,
        source_revision=source_revision,
        source_dirty=source_dirty,
    )
    reporter = make_reporter()
    try:
        result = run_build(loaded, options, reporter)
    finally:
        reporter.close()
    ui.err.print(
        f"built {len(result.artifacts)} artifacts into {result.out} in {result.seconds:.1f} s; "
        f"manifest: {result.manifest}"
    )
    if as_json:
        ui.print_json(result)


@cli.command()
@click.argument("location", type=click.Path(path_type=Path), default="dist")
@click.option("--allow-extra", is_flag=True, help="Files not in the manifest are not a finding.")
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1, 64),
    default=None,
    help="Files hashed at once (default: the number of CPUs).",
)
@click.option(
    "--rebuild",
    is_flag=True,
    help="Also rebuild the recorded revision in a fresh folder and compare bit for bit.",
)
@click.option("--keep", is_flag=True, help="With --rebuild: keep the rebuild folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@click.pass_obj
def verify(
    app: App,
    location: Path,
    allow_extra: bool,
    jobs: int | None,
    rebuild: bool,
    keep: bool,
    as_json: bool,
) -> None:
    """Check a dist folder (or a manifest) against the manifest.

    Recomputes SHA-256 and SHA-512 of every artifact; reports missing,
    changed, extra and re-moded files, SUMS files that disagree, unsafe paths
    and ELF headers that do not match their target. Exit 0 when all is well,
    1 on a finding, 2 when the input cannot be used.
    """
    from relbuild import ui
    from relbuild.render import render_verify
    from relbuild.verify import verify as run_verify

    report = run_verify(location, allow_extra=allow_extra, jobs=jobs)
    render_verify(report)
    if not rebuild:
        if as_json:
            ui.print_json({**report.model_dump(mode="json"), "ok": report.ok})
        if not report.ok:
            sys.exit(1)
        return
    from relbuild.progress import make_reporter
    from relbuild.rebuild import rebuild as run_rebuild
    from relbuild.render import render_comparison

    reporter = make_reporter()
    try:
        again = run_rebuild(location, app.config(), reporter, keep=keep, jobs=jobs or 2)
    finally:
        reporter.close()
    render_comparison(again.comparison, f"rebuild of {again.revision[:12]} in {again.rebuilt_in}")
    if as_json:
        ui.print_json(
            {
                "ok": report.ok and again.reproduced,
                "verify": report.model_dump(mode="json"),
                "rebuild": {**again.model_dump(mode="json"), "reproduced": again.reproduced},
            }
        )
    if not (report.ok and again.reproduced):
        sys.exit(1)


@cli.command("manifest")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--name", help="Project name (default: the folder's name).")
@click.option("--version", "version_", metavar="VERSION", help="Project version.")
@click.option(
    "-t",
    "--target",
    "targets",
    multiple=True,
    metavar="PATH=TRIPLE",
    help="Target of one file, relative to FOLDER (repeatable); default: read from its ELF header.",
)
@click.option("--force", is_flag=True, help="Replace an existing manifest.json.")
@click.option("--json", "as_json", is_flag=True, help="Also print the manifest on stdout.")
def manifest_cmd(
    folder: Path,
    name: str | None,
    version_: str | None,
    targets: tuple[str, ...],
    force: bool,
    as_json: bool,
) -> None:
    """Write manifest.json, SHA256SUMS and SHA512SUMS for artifacts built elsewhere."""
    from relbuild import ui
    from relbuild.errors import UsageError
    from relbuild.inventory import generate, write_inventory

    pairs: dict[str, str] = {}
    for item in targets:
        rel, sep, triple = item.partition("=")
        if not sep or not rel or not triple:
            raise UsageError(f"--target {item!r}: expected PATH=TRIPLE")
        pairs[rel] = triple
    manifest = generate(folder, name=name, version=version_, targets=pairs)
    write_inventory(folder, manifest, force=force)
    ui.err.print(f"wrote {folder / 'manifest.json'} with {len(manifest.artifacts)} artifacts")
    for art in manifest.artifacts:
        ui.err.print(f"  {art.path}: {art.kind}, {art.target or 'no target'}")
    if as_json:
        ui.print_json(manifest)


@cli.command("diff")
@click.argument("old", type=click.Path(path_type=Path, exists=True))
@click.argument("new", type=click.Path(path_type=Path, exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON on stdout.")
def diff_cmd(old: Path, new: Path, as_json: bool) -> None:
    """Compare two releases (manifests or dist folders). Exit 0 same, 1 different."""
    from relbuild import ui
    from relbuild.diffing import diff_paths
    from relbuild.render import render_diff

    report = diff_paths(old, new)
    if as_json:
        ui.print_json({**report.model_dump(mode="json"), "same": report.same})
    render_diff(report)
    if not report.same:
        sys.exit(1)


@cli.command()
@click.option(
    "--vary",
    "vary",
    multiple=True,
    metavar="NAME",
    help="Only these variations (repeatable or comma-separated). Default: all.",
)
@click.option(
    "--no-vary",
    "no_vary",
    multiple=True,
    metavar="NAME",
    help="Leave these variations out (repeatable or comma-separated).",
)
@_target_option
@click.option("--fresh", is_flag=True, help="Start from empty build caches.")
@click.option("--no-blame", is_flag=True, help="On a difference, do not look for the cause.")
@_cache_option
@click.option("--list", "list_", is_flag=True, help="List the variations and exit.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@click.pass_obj
def repro(
    app: App,
    vary: tuple[str, ...],
    no_vary: tuple[str, ...],
    targets: tuple[str, ...],
    fresh: bool,
    no_blame: bool,
    cache_dir: Path | None,
    list_: bool,
    as_json: bool,
) -> None:
    """Build the working tree twice under varied conditions and compare.

    Variations: build path, TZ, locale, umask, HOME, PATH order, unrelated
    environment variables, parallel jobs and directory order. Exit 0 when
    every artifact and the manifest are identical, 1 when not.
    """
    from relbuild import ui
    from relbuild.build import default_cache
    from relbuild.render import render_repro
    from relbuild.repro import VARIATIONS, run_repro, select

    if list_:
        for name, what in VARIATIONS.items():
            click.echo(f"{name:12} {what}")
        return

    def split(items: tuple[str, ...]) -> list[str]:
        return [x for item in items for x in item.split(",") if x]

    chosen = select(split(vary), split(no_vary))
    loaded = app.config()
    report = run_repro(
        loaded,
        variations=chosen,
        fresh=fresh,
        cache=cache_dir or default_cache(loaded),
        targets=targets,
        blame=not no_blame,
        log=ui.err.print,
    )
    if as_json:
        ui.print_json({**report.model_dump(mode="json"), "reproducible": report.reproducible})
    render_repro(report)
    if not report.reproducible:
        sys.exit(1)


@cli.command()
@click.argument("location", type=click.Path(path_type=Path), default="dist")
@click.option(
    "--compare",
    type=click.Path(path_type=Path, exists=True),
    help="A previous dist folder or manifest: show growth per section.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the sizes as JSON on stdout.")
def size(location: Path, compare: Path | None, as_json: bool) -> None:
    """Firmware flash and RAM per section, against budgets (like `cargo size`)."""
    from relbuild import ui
    from relbuild.render import render_sizes
    from relbuild.sizes import sizes

    entries = sizes(location, compare)
    if as_json:
        ui.print_json([e.model_dump(mode="json") for e in entries])
    render_sizes(entries)


@cli.command("test")
@click.argument("location", type=click.Path(path_type=Path), default="dist")
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1, 64),
    default=None,
    help="Tests run at once (default: the number of CPUs).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON on stdout.")
@click.pass_obj
def test_cmd(app: App, location: Path, jobs: int | None, as_json: bool) -> None:
    """Run each artifact's smoke test: natively, under qemu-user, or in QEMU.

    Exit 0 when every configured test passed, 1 when one failed or timed
    out, 2 when no test is configured.
    """
    from relbuild import ui
    from relbuild.render import render_smoke
    from relbuild.smoke import run_tests

    report = run_tests(app.config(), location, jobs)
    if as_json:
        ui.print_json({**report.model_dump(mode="json"), "ok": report.ok})
    render_smoke(report)
    if not report.ok:
        sys.exit(1)


def main() -> None:
    try:
        cli.main(prog_name="relbuild", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except RelbuildError as exc:
        if _DEBUG:
            traceback.print_exc()
        from relbuild.ui import err

        err.print(f"error: {exc}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except OSError as exc:
        # The filesystem refused something the user pointed us at (a
        # permission, a full disk): one sentence, not a traceback.
        if _DEBUG:
            traceback.print_exc()
        where = f" {exc.filename}" if exc.filename else ""
        click.echo(f"error: cannot access{where}: {exc.strerror or exc}", err=True)
        sys.exit(2)
