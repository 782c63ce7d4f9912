"""Commands on a release: verify, manifest, diff, test, size, repro, abi."""

from __future__ import annotations

from pathlib import Path

import click

from relbuild.cli.app import (
    App,
    cache_option,
    finish,
    jobs_option,
    json_option,
    location_argument,
    release_version_option,
    target_option,
)


@click.command("verify")
@location_argument
@click.option("--allow-extra", is_flag=True, help="Files not in the manifest are not a finding.")
@jobs_option("Files hashed at once", "the number of CPUs")
@click.option(
    "--rebuild",
    is_flag=True,
    help="Also rebuild the recorded revision in a fresh folder and compare bit for bit.",
)
@click.option("--keep", is_flag=True, help="With --rebuild: keep the rebuild folder.")
@click.option(
    "--leaks",
    is_flag=True,
    help="Also scan every artifact, debug sections and members included, for paths under "
    "/home, /root, /tmp, /Users and C:\\ (a finding each).",
)
@click.option(
    "--key",
    "keys",
    multiple=True,
    metavar="PUB",
    help="Public key (PEM file or env://VAR): check the signatures of the provenance and "
    "the manifest first. Repeatable: signers of one release.",
)
@click.option(
    "--threshold",
    type=click.IntRange(1, 32),
    help="Signatures by at least this many distinct keys of --key (default: all of them; "
    "at least `[release] approvals` of the config given with --config).",
)
@json_option("Print the report")
@click.pass_obj
def verify_cmd(
    app: App,
    location: Path,
    allow_extra: bool,
    jobs: int | None,
    rebuild: bool,
    keep: bool,
    leaks: bool,
    keys: tuple[str, ...],
    threshold: int | None,
    as_json: bool,
) -> None:
    """Check a dist folder (or a manifest) against the manifest.

    Recomputes SHA-256 and SHA-512 of every artifact; reports missing,
    changed, extra and re-moded files, SUMS files that disagree, unsafe paths
    and ELF headers that do not match their target. With --key, first checks
    the signatures, then that every subject of the provenance matches the
    dist; without, that the SBOM and provenance agree with the manifest.
    Exit 0 when all is well, 1 on a finding, 2 when the input cannot be used.
    """
    from relbuild.release import prefetch

    # Small files are hashed in a child while the imports and the manifest take their time.
    pre = prefetch.start(location)
    try:
        from relbuild.attest.keys import load_verifier
        from relbuild.cli.render import render_rebuild, render_verify
        from relbuild.system.progress import metering
        from relbuild.verify.folder import verify

        verifiers = [load_verifier(k) for k in keys]
        with metering("verify") as meter:
            report = verify(
                location,
                allow_extra=allow_extra,
                jobs=jobs,
                leaks=leaks,
                prefetched=pre,
                keys=verifiers,
                threshold=_threshold(app, threshold, len(verifiers)),
                progress=meter,
            )
    finally:
        if pre is not None:
            pre.close()
    if not rebuild:
        finish(report, as_json, render_verify)
        return
    from relbuild.proofs.rebuild import VerifyRebuildReport
    from relbuild.proofs.rebuild import rebuild as rebuild_dist
    from relbuild.system.progress import reporting

    render_verify(report)  # before the rebuild's progress, which takes a while
    with reporting() as reporter:
        again = rebuild_dist(location, app.config(), reporter, keep=keep)
    finish(VerifyRebuildReport(verify=report, rebuild=again), as_json, render_rebuild)


def _threshold(app: App, threshold: int | None, keys: int) -> int | None:
    """--threshold, raised to `[release] approvals` of a config given with
    --config (a dist checked on its own, far from the project, needs none)."""
    if app.config_path is None:
        return threshold
    approvals = app.config().config.release.approvals
    if approvals > 1 and not keys:
        from relbuild.errors import UsageError

        raise UsageError(
            f"[release] approvals = {approvals} in {app.config_path}: give the approvers' "
            "public keys with --key"
        )
    return max(threshold or 1, approvals) if threshold or approvals > 1 else None


def _target_pairs(
    _ctx: click.Context, _param: click.Parameter, items: tuple[str, ...]
) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in items:
        rel, sep, triple = item.partition("=")
        if not sep or not rel or not triple:
            from relbuild.errors import UsageError

            raise UsageError(f"--target {item!r}: expected PATH=TRIPLE")
        pairs[rel] = triple
    return pairs


@click.command("manifest")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--name", help="Project name (default: the folder's name).")
@release_version_option("The release's version.")
@click.option(
    "-t",
    "--target",
    "targets",
    multiple=True,
    metavar="PATH=TRIPLE",
    callback=_target_pairs,
    help="Target of one file, relative to FOLDER (repeatable); default: read from its ELF header.",
)
@click.option("--force", is_flag=True, help="Replace an existing manifest.json.")
@click.option("--json", "as_json", is_flag=True, help="Also print the manifest on stdout.")
def manifest_cmd(
    folder: Path,
    name: str | None,
    version: str | None,
    targets: dict[str, str],
    force: bool,
    as_json: bool,
) -> None:
    """Write manifest.json, SHA256SUMS and SHA512SUMS for artifacts built elsewhere.

    Exit 0 written, 2 a manifest is there already (--force replaces it) or a
    file cannot be read."""
    from relbuild.cli.render import render_inventory
    from relbuild.verify.inventory import manifest

    written = manifest(folder, name=name, version=version, targets=targets, force=force)
    finish(written, as_json, lambda m: render_inventory(folder, m))


@click.command("diff")
@click.argument("old", type=click.Path(path_type=Path, exists=True))
@click.argument("new", type=click.Path(path_type=Path, exists=True))
@jobs_option("Files hashed at once while checking a dist folder", "the number of CPUs")
@json_option("Print the differences")
def diff_cmd(old: Path, new: Path, jobs: int | None, as_json: bool) -> None:
    """Compare two releases (dist folders or manifest files). A dist folder's files
    are first checked against its own manifest; a manifest file is compared alone.
    Exit 0 same, 1 different (or a folder that does not match its manifest),
    2 a folder that is not a dist."""
    from relbuild.cli.render import render_diff
    from relbuild.proofs.diff import diff

    finish(diff(old, new, jobs), as_json, render_diff)


@click.command("test")
@location_argument
@click.option(
    "--unit",
    is_flag=True,
    help="Run the project's unit tests (cargo test, go test; cross Go under qemu-user) "
    "with coverage, instead of the smoke tests of a dist.",
)
@target_option
@cache_option
@jobs_option("Tests run at once", "the number of CPUs")
@json_option("Print the results")
@click.pass_obj
def test_cmd(
    app: App,
    location: Path,
    unit: bool,
    targets: tuple[str, ...],
    cache_dir: Path | None,
    jobs: int | None,
    as_json: bool,
) -> None:
    """Run each artifact's smoke test: natively, under qemu-user, or in QEMU
    (firmware: with its boot cost in guest instructions). With --unit, run the
    unit tests of each Rust workspace and Go module and measure coverage.

    Exit 0 when every configured test passed, 1 when one failed, timed out
    or fell below its coverage minimum or boot budget, 2 when no test is
    configured.
    """
    from relbuild.cli.render import render_test, render_unit

    if unit:
        from relbuild.pipeline.options import BuildOptions
        from relbuild.pipeline.unit import unit_tests

        # No release is made: the source's time is not asked for.
        options = BuildOptions(
            out=Path("dist"), targets=targets, cache=cache_dir, source_date_epoch="0"
        )
        finish(unit_tests(app.config(), options), as_json, render_unit)
        return
    from relbuild.verify.smoke import test

    finish(test(app.config(), location, jobs), as_json, render_test)


@click.command("size")
@location_argument
@click.option(
    "--compare",
    type=click.Path(path_type=Path, exists=True),
    help="A previous dist folder or manifest: show growth per section, crate and symbol.",
)
@click.option("--crates", is_flag=True, help="Show flash per crate.")
@click.option("--symbols", is_flag=True, help="Show the largest symbols.")
@click.option("--top", type=click.IntRange(1, 2000), default=20, show_default=True,
              help="How many symbols (and growths) to show.")  # fmt: skip
@json_option("Print the sizes")
def size_cmd(
    location: Path, compare: Path | None, crates: bool, symbols: bool, top: int, as_json: bool
) -> None:
    """Firmware flash and RAM (with the worst-case stack) per section, crate and
    symbol, against budgets (like `cargo size` and `cargo bloat`).

    Exit 0 within every budget, 1 when a firmware is over its flash or RAM
    budget, 2 when the dist or a size file cannot be read."""
    from functools import partial

    from relbuild.cli.render import render_size
    from relbuild.verify.size import size

    show = partial(render_size, crates=crates, symbols=symbols)
    finish(size(location, compare, top), as_json, show)


@click.command("merge")
@click.argument("parts", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Output folder; replaced as a whole only when the merge succeeds.",
)
@click.option(
    "--allow-partial",
    is_flag=True,
    help="Merge even when no part covers some targets of the config (the result says which).",
)
@jobs_option("Files hashed at once while verifying the parts", "the number of CPUs")
@json_option("Print the report")
def merge_cmd(
    parts: tuple[Path, ...], out: Path, allow_partial: bool, jobs: int | None, as_json: bool
) -> None:
    """Verify the parts built by `relbuild build --target` on several runners and merge
    them into the dist one machine would have built.

    Exit 0 merged; exit 2, naming the part and the field, when a part does not match its manifest,
    the parts disagree (revision, epoch, config, toolchains), two parts claim a target
    or a path, or a target is missing without --allow-partial.
    """
    from relbuild.ci.merge import merge
    from relbuild.cli.render import render_merge
    from relbuild.system.escaping import one_line_errors

    with one_line_errors():  # paths and values from the parts' manifests
        report = merge(parts, out, allow_partial=allow_partial, jobs=jobs)
    finish(report, as_json, render_merge)


@click.command("abi")
@target_option
@cache_option
@click.option("--offline", is_flag=True, help="Build the staticlibs without network access.")
@json_option("Print the report")
@click.pass_obj
def abi_cmd(
    app: App, targets: tuple[str, ...], cache_dir: Path | None, offline: bool, as_json: bool
) -> None:
    """Check the C boundary: each staticlib's header, its exports and the cgo
    declarations of the Go programs that link it, per target.

    Builds the staticlibs (not the Go programs) first. Exit 0 when they
    agree, 1 on a finding, 2 on input that cannot be read. See docs/abi.md.
    """
    from relbuild.abi.report import render_abi
    from relbuild.pipeline.options import BuildOptions
    from relbuild.pipeline.stages import abi_only
    from relbuild.system.progress import reporting

    options = BuildOptions(out=Path("dist"), targets=targets, offline=offline, cache=cache_dir)
    with reporting() as reporter:
        report = abi_only(app.config(), options, reporter)
    finish(report, as_json, render_abi)


COMMANDS = [verify_cmd, merge_cmd, manifest_cmd, diff_cmd, test_cmd, size_cmd, abi_cmd]
