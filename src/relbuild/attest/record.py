"""What a build writes beside its manifest: the SBOM, the provenance and,
with a key, the DSSE envelope and the manifest's signature.

Called once the manifest is in the staging folder, so a dist is swapped
into place with all of them or none. They are not listed in the manifest
(it lists what the build made; these describe it); the provenance names
the manifest and the SBOM as subjects, so its signature covers both.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from relbuild.attest import ENVELOPE_NAME, MANIFEST_SIGNATURE_NAME, PROVENANCE_NAME, SBOM_NAME
from relbuild.attest.contents import (
    BuildInfoError,
    Contents,
    cargo_tree_argv,
    go_contents,
    go_sum_problems,
    read_buildinfo,
    rust_contents,
)
from relbuild.attest.dsse import detached, envelope
from relbuild.attest.keys import Signer
from relbuild.attest.provenance import ConfigRef, RunMetadata, make_statement
from relbuild.attest.sbom import make_sbom
from relbuild.backends import rustc
from relbuild.backends.deps import CrateDep, read_cargo_lock, read_go_sum
from relbuild.backends.toolchains import ResolvedToolchains
from relbuild.config import LoadedConfig
from relbuild.errors import BuildError
from relbuild.release.dist import MANIFEST_NAME, Manifest, hash_file
from relbuild.system import environ
from relbuild.system.fsutil import atomic_write


@dataclass(frozen=True)
class AttestOptions:
    """What `relbuild build` was asked for beyond the defaults."""

    signer: Signer | None = None
    # Add the run-specific invocation id and times to the provenance (it
    # then differs on every build).
    run_metadata: bool = False
    started: float = field(default_factory=time.time)


def collect_contents(
    loaded: LoadedConfig,
    manifest: Manifest,
    folder: Path,
    tools: ResolvedToolchains,
    offline: bool,
) -> dict[str, Contents]:
    """Artifact path -> what it holds, for every artifact a backend made."""
    config = loaded.config
    out: dict[str, Contents] = {}
    rust_cache: dict[tuple[str, str], Contents] = {}
    locks: dict[Path, list[CrateDep]] = {}
    problems: list[str] = []
    for art in manifest.artifacts:
        if art.component is None or art.target is None or art.kind in ("header", "archive"):
            continue
        if art.component in config.rust:
            key = (art.component, art.target)
            if key not in rust_cache:
                comp = config.rust[art.component]
                workspace = loaded.root / comp.path
                if workspace not in locks:
                    locks[workspace] = read_cargo_lock(workspace / "Cargo.lock")
                rust = tools.require("rust")
                # What the Rust backend reads `cargo metadata` with.
                env = {**environ.probe_env(), **rustc.cargo_env(rust)}
                argv = cargo_tree_argv(
                    rust.paths["cargo"],
                    comp.package or art.component,
                    art.target,
                    comp.features,
                    comp.default_features,
                    offline,
                )
                rust_cache[key] = rust_contents(argv, env, workspace, locks[workspace], loaded.root)
            out[art.path] = rust_cache[key]
        elif art.component in config.go and art.kind == "executable":
            comp_go = config.go[art.component]
            try:
                info = read_buildinfo((folder / art.path).read_bytes())
            except BuildInfoError as exc:
                problems.append(f"{art.path}: {exc}")
                continue
            go_sum = read_go_sum(loaded.root / comp_go.path / "go.sum")
            problems += go_sum_problems(info, go_sum, art.path)
            links = [
                a.path
                for a in manifest.artifacts
                if comp_go.uses_cgo
                and a.component in comp_go.links
                and a.target == art.target
                and a.kind == "staticlib"
            ]
            out[art.path] = go_contents(info, links)
    if problems:
        raise BuildError(
            "the Go build information does not agree with go.sum:\n  " + "\n  ".join(problems)
        )
    return out


def config_ref(loaded: LoadedConfig) -> ConfigRef:
    return ConfigRef(loaded.path.name, hashlib.sha256(loaded.path.read_bytes()).hexdigest())


def write_documents(
    folder: Path,
    manifest: Manifest,
    contents: Mapping[str, Contents],
    config: ConfigRef | None,
    run: RunMetadata | None = None,
) -> None:
    """sbom.cdx.json, then provenance.intoto.json (which names the SBOM and
    the manifest as subjects), into ``folder`` beside manifest.json."""
    atomic_write(folder / SBOM_NAME, make_sbom(manifest, contents))
    extra = {}
    for name in (MANIFEST_NAME, SBOM_NAME):
        sha256, sha512, _, _ = hash_file(folder / name)
        extra[name] = (sha256, sha512)
    atomic_write(folder / PROVENANCE_NAME, make_statement(manifest, extra, config, run))


def write_signatures(folder: Path, signer: Signer) -> None:
    """The DSSE envelope of provenance.intoto.json (its payload is that
    file's bytes) and the detached signature of manifest.json."""
    statement = (folder / PROVENANCE_NAME).read_bytes()
    atomic_write(folder / ENVELOPE_NAME, envelope(statement, signer))
    atomic_write(
        folder / MANIFEST_SIGNATURE_NAME, detached((folder / MANIFEST_NAME).read_bytes(), signer)
    )


def attest_build(
    folder: Path,
    manifest: Manifest,
    loaded: LoadedConfig,
    tools: ResolvedToolchains,
    offline: bool,
    options: AttestOptions | None,
) -> None:
    """The build's record stage calls this once manifest.json is written."""
    options = options or AttestOptions()
    contents = collect_contents(loaded, manifest, folder, tools, offline)
    run = (
        RunMetadata(str(uuid.uuid4()), options.started, time.time())
        if options.run_metadata
        else None
    )
    write_documents(folder, manifest, contents, config_ref(loaded), run)
    if options.signer is not None:
        write_signatures(folder, options.signer)
